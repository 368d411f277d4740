"""What every experiment's result shares: JSON round trip of its tables, dicts and notes.

A result is a dataclass whose fields are tables (``pd.DataFrame``), dicts (summaries, the
config) or lists (notes); :class:`TableResult` turns it into plain JSON (tables as lists of
records) and back, checking the ``experiment`` name, so reports read any result alike.

Every JSON result carries ``format`` (:data:`RESULT_FORMAT`): a report refuses a file written by
an older version, whose tables it would misread, with one line instead of a wrong picture.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

R = TypeVar("R", bound="TableResult")

# The JSON layout version of every result. 1: before the field existed; 2: the field, and the
# tables the HTML report draws (Patel's truth, maps, trajectories and run forecasts).
RESULT_FORMAT = 2


def jsonable(value: Any) -> Any:
    """Plain Python values for JSON: numpy scalars and arrays become floats, ints and lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(r) for r in frame.to_dict("records")]


class TableResult:
    """Mixin for result dataclasses: ``to_dict`` / ``from_dict`` by field type."""

    EXPERIMENT: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every table as a list of records, every other field as it is."""
        out: dict[str, Any] = {"experiment": self.EXPERIMENT, "format": RESULT_FORMAT}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = frame_records(value) if isinstance(value, pd.DataFrame) else value
        return jsonable(out)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """The inverse of :meth:`to_dict` (tables come back as DataFrames)."""
        if data.get("experiment", cls.EXPERIMENT) != cls.EXPERIMENT:
            raise ValueError(f"not a {cls.EXPERIMENT} result: {data.get('experiment')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            value = data.get(f.name)
            kind = str(f.type)
            if kind.startswith("dict"):
                kwargs[f.name] = dict(value or {})
            elif kind.startswith("list"):
                kwargs[f.name] = list(value or [])
            else:
                kwargs[f.name] = pd.DataFrame.from_records(value or [])
        return cls(**kwargs)
