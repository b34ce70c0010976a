"""Open a dataset file by format name, and resolve ``embedded:<name>`` store paths.

Used by ``hamkit data info`` and ``hamkit data convert``; the datasets come from the plugin
registry, except a plain hamkit store, which is read directly when the ``hamkit`` dataset
plugin is not loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hamkit.errors import HamkitError


def resolve_store_path(path: str) -> Path:
    """A file path; ``embedded:<name>`` is resolved by the ``hamkit`` dataset plugin that ships it.

    Raises:
        HamkitError: ``embedded:`` path while the ``hamkit`` dataset plugin is not loaded.
    """
    if not path.startswith("embedded:"):
        return Path(path)
    from hamkit.plugin_host import get_host

    if "hamkit" not in get_host().registry.names("dataset"):
        raise HamkitError(f"{path}: embedded data ships with the 'datasets' plugin, which is not "
                          "loaded (check HAMKIT_PLUGINS / HAMKIT_DISABLE_PLUGINS)")
    return Path(open_dataset(path, "hamkit", None).path)


def open_dataset(source: str, format_name: str, limit: int | None) -> Any:
    """Build the dataset ``format_name`` on ``source`` through the plugin registry.

    Args:
        source: The file or folder (the dataset's ``path`` option).
        format_name: A registered dataset name, or ``"hamkit"``.
        limit: Use only the first ``limit`` records, when the dataset has that option.

    Raises:
        HamkitError: Unknown format or invalid options.
    """
    from hamkit.engine.prepare import open_dataset_file
    from hamkit.plugin_host import get_host

    if format_name == "hamkit" and "hamkit" not in get_host().registry.names("dataset"):
        from hamkit.data.store import StoreReader

        return StoreReader(resolve_store_path(source))
    return open_dataset_file(source, format_name, limit)
