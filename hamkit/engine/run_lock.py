"""One process at a time per run directory.

``hamkit train`` (new or ``--resume``) holds an exclusive ``fcntl`` lock on
``RUN_DIR/.lock`` for as long as it runs, and writes its pid and host into that file.
A second process on the same run directory is refused with the holder's pid. The
operating system releases the lock when its process ends, however it ends (``kill -9``
included), so a lock file left by a dead process is simply taken over.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from hamkit.engine.run_layout import LOCK_FILE, RunLayout
from hamkit.errors import HamkitError

__all__ = ["LOCK_FILE", "RunInUseError", "RunLock"]


class RunInUseError(HamkitError):
    """Another live process is training in this run directory."""


class RunLock:
    """Exclusive lock on a run directory (a context manager).

    Args:
        run_dir: The run directory (created if missing).

    Raises:
        RunInUseError: On entry, when another process holds the lock (names its pid).
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = RunLayout(Path(run_dir)).lock
        self._handle: int | None = None

    def acquire(self) -> None:
        """Take the lock, or fail naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            os.close(handle)
            raise RunInUseError(
                f"{self.path.parent}: the run is in use by {holder}; wait for it to finish or stop it "
                "(a lock of a process that has ended is taken over automatically)"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self._handle = handle

    def release(self) -> None:
        """Give the lock back (the file stays; its content no longer matters)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def _read_holder(handle: int) -> str:
    """``"process 123 on host (since ...)"`` from the lock file, or a vaguer text."""
    try:
        info = json.loads(os.pread(handle, 4096, 0).decode() or "{}")
        return f"process {info['pid']} on {info['host']} (hamkit train, since {info['started']})"
    except (ValueError, KeyError, TypeError, OSError):
        return "another process"
