"""Writing outputs without destroying or half-writing anything.

Every file or folder a command produces goes through this module:

* :func:`refuse_existing` stops before any work when the output is already there
  (unless the user passed ``--overwrite``);
* :func:`atomic_file` and :func:`atomic_folder` write under a hidden temporary
  name next to the target and rename it over the target only when writing
  succeeded, so an interrupted or failed command leaves the old output (or
  nothing) and a retry starts clean;
* a full disk (``ENOSPC``/``EDQUOT``) removes the temporary output and becomes a
  :class:`DiskFullError` that says how much space the output needed and how much
  is free.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hamkit.errors import HamkitError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class OutputExistsError(HamkitError):
    """The output of a command exists and ``--overwrite`` was not given."""


class DiskFullError(HamkitError):
    """The disk (or quota) filled up while writing an output; nothing was left behind."""


def refuse_existing(path: str | os.PathLike[str], option: str = "--out", hint: str = "") -> None:
    """Fail before any work when ``path`` exists (an empty folder counts as free).

    Args:
        path: The output file or folder.
        option: The command-line option that named it, for the message.
        hint: More advice for the message (e.g. ``"continue it with --resume"``).

    Raises:
        OutputExistsError: ``path`` is a file, a link or a non-empty folder.
    """
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        return
    advice = f"{hint}; " if hint else ""
    raise OutputExistsError(
        f"{option} {path}: already exists; {advice}choose another name, or pass --overwrite to replace it"
    )


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name in ``path``'s folder (same file system, so renames are atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree if it exists (errors ignored: used for cleanup)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def size_on_disk(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return 0


def is_disk_full(error: BaseException) -> bool:
    """True for 'no space left on device' and 'disk quota exceeded'."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def disk_full_error(target: Path, written: int, expected: int | None = None) -> DiskFullError:
    """The message for a full disk: what was being written, how much it needs, what is free.

    Args:
        target: The output being written.
        written: Bytes written before the disk filled up.
        expected: Bytes the whole output needs, when known.
    """
    folder = target.parent if target.parent.exists() else Path.cwd()
    free = shutil.disk_usage(folder).free
    needed = max(expected or 0, written)
    amount = f"about {_megabytes(needed)} or more" if expected is None else f"about {_megabytes(needed)}"
    return DiskFullError(
        f"{target}: no space left on the device while writing it (it needs {amount}; "
        f"{_megabytes(free)} free in {folder}); the partial file was removed and any earlier version is "
        "unchanged: free some space and run again"
    )


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def replace_into(temporary: Path, target: Path) -> None:
    """Move a finished temporary file or folder onto ``target`` (an existing target is replaced).

    A file replaces atomically. A folder first moves the old one aside, so a failure in
    between leaves the old folder under its name.
    """
    if temporary.is_dir() and (target.exists() or target.is_symlink()):
        aside = temporary_sibling(target)
        os.replace(target, aside)
        try:
            os.replace(temporary, target)
        except BaseException:
            os.replace(aside, target)
            raise
        remove_path(aside)
        return
    os.replace(temporary, target)


@contextmanager
def _publishing(target: Path, temporary: Path, expected_bytes: int | None,
                publish: Callable[[Path, Path], None] = replace_into) -> Iterator[Path]:
    """Yield ``temporary``; publish it onto ``target`` on success, remove it on any failure."""
    try:
        yield temporary
        publish(temporary, target)
    except OSError as error:
        written = size_on_disk(temporary)
        remove_path(temporary)
        if is_disk_full(error):
            raise disk_full_error(target, written, expected_bytes) from None
        raise HamkitError(f"{target}: cannot write it: {error.strerror or error}") from None
    except BaseException:
        remove_path(temporary)
        raise


@contextmanager
def atomic_file(path: str | os.PathLike[str], expected_bytes: int | None = None) -> Iterator[Path]:
    """Write a file under a temporary name; rename it to ``path`` only on success.

    Usage::

        with atomic_file(out) as temporary:
            numpy.savez(temporary, ...)

    Args:
        path: The final file (its folder is created).
        expected_bytes: Size of the output when known (for the disk-full message).

    Yields:
        The temporary path to write to.

    Raises:
        DiskFullError: The disk filled up (the temporary file is removed).
        HamkitError: Any other OS error while writing or renaming.
    """
    target = Path(path)
    _make_folder(target.parent)
    with _publishing(target, temporary_sibling(target), expected_bytes) as temporary:
        yield temporary
        _fsync_file(temporary)


@contextmanager
def atomic_folder(path: str | os.PathLike[str], expected_bytes: int | None = None) -> Iterator[Path]:
    """Fill a folder under a temporary name; move it to ``path`` only on success.

    An existing ``path`` (allowed by the caller, e.g. after ``--overwrite``) is replaced
    as a whole when the new folder is complete.

    Yields:
        The temporary folder (created, empty).

    Raises:
        DiskFullError: The disk filled up (the temporary folder is removed).
        HamkitError: Any other OS error while writing or renaming.
    """
    target = Path(path)
    with _publishing(target, _staging_folder(target), expected_bytes) as folder:
        yield folder


@contextmanager
def atomic_entries(path: str | os.PathLike[str], stale: Callable[[Path], bool] = lambda entry: False,
                   expected_bytes: int | None = None) -> Iterator[Path]:
    """Fill a staging folder; on success move each of its entries into the folder ``path``.

    Unlike :func:`atomic_folder`, an existing ``path`` keeps the entries the command did
    not write (a user's notes next to a plot survive ``--overwrite``): entries written
    now replace their old versions one by one, and old entries for which ``stale`` is
    true (earlier output of the same command that this run did not write again) are
    removed.

    Yields:
        The staging folder (created, empty).

    Raises:
        DiskFullError: The disk filled up (the staging folder is removed).
        HamkitError: Any other OS error while writing or moving.
    """
    target = Path(path)
    staging = _staging_folder(target)

    def merge(finished: Path, destination: Path) -> None:
        destination.mkdir(exist_ok=True)
        new = {entry.name for entry in finished.iterdir()}
        for entry in list(destination.iterdir()):
            if entry.name not in new and stale(entry):
                remove_path(entry)
        for name in sorted(new):
            replace_into(finished / name, destination / name)
        remove_path(finished)

    with _publishing(target, staging, expected_bytes, publish=merge) as folder:
        yield folder


def _staging_folder(target: Path) -> Path:
    """A new, empty hidden folder beside ``target`` (its parent folder is created)."""
    _make_folder(target.parent)
    staging = temporary_sibling(target)
    staging.mkdir()
    return staging


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HamkitError(f"{folder}: cannot create the output folder: {error.strerror or error}") from None


def _fsync_file(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
