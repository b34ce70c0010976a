"""Benchmarks: training-step and inference time, peak memory and PySCF SCF time per recipe.

``hamkit bench`` (:mod:`hamkit.cli.bench_cmd`) and the scripts under ``benchmarks/`` use:

* :mod:`hamkit.bench.machine` - the machine description;
* :mod:`hamkit.bench.molecules` - molecules of growing size the model's basis covers;
* :mod:`hamkit.bench.timing` - step / inference time and peak memory, in a spawned process;
* :mod:`hamkit.bench.scf` - PySCF SCF time and the inference pipeline of a trained model;
* :mod:`hamkit.bench.suite` - the whole benchmark of ``hamkit bench``;
* :mod:`hamkit.bench.synthetic_store` - stores of random labels at any scale, for the data
  pipeline (``benchmarks/streaming_store.py``, the streaming tests).
"""
