"""Labelling: computing H, S and energies of structures with PySCF (molecules and periodic cells).

Inputs (:mod:`hamkit.labelling.jobs`, :mod:`hamkit.labelling.sources`,
:mod:`hamkit.labelling.periodic_sources`), settings (:mod:`hamkit.labelling.options`), the
PySCF calculations and the resumable driver (:mod:`hamkit.labelling.generate`), local or on
Dask. Reads and writes the data model and store of :mod:`hamkit.data`; :mod:`hamkit.data` imports
nothing from here except its re-export modules at the old paths (``hamkit.data.sources`` ...).
"""
