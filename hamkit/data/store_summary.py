"""What ``hamkit data info`` reports about a store or another dataset file."""

from __future__ import annotations

from typing import Any

from hamkit.data.dataset_files import open_dataset, resolve_store_path


def store_info(path: str) -> dict[str, Any]:
    """What ``hamkit data info --json`` prints.

    Args:
        path: Store file or ``embedded:<name>``.

    Returns:
        ``{"path", "format", "version", "structures", "incomplete", "elements",
        "element_symbols", "orbitals": {"min", "max"}, "periodic", "basis", "convention",
        "units", "provenance", "size_bytes"}``; ``periodic`` is ``{"structures": number of
        periodic records, "pbc": [[a1, a2, a3], ...] distinct flags, "translations":
        {"min", "max"}}``.
    """
    from pyscf.data.elements import ELEMENTS

    from hamkit.data.store import StoreReader

    file = resolve_store_path(path)
    with StoreReader(file) as store:
        elements = store.elements()
        header = store.header
        sizes = [header.basis.total_orbitals(store.numbers(key)) for key in store.keys]
        periodicity = [p for p in (store.periodicity(key) for key in store.keys) if p is not None]
        return {
            "path": str(file),
            "format": header.format,
            "version": header.version,
            "structures": len(store),
            "incomplete": len(store.incomplete_keys),
            "elements": elements,
            "element_symbols": [ELEMENTS[z] for z in elements],
            "orbitals": {"min": min(sizes, default=0), "max": max(sizes, default=0)},
            "periodic": periodic_summary(periodicity),
            "basis": header.basis.to_dict(),
            "convention": header.convention,
            "units": header.units,
            "provenance": header.provenance,
            "size_bytes": file.stat().st_size,
        }


def periodic_summary(periodicity: list[tuple[tuple[bool, bool, bool], int]]) -> dict[str, Any]:
    """The ``periodic`` entry of :func:`store_info` from ``(pbc, n_translations)`` per record."""
    counts = [count for _, count in periodicity]
    return {"structures": len(periodicity),
            "pbc": sorted({tuple(pbc) for pbc, _ in periodicity}, reverse=True),
            "translations": {"min": min(counts, default=0), "max": max(counts, default=0)}}


def dataset_info(path: str, format_name: str | None = None) -> dict[str, Any]:
    """What ``hamkit data info [--from FORMAT] --json`` prints.

    Args:
        path: Store file, ``embedded:<name>``, or a file/folder of dataset ``format_name``.
        format_name: Registered dataset name; None or ``"hamkit"`` reads a hamkit store.

    Returns:
        :func:`store_info`'s dictionary; other datasets return it from their ``describe()``
        (``version`` may be None; ``layout`` and ``notes`` may be added).

    Raises:
        HamkitError: Unknown dataset, or one without a ``describe()`` method.
    """
    if format_name is None or format_name == "hamkit":
        return store_info(path)
    dataset = open_dataset(path, format_name, None)
    return dataset.describe()
