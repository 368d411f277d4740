"""What Patel et al.'s experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from lmforecast.experiments.results import TableResult, frame_records, jsonable

__all__ = ["EXPERIMENT", "PatelResult", "finite", "frame_records", "jsonable"]

EXPERIMENT = "patel"


@dataclass
class PatelResult(TableResult):
    """Everything the three settings produced (tables for the terminal and for reports)."""

    EXPERIMENT: ClassVar[str] = EXPERIMENT

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


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
