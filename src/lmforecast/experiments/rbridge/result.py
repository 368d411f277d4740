"""What the rBridge experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from lmforecast.experiments.patel.result import frame_records, jsonable

EXPERIMENT = "rbridge"
DICTS = ("ranking_summary", "config")


@dataclass
class RBridgeResult:
    """Traces, scores, the bridge, corpus ranking, setting (a) and cost."""

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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"experiment": EXPERIMENT}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = frame_records(value) if isinstance(value, pd.DataFrame) else value
        return jsonable(out)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RBridgeResult:
        if data.get("experiment", EXPERIMENT) != EXPERIMENT:
            raise ValueError(f"not a {EXPERIMENT} result: {data.get('experiment')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name in DICTS:
                kwargs[f.name] = dict(value or {})
            elif f.name == "notes":
                kwargs[f.name] = list(value or [])
            else:
                kwargs[f.name] = pd.DataFrame.from_records(value or [])
        return cls(**kwargs)
