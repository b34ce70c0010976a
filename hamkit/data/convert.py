"""Write the records of any registered dataset to a new hamkit store (``hamkit data convert``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import hamkit

from hamkit.data.dataset_files import open_dataset
from hamkit.errors import HamkitError
from hamkit.safe_output import atomic_file, refuse_existing


def convert(source: str, format_name: str, out: str | Path, limit: int | None = None,
            command_line: str | None = None, overwrite: bool = False) -> int:
    """Write the records of a registered dataset to a new hamkit store.

    Args:
        source: Input path (the dataset's ``path`` option).
        format_name: Registered dataset name, or ``"hamkit"``.
        out: New store; must not exist unless ``overwrite``. It is written under a temporary
            name and renamed when complete: a failure leaves nothing (and an old ``out``
            untouched).
        limit: Convert only the first ``limit`` records.
        command_line: Recorded in the provenance.
        overwrite: Replace an existing ``out``.

    Returns:
        Number of records written.

    Raises:
        HamkitError: ``out`` exists, unknown format, the dataset exposes no ``basis``.
    """
    from hamkit.data.store import StoreHeader, StoreWriter

    out = Path(out)
    if not overwrite:
        refuse_existing(out)
    dataset = open_dataset(source, format_name, limit)
    basis = dataset.basis
    if basis is None:
        raise HamkitError(f"dataset '{format_name}' does not expose its orbital basis "
                          "(a 'basis' attribute): cannot write a store")
    original = dataset.provenance
    provenance = {**(original or {}),
                  "converted_from": {"format": format_name, "path": str(source)},
                  "hamkit_version": hamkit.__version__, "command_line": command_line,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    count = len(dataset) if limit is None else min(limit, len(dataset))
    written = 0
    with atomic_file(out) as temporary, StoreWriter(temporary, StoreHeader(basis, provenance)) as writer:
        for index in range(count):
            record = dataset[index]
            if not record.key:
                record = dataclasses.replace(record, key=f"{index:06d}")
            writer.write(record)
            written += 1
    return written
