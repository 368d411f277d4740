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
    # What the HTML report draws (format 2): each base checkpoint's accuracy per task and over
    # tasks; the fitted signal -> accuracy maps with intervals; each main-family run's
    # trajectory with its fitted window; and each run's final-accuracy forecast per method.
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    maps: pd.DataFrame = field(default_factory=pd.DataFrame)
    trajectories: pd.DataFrame = field(default_factory=pd.DataFrame)
    run_forecasts: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def dtype(self) -> str:
        """The dtype the population was scored in (results written before the option: float32)."""
        return str(self.config.get("dtype", "float32"))


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
