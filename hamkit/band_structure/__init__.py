"""Band structures from a trained model's predicted H(R) (``hamkit bands``).

:mod:`~hamkit.band_structure.targets` picks the structure, :mod:`~hamkit.band_structure.compute`
solves the bands, finds the Fermi level and the band errors, and
:mod:`~hamkit.band_structure.report` turns the result into the JSON of ``bands.json``. The
physics (k-paths, generalized eigenproblems, filling) is :mod:`hamkit.physics.bands`.
"""
