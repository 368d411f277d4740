"""Errors a user can act on.

Anything raised as :class:`UserError` is reported by the CLI as one line (no traceback) with a
non-zero exit code. Every other exception is a bug in lmforecast and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a missing file, an unknown name, a malformed record.

    The message must name the file, line or field at fault and say what was expected.
    """


class ModelLoadError(UserError):
    """A model could not be loaded (missing or corrupted file, unknown alias)."""


class TaskError(UserError):
    """A task name is unknown or a task file is malformed."""


class RequestError(UserError):
    """A request cannot be scored as asked (empty continuation, longer than the context window)."""
