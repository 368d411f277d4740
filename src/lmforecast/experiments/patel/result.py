"""What Patel et al.'s experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

EXPERIMENT = "patel"


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


@dataclass
class PatelResult:
    """Everything the three settings produced (tables for the terminal and for reports)."""

    proxies: pd.DataFrame  # one row per (model_id, task): every token-level signal + cost
    selection: pd.DataFrame  # setting (a)
    selection_bootstrap: pd.DataFrame  # setting (a), single signals, two-way bootstrap CIs
    data_selection: pd.DataFrame  # setting (b): decision accuracy vs compute
    data_selection_summary: dict[str, Any]
    extrapolation: pd.DataFrame  # setting (c)
    regression: pd.DataFrame  # signal -> accuracy maps, held out (loo and by family)
    cost: pd.DataFrame
    signals: pd.DataFrame = field(default_factory=pd.DataFrame)  # every signal vs accuracy
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every table as a list of records, plus the summary, notes and config."""
        out: dict[str, Any] = {"experiment": EXPERIMENT}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = frame_records(value) if isinstance(value, pd.DataFrame) else value
        return jsonable(out)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatelResult:
        """The inverse of :meth:`to_dict` (tables come back as DataFrames)."""
        if data.get("experiment", EXPERIMENT) != EXPERIMENT:
            raise ValueError(f"not a {EXPERIMENT} result: {data.get('experiment')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name in ("data_selection_summary", "config"):
                kwargs[f.name] = dict(value or {})
            elif f.name == "notes":
                kwargs[f.name] = list(value or [])
            else:
                kwargs[f.name] = pd.DataFrame.from_records(value or [])
        return cls(**kwargs)


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
