"""Label settings from the options of ``hamkit data generate``, with their defaults filled in.

The filled options are returned too: the command line recorded in a store's provenance
names every value used, defaults included.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hamkit.errors import HamkitError

if TYPE_CHECKING:
    from hamkit.labelling.pbc_labels import PeriodicLabelSettings
    from hamkit.labelling.pyscf_labels import LabelSettings

PERIODIC_ONLY = ("kmesh", "pseudo", "max_distance", "ke_cutoff")
"""Options that apply to periodic structures only."""


@dataclass(frozen=True)
class LabelOptions:
    """The label options as given (None: the default), named like the command-line options.

    Attributes:
        preset: Preset name, when the structures come from one (picks a periodic preset's basis).
        xc: Functional, or ``"hf"``.
        basis: PySCF basis.
        grid_level: PySCF DFT grid level (molecules only).
        conv_tol: SCF energy convergence, Hartree.
        max_cycle: SCF iterations.
        kmesh: Gamma-centred k-mesh text such as ``"6,6,1"`` (periodic only).
        pseudo: PySCF pseudopotential, ``"none"`` for all electrons (periodic only).
        max_distance: Keep lattice translations with an atom pair closer than this, Angstrom
            (periodic only).
        ke_cutoff: Kinetic-energy cut-off of the FFT mesh, Hartree (periodic only).
    """

    preset: str | None = None
    xc: str | None = None
    basis: str | None = None
    grid_level: int | None = None
    conv_tol: float | None = None
    max_cycle: int = 100
    kmesh: str | None = None
    pseudo: str | None = None
    max_distance: float | None = None
    ke_cutoff: float | None = None


def parse_kmesh(text: str) -> tuple[int, int, int]:
    """``"6,6,1"`` (or ``"6x6x1"``) to ``(6, 6, 1)``.

    Raises:
        HamkitError: Not three positive integers.
    """
    fields = text.replace("x", ",").split(",")
    try:
        mesh = tuple(int(field) for field in fields)
    except ValueError:
        mesh = ()
    if len(mesh) != 3 or min(mesh) < 1:
        raise HamkitError(f"--kmesh {text!r}: expected three positive integers such as 6,6,1")
    return mesh


def molecular_settings(options: LabelOptions) -> tuple[LabelSettings, LabelOptions]:
    """Molecular label settings.

    Returns:
        The settings, and ``options`` with the defaults filled in.

    Raises:
        HamkitError: A periodic-only option was given.
    """
    from hamkit.labelling.pyscf_labels import LabelSettings

    given = [f"--{name.replace('_', '-')}" for name in PERIODIC_ONLY if getattr(options, name) is not None]
    if given:
        raise HamkitError(f"{', '.join(given)} only apply to periodic structures (presets graphene, hbn, "
                          "mos2, or extxyz frames with a Lattice and pbc)")
    xc = options.xc or "b3lyp"
    basis = options.basis or "def2-svp"
    grid_level = 3 if options.grid_level is None else options.grid_level
    conv_tol = 1e-9 if options.conv_tol is None else options.conv_tol
    filled = dataclasses.replace(options, xc=xc, basis=basis, grid_level=grid_level, conv_tol=conv_tol)
    settings = LabelSettings(xc=xc, basis=basis, grid_level=grid_level, conv_tol=conv_tol,
                             max_cycle=filled.max_cycle)
    return settings, filled


def periodic_settings(options: LabelOptions) -> tuple[PeriodicLabelSettings, LabelOptions]:
    """Periodic label settings (a periodic preset's own basis by default).

    Returns:
        The settings, and ``options`` with the defaults filled in (``kmesh`` as ``"n1,n2,n3"``).

    Raises:
        HamkitError: ``grid_level`` was given, a bad k-mesh, or ``max_distance <= 0``.
    """
    from hamkit.labelling.pbc_labels import PeriodicLabelSettings
    from hamkit.labelling.periodic_sources import MATERIALS

    if options.grid_level is not None:
        raise HamkitError("--grid-level applies to molecules only (periodic labels use PySCF's "
                          "FFT mesh)")
    defaults = PeriodicLabelSettings()
    kmesh = parse_kmesh(options.kmesh) if options.kmesh is not None else defaults.kmesh
    preset_basis = MATERIALS[options.preset].basis if options.preset in MATERIALS else defaults.basis
    pseudo = options.pseudo or defaults.pseudo or "none"
    max_distance = defaults.max_distance if options.max_distance is None else options.max_distance
    xc = options.xc or defaults.xc
    basis = options.basis or preset_basis
    conv_tol = defaults.conv_tol if options.conv_tol is None else options.conv_tol
    filled = dataclasses.replace(
        options, xc=xc, basis=basis, pseudo=pseudo, conv_tol=conv_tol,
        kmesh=",".join(str(n) for n in kmesh), max_distance=max_distance)
    if max_distance <= 0:
        raise HamkitError(f"--max-distance must be > 0, got {max_distance}")
    settings = PeriodicLabelSettings(xc=xc, basis=basis,
                                     pseudo=None if pseudo.lower() == "none" else pseudo,
                                     kmesh=kmesh, conv_tol=conv_tol, max_cycle=filled.max_cycle,
                                     max_distance=max_distance, ke_cutoff=filled.ke_cutoff)
    return settings, filled
