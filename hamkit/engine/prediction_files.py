"""Prediction files (``.npz`` or ``.h5``), written atomically.

Layout, for the k-th structure (0-based, input order)::

    .npz   H_<k>, S_<k>, orbital_energies_<k>, Z_<k>, pos_<k>, plus order, basis, units
    .h5    groups /<k>/ with datasets H, S, orbital_energies, Z, pos; root attributes
           order, basis, units, count; each group's attribute name (the source)

Crystals add ``R_<k>`` (lattice translations, (n_R, 3)) and ``cell_<k>`` (lattice vectors as
rows), and their H and S are the real-space stacks H(R), S(R) of shape (n_R, n, n) (orbital
energies: the bands at Gamma); ``hamkit deeph-predict`` writes them as DeepH folders.
H and S are in the requested orbital order (``canonical``, ``pyscf`` or ``orca``), Hartree;
positions in Angstrom; orbital energies (Hartree, ascending) do not depend on the order.
The file is written to a temporary name in the target folder and renamed over the target,
so a crash never leaves a half-written file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.engine.inference import Prediction
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_from_canonical
from hamkit.safe_output import atomic_file

OUTPUT_ORDERS = ("canonical", "pyscf", "orca")
UNITS = "Hartree, Angstrom"
SUFFIXES = {".npz": "npz", ".h5": "h5", ".hdf5": "h5"}


def prediction_arrays(prediction: Prediction, basis: OrbitalBasis, order: str) -> dict[str, np.ndarray]:
    """The arrays stored for one structure: ``H``, ``S``, ``orbital_energies``, ``Z``, ``pos``;
    crystals add ``R`` (n_R, 3) and ``cell`` (3, 3 rows), with H and S of shape (n_R, n, n)."""
    numbers = prediction.structure.numbers
    arrays = {
        "H": matrix_from_canonical(prediction.hamiltonian, numbers, basis, order),
        "S": matrix_from_canonical(prediction.overlap, numbers, basis, order),
        "orbital_energies": np.asarray(prediction.orbital_energies, dtype=np.float64),
        "Z": np.asarray(numbers, dtype=np.int64),
        "pos": np.asarray(prediction.structure.positions, dtype=np.float64),
    }
    if prediction.translations is not None:
        arrays["R"] = np.asarray(prediction.translations, dtype=np.int64)
        arrays["cell"] = np.asarray(prediction.structure.cell, dtype=np.float64)
    return arrays


def output_format(path: Path) -> str:
    """``"npz"`` or ``"h5"`` from the file name.

    Raises:
        HamkitError: Another suffix.
    """
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise HamkitError(f"{path}: the output must end in .npz or .h5 (got '{path.suffix}')") from None


def write_predictions(path: str | Path, predictions: Sequence[Prediction], basis: OrbitalBasis,
                      order: str = "canonical") -> Path:
    """Write predictions atomically as ``.npz`` or ``.h5`` (see the module docstring).

    Args:
        path: Target file; its suffix picks the format; its folder is created.
        predictions: One per structure, in input order.
        basis: The model's basis.
        order: Orbital order of H and S: one of :data:`OUTPUT_ORDERS`.

    Returns:
        The written path.

    Raises:
        HamkitError: Unknown order or suffix, or the folder cannot be written
            (:class:`~hamkit.safe_output.DiskFullError` when the disk is full; nothing is left).
    """
    path = Path(path)
    if order not in OUTPUT_ORDERS:
        raise HamkitError(f"unknown orbital order {order!r}; choose one of {', '.join(OUTPUT_ORDERS)}")
    kind = output_format(path)
    with atomic_file(path) as temporary:
        if kind == "npz":
            _write_npz(temporary, predictions, basis, order)
        else:
            _write_h5(temporary, predictions, basis, order)
    return path


def _write_npz(target: Path, predictions: Sequence[Prediction], basis: OrbitalBasis, order: str) -> None:
    arrays: dict[str, np.ndarray] = {"order": np.asarray(order), "basis": np.asarray(basis.name),
                                     "units": np.asarray(UNITS)}
    for k, prediction in enumerate(predictions):
        for key, value in prediction_arrays(prediction, basis, order).items():
            arrays[f"{key}_{k}"] = value
    with open(target, "wb") as handle:  # a handle keeps numpy from appending ".npz"
        # allow_pickle=True is numpy's default, named so that no entry of ``arrays`` can fill it
        np.savez(handle, allow_pickle=True, **arrays)


def _write_h5(target: Path, predictions: Sequence[Prediction], basis: OrbitalBasis, order: str) -> None:
    import h5py

    with h5py.File(target, "w") as handle:
        handle.attrs.update({"order": order, "basis": basis.name, "units": UNITS, "count": len(predictions)})
        for k, prediction in enumerate(predictions):
            group = handle.create_group(str(k))
            group.attrs["name"] = prediction.name
            for key, value in prediction_arrays(prediction, basis, order).items():
                group.create_dataset(key, data=value)
