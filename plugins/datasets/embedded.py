"""Small datasets shipped inside this package, addressed as ``embedded:<name>``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hamkit.errors import HamkitError
from hamkit.suggest import did_you_mean

PREFIX = "embedded:"
_FOLDER = "embedded"


def embedded_folder() -> Path:
    """The folder holding the shipped ``<name>.h5`` files."""
    return Path(str(resources.files("hamkit_plugins.datasets") / _FOLDER))


def embedded_names() -> list[str]:
    """Names of the shipped datasets (e.g. ``["qm9_mini", "water"]``)."""
    folder = embedded_folder()
    return sorted(path.stem for path in folder.glob("*.h5")) if folder.is_dir() else []


def resolve_path(path: str) -> Path:
    """Turn a dataset ``path`` option into a file: ``embedded:<name>`` or a plain path.

    Args:
        path: ``"embedded:water"``, ``"embedded:qm9_mini"`` or a file path.

    Returns:
        The file path (not checked for existence when it is a plain path).

    Raises:
        HamkitError: Unknown embedded name, with the closest known one.
    """
    if not path.startswith(PREFIX):
        return Path(path).expanduser()
    name = path[len(PREFIX):]
    if name not in embedded_names():
        raise HamkitError(f"unknown embedded dataset {name!r}.{did_you_mean(name, embedded_names())}")
    return embedded_folder() / f"{name}.h5"
