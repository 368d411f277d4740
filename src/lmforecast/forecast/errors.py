"""Why a forecast cannot be computed.

:class:`InsufficientData` means *these data cannot support this computation* (too few models,
points or groups; a truth that does not vary): an experiment reports it as "this setting cannot
run on this population" and goes on. Every other ``ValueError`` is a wrong argument, that is a
bug in the caller, and must surface.
"""

from __future__ import annotations

from lmforecast.core.errors import UserError


class InsufficientData(ValueError):
    """The data are too few or too uniform for the computation asked."""


class UnknownNameError(UserError, ValueError):
    """An unknown regressor, extrapolation method or scorer name (a ValueError, too)."""


def rewrap(err: ValueError, message: str) -> ValueError:
    """``err``'s class with a message that adds context (insufficiency stays insufficiency)."""
    return InsufficientData(message) if isinstance(err, InsufficientData) else ValueError(message)
