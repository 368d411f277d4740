"""What the RuDE experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from lmforecast.experiments.results import TableResult

EXPERIMENT = "rude"


@dataclass
class RudeResult(TableResult):
    """Pairs made, scores, and the validation against post-trained accuracy."""

    EXPERIMENT: ClassVar[str] = EXPERIMENT

    pairs: pd.DataFrame  # per domain and difficulty: made, attempted, reasons not made
    scores: pd.DataFrame  # per (model, domain, group): accuracy with CI, preference, margin
    signals: pd.DataFrame  # per final base model: RuDE and every baseline (higher is better)
    correlations: pd.DataFrame  # signal x post-training stage: Pearson, Spearman with CIs
    breakdown: pd.DataFrame  # per 4C category and difficulty
    upsets: pd.DataFrame  # smaller model, higher RuDE, better after post-training
    format_recipes: pd.DataFrame  # alt-format / mixed-format: RuDE vs base accuracy
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
