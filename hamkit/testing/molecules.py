"""Small asymmetric test molecules and a def2-SVP-shaped basis that needs no PySCF.

Positions in Angstrom. The geometries are distorted on purpose: no rotation or atom
permutation maps them onto themselves, so equivariance tests cannot pass by symmetry.
"""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure

SVP_LIKE_SHELLS: dict[int, list[int]] = {
    1: [0, 0, 1],
    6: [0, 0, 0, 1, 1, 2],
    7: [0, 0, 0, 1, 1, 2],
    8: [0, 0, 0, 1, 1, 2],
}
"""def2-SVP shell degrees (H: 2s1p; C, N, O: 3s2p1d)."""


def svp_like_basis() -> OrbitalBasis:
    """def2-SVP-shaped basis for H, C, N, O (same shells as PySCF's def2-svp)."""
    return OrbitalBasis.from_shells(SVP_LIKE_SHELLS, name="def2-svp")


def water() -> Structure:
    """Distorted water (O, H, H)."""
    return Structure(
        numbers=np.array([8, 1, 1]),
        positions=np.array([[0.0, 0.0, 0.0], [0.12, 0.76, 0.55], [-0.05, -0.80, 0.47]]),
    )


def hydroxymethyl() -> Structure:
    """Distorted 5-atom C, O, H, H, H molecule (CH2OH geometry)."""
    return Structure(
        numbers=np.array([6, 8, 1, 1, 1]),
        positions=np.array(
            [
                [0.02, -0.03, 0.01],
                [0.05, 0.04, 1.38],
                [0.97, 0.05, -0.49],
                [-0.91, -0.13, -0.55],
                [0.88, 0.31, 1.71],
            ]
        ),
    )
