"""What the rBridge experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from lmforecast.experiments.results import TableResult

EXPERIMENT = "rbridge"
DICTS = ("ranking_summary", "config")


@dataclass
class RBridgeResult(TableResult):
    """Traces, scores, the bridge, corpus ranking, setting (a) and cost."""

    EXPERIMENT: ClassVar[str] = EXPERIMENT

    traces: pd.DataFrame  # one row per task: frontier, traces made, dropped, retried, cost
    scores: pd.DataFrame  # one row per (base checkpoint, task): the rBridge signals
    bridge: pd.DataFrame  # smallest -> largest size, base and SFT targets, per task
    bridge_points: pd.DataFrame  # every point: proxy score, truth, held-out forecast, interval
    ranking: pd.DataFrame  # decision accuracy vs compute: rBridge, Patel, direct
    ranking_summary: dict[str, Any]
    selection: pd.DataFrame  # setting (a) with rBridge's rows
    cost: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
