"""What the RuDE experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from lmforecast.experiments.patel.result import frame_records, jsonable

EXPERIMENT = "rude"


@dataclass
class RudeResult:
    """Pairs made, scores, and the validation against post-trained accuracy."""

    pairs: pd.DataFrame  # per domain and difficulty: made, attempted, reasons not made
    scores: pd.DataFrame  # per (model, domain, group): accuracy with CI, preference, margin
    signals: pd.DataFrame  # per final base model: RuDE and every baseline (higher is better)
    correlations: pd.DataFrame  # signal x post-training stage: Pearson, Spearman with CIs
    breakdown: pd.DataFrame  # per 4C category and difficulty
    upsets: pd.DataFrame  # smaller model, higher RuDE, better after post-training
    format_recipes: pd.DataFrame  # alt-format / mixed-format: RuDE vs base accuracy
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"experiment": EXPERIMENT}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = frame_records(value) if isinstance(value, pd.DataFrame) else value
        return jsonable(out)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RudeResult:
        if data.get("experiment", EXPERIMENT) != EXPERIMENT:
            raise ValueError(f"not a {EXPERIMENT} result: {data.get('experiment')!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name == "config":
                kwargs[f.name] = dict(value or {})
            elif f.name == "notes":
                kwargs[f.name] = list(value or [])
            else:
                kwargs[f.name] = pd.DataFrame.from_records(value or [])
        return cls(**kwargs)
