"""Merging hamkit stores made apart (e.g. on several clusters) into one.

The stores must hold labels made the same way: the same label settings in their
provenance (:func:`hamkit.data.store.header.label_differences`, the comparison a resumed
``hamkit data generate`` makes), the same orbital convention, units and basis (shells of
shared elements equal; elements may differ). A record key, or an input fingerprint
(``source_id``: the geometry, or the SMILES and seed), found in two stores is refused,
and so is a store with damaged or incomplete records. Every record is read through the
reader's checks and written through the store writer into a temporary file that becomes
the output only when complete (:mod:`hamkit.safe_output`): a failure leaves nothing.

Example::

    from hamkit.data.store.merge import merge_stores
    merge_stores(["part1.h5", "part2.h5"], "all.h5")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import hamkit

from hamkit.data.store.header import RUN_FIELDS, StoreHeader, label_differences, merge_basis
from hamkit.data.store.reader import StoreReader
from hamkit.data.store.writer import StoreWriter
from hamkit.errors import HamkitError
from hamkit.safe_output import atomic_file, refuse_existing


@dataclass
class MergeReport:
    """What :func:`merge_stores` wrote.

    Attributes:
        out: The merged store.
        counts: Records taken from each input, in input order.
    """

    out: Path
    counts: list[int]

    @property
    def total(self) -> int:
        """Records in the merged store."""
        return sum(self.counts)


def merge_stores(inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                 overwrite: bool = False, command_line: str | None = None) -> MergeReport:
    """Write the records of ``inputs``, in order, to the new store ``out``.

    Args:
        inputs: Two or more stores.
        out: The merged store; refused when it exists unless ``overwrite``, and never one of
            the inputs. It appears only when complete.
        overwrite: Replace an existing ``out``.
        command_line: Recorded in the provenance.

    Returns:
        The report (records per input).

    Raises:
        HamkitError: Fewer than two inputs, an input given twice or as ``out``, ``out``
            exists, an input that is not a readable store or has damaged or incomplete
            records, different label settings, convention, units or basis, or a record key
            or input fingerprint in two inputs (names both files and the key).
    """
    paths, out = [Path(path) for path in inputs], Path(out)
    _check_paths(paths, out)
    if not overwrite:
        refuse_existing(out)
    readers = [StoreReader(path) for path in paths]
    try:
        for reader in readers:
            _check_complete(reader)
        header = _merged_header(readers, command_line)
        _refuse_duplicates(readers)
        with atomic_file(out) as temporary, StoreWriter(temporary, header) as writer:
            for reader in readers:
                for key in reader.keys:
                    writer.write(reader.get(key), source_id=reader.source_id(key))
    finally:
        for reader in readers:
            reader.close()
    return MergeReport(out, [len(reader) for reader in readers])


def _check_paths(paths: list[Path], out: Path) -> None:
    """At least two inputs, none twice, none the output.

    Raises:
        HamkitError: One of these does not hold.
    """
    if len(paths) < 2:
        raise HamkitError("merge needs at least two stores")
    seen: dict[Path, Path] = {}
    for path in paths:
        if not path.is_file():
            raise HamkitError(f"{path}: no such store file")
        real = path.resolve()
        if real in seen:
            also = f" (also as {seen[real]})" if seen[real] != path else ""
            raise HamkitError(f"{path} is given twice{also}: each store is merged once")
        seen[real] = path
    if out.resolve() in seen:
        raise HamkitError(f"--out {out} is one of the inputs; write the merged store to a new file")


def _check_complete(reader: StoreReader) -> None:
    """Refuse a store with damaged records or records an interrupted run left.

    Raises:
        HamkitError: Names the file and the first such key.
    """
    if reader.damaged_keys:
        key, problem = next(iter(reader.damaged_keys.items()))
        raise HamkitError(f"{reader.path}: record {key!r} is damaged ({problem}; "
                          f"{len(reader.damaged_keys)} damaged in all): regenerate it before merging")
    if reader.incomplete_keys:
        raise HamkitError(f"{reader.path}: record {reader.incomplete_keys[0]!r} was left incomplete by an "
                          f"interrupted run ({len(reader.incomplete_keys)} in all): finish that run (run "
                          "the same 'hamkit data generate' again) before merging")


def _merged_header(readers: list[StoreReader], command_line: str | None) -> StoreHeader:
    """The header of the merged store: the first input's label settings, the union basis.

    Raises:
        HamkitError: An input whose label settings, convention, units or basis differ from
            the first's.
    """
    first = readers[0]
    basis = first.header.basis
    for reader in readers[1:]:
        _check_same_labels(first, reader)
        basis = merge_basis(basis, reader.header.basis, str(reader.path))
    labels = {name: value for name, value in first.header.provenance.items() if name not in RUN_FIELDS}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    merged_from = [{"file": reader.path.name, "records": len(reader), "provenance": reader.header.provenance}
                   for reader in readers]
    provenance = {**labels, "hamkit_version": hamkit.__version__, "command_line": command_line,
                  "created": now, "merged_from": merged_from}
    return StoreHeader(basis, provenance)


def _check_same_labels(first: StoreReader, other: StoreReader) -> None:
    """Refuse ``other`` when its labels were made differently from ``first``'s.

    Raises:
        HamkitError: Names both files and every differing setting.
    """
    differences = [f"{name}: {first.path.name} has {a!r}, {other.path.name} has {b!r}"
                   for name, a, b in label_differences(first.header.provenance, other.header.provenance)]
    mine, theirs = first.header, other.header
    if mine.basis.name != theirs.basis.name:
        differences.append(f"basis name: {mine.basis.name!r} vs {theirs.basis.name!r}")
    if mine.convention != theirs.convention:
        differences.append(f"convention: {mine.convention!r} vs {theirs.convention!r}")
    units = [name for name in set(mine.units) & set(theirs.units) if mine.units[name] != theirs.units[name]]
    differences += [f"units of {name}: {mine.units[name]!r} vs {theirs.units[name]!r}" for name in sorted(units)]
    if differences:
        raise HamkitError(f"cannot merge {first.path} and {other.path}: their labels were made "
                          f"differently ({'; '.join(differences)})")


def _refuse_duplicates(readers: list[StoreReader]) -> None:
    """Refuse a record key, or an input fingerprint, held by two inputs.

    Raises:
        HamkitError: Names both files and the key(s).
    """
    keys: dict[str, Path] = {}
    sources: dict[str, tuple[Path, str]] = {}
    for reader in readers:
        found: dict[str, str] = {}
        for key in reader.keys:
            if key in keys:
                raise HamkitError(f"record {key!r} is in both {keys[key]} and {reader.path}; a merged "
                                  "store holds each record once (remove it from one of them)")
            source_id = reader.source_id(key)
            if source_id is not None and source_id in sources:
                path, other = sources[source_id]
                raise HamkitError(f"{path} record {other!r} and {reader.path} record {key!r} were made "
                                  f"from the same input ({source_id}); a merged store holds each "
                                  "structure once")
            if source_id is not None:
                found[source_id] = key
        keys.update(dict.fromkeys(reader.keys, reader.path))
        sources.update({source_id: (reader.path, key) for source_id, key in found.items()})

