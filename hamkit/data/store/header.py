"""The JSON header of a hamkit store: format, basis, units, convention, provenance.

The header is one JSON string in the root attribute ``hamkit_header`` of the HDF5 file::

    {"format": "hamkit-hamiltonians", "version": 2,
     "basis": {"name": "def2-svp", "shells": {"1": [0, 0, 1], ...}},
     "convention": "canonical",
     "units": {"positions": "angstrom", "hamiltonian": "hartree", ...},
     "provenance": {"code": "pyscf", "code_version": "2.14.0", "xc": "b3lyp", ...}}

Versions: 1 holds molecules only; 2 adds periodic records (cell, pbc, lattice
translations and real-space matrices H(R), see :mod:`hamkit.data.store.layout`). This
hamkit reads both and writes version 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hamkit.data.basis import OrbitalBasis
from hamkit.errors import HamkitError

FORMAT_NAME = "hamkit-hamiltonians"
FORMAT_VERSION = 2
PERIODIC_VERSION = 2
"""First format version that can hold periodic records."""
HEADER_ATTRIBUTE = "hamkit_header"
CONVENTION = "canonical"
UNITS: dict[str, str] = {
    "positions": "angstrom",
    "hamiltonian": "hartree",
    "overlap": "dimensionless",
    "energy": "hartree",
    "cell": "angstrom",
    "fermi_level": "hartree",
}
"""Units of every stored quantity (a version-1 store lists the first four)."""

LABEL_FIELDS = ("code", "code_version", "method", "xc", "basis", "grid_level", "conv_tol", "max_cycle")
"""Provenance fields that say how the labels were made: a run resuming a store, and stores
that are merged, must agree on them (and on every other field of the label settings' own
provenance, e.g. ``kmesh`` and ``pseudo``)."""

RUN_FIELDS = frozenset({"hamkit_version", "command_line", "created", "source", "resumed",
                        "converted_from", "merged_from"})
"""Provenance fields that describe one run rather than the labels (they may differ between
stores that are merged)."""


class StoreFormatError(HamkitError):
    """A file that is not a (readable) hamkit store, or a store missing required fields."""


@dataclass(frozen=True)
class StoreHeader:
    """Everything a store says about all of its structures.

    Attributes:
        basis: Shells per element of the orbital basis H and S are expressed in.
        provenance: How the labels were made (code, code_version, xc, basis, grid_level,
            hamkit_version, command_line, ...); free-form but JSON-safe.
        convention: Orbital order of H and S; always ``"canonical"``.
        units: Unit of each stored quantity; always :data:`UNITS`.
        format: :data:`FORMAT_NAME`.
        version: :data:`FORMAT_VERSION`.
    """

    basis: OrbitalBasis
    provenance: dict[str, Any] = field(default_factory=dict)
    convention: str = CONVENTION
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (the layout in the module docstring)."""
        return {
            "format": self.format,
            "version": self.version,
            "basis": self.basis.to_dict(),
            "convention": self.convention,
            "units": dict(self.units),
            "provenance": dict(self.provenance),
        }

    def to_json(self) -> str:
        """The attribute text."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<header>") -> StoreHeader:
        """Parse and check a header dictionary.

        Args:
            data: The decoded JSON.
            source: File name for messages.

        Raises:
            StoreFormatError: Wrong format name, newer version, unknown convention or
                missing fields; the message names ``source``.
        """
        if not isinstance(data, Mapping) or data.get("format") != FORMAT_NAME:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise StoreFormatError(
                f"{source}: not a hamkit store (header format is {found!r}, expected {FORMAT_NAME!r})"
            )
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise StoreFormatError(f"{source}: hamkit store header has no valid 'version'")
        if version > FORMAT_VERSION:
            raise StoreFormatError(
                f"{source}: hamkit store version {version} is newer than this hamkit reads "
                f"(<= {FORMAT_VERSION}); upgrade hamkit"
            )
        missing = [name for name in ("basis", "convention", "units") if name not in data]
        if missing:
            raise StoreFormatError(f"{source}: hamkit store header lacks {', '.join(missing)}")
        if data["convention"] != CONVENTION:
            raise StoreFormatError(
                f"{source}: orbital convention {data['convention']!r} is not supported "
                f"(stores hold {CONVENTION!r} matrices)"
            )
        try:
            basis = OrbitalBasis.from_dict(data["basis"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StoreFormatError(f"{source}: invalid basis in hamkit store header: {error}") from None
        return cls(
            basis=basis,
            provenance=dict(data.get("provenance") or {}),
            convention=data["convention"],
            units=dict(data["units"]),
            format=data["format"],
            version=version,
        )

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "<header>") -> StoreHeader:
        """Parse the attribute text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as error:
            raise StoreFormatError(f"{source}: hamkit store header is not valid JSON: {error}") from None
        return cls.from_dict(data, source)


def merge_basis(stored: OrbitalBasis, extra: OrbitalBasis, source: str = "<store>") -> OrbitalBasis:
    """Union of two bases that agree on every shared element.

    Args:
        stored: The basis a store already declares.
        extra: Shells of (possibly new) elements to add.
        source: File name for messages.

    Returns:
        ``stored`` when nothing is new, else the union (name of ``stored``).

    Raises:
        HamkitError: An element has different shells in the two bases.
    """
    merged = dict(stored.shells_by_element)
    for atomic_number, shells in extra.element_shells:
        if atomic_number in merged and merged[atomic_number] != shells:
            raise HamkitError(
                f"{source}: element Z={atomic_number} has shells {merged[atomic_number]} in the "
                f"store but {shells} in basis {extra.name!r}"
            )
        merged[atomic_number] = shells
    if len(merged) == len(stored.element_shells):
        return stored
    return OrbitalBasis.from_shells(merged, stored.name)


def label_differences(first: Mapping[str, Any], second: Mapping[str, Any],
                      fields: Sequence[str] | None = None) -> list[tuple[str, Any, Any]]:
    """The label settings on which two provenances disagree.

    Values are compared as JSON (a tuple equals a list).

    Args:
        first: One provenance (e.g. a store's).
        second: The other (e.g. the settings of a run that resumes the store).
        fields: Names to compare; default :data:`LABEL_FIELDS`, then every other field of
            either provenance that is not one of :data:`RUN_FIELDS`, sorted.

    Returns:
        ``(name, first value, second value)`` per differing field (None where absent).
    """
    first, second = json.loads(json.dumps(first)), json.loads(json.dumps(second))
    if fields is None:
        others = (set(first) | set(second)) - set(LABEL_FIELDS) - RUN_FIELDS
        fields = [*LABEL_FIELDS, *sorted(others)]
    return [(name, first.get(name), second.get(name)) for name in fields
            if first.get(name) != second.get(name)]
