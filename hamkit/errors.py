"""Errors that reach users as messages, not tracebacks.

Every exception derived from :class:`HamkitError` is a user error (bad input,
bad recipe, missing file, misconfigured plugin): the command line prints its
message and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HamkitError(Exception):
    """Base class of all user-facing hamkit errors; ``str(error)`` is the whole message."""

    exit_code: int = 2
