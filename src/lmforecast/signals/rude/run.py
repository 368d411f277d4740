"""Score RuDE pairs under a model (stored, resumable) and break the result down.

The headline is the share of pairs where the model prefers the positive (strict in ``judge``
mode), with a 95% bootstrap interval over pairs; the breakdown is by difficulty (|V|), by
violated criterion and, given the rubric, by 4C category (on difficulty-1 pairs, where one
criterion, hence one category, is violated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from lmforecast.engine import ScoreConfig
from lmforecast.models.base import LoadedModel
from lmforecast.signals import scored
from lmforecast.signals.rude.pairs import Pair
from lmforecast.signals.rude.rubric import Rubric
from lmforecast.signals.rude.score import Mode, PairOutcomes, outcomes_for, task_for
from lmforecast.signals.tokenstats import bootstrap_mean_ci
from lmforecast.store import Store

ALL = "all"


@dataclass(frozen=True)
class RudeRun:
    """Scored pairs: the outcomes, the stored table and the breakdown (one row per group)."""

    scored: scored.ScoredTask
    table: pa.Table = field(repr=False)
    outcomes: PairOutcomes
    breakdown: pd.DataFrame

    @property
    def accuracy(self) -> float:
        return float(self.outcomes.correct.mean())


def breakdown(
    pairs: Sequence[Pair],
    outcomes: PairOutcomes,
    rubric: Rubric | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy and preference per group (``all``, ``difficulty=k``, ``criterion=id`` and,
    with the rubric, ``category=c`` on difficulty-1 pairs), with 95% bootstrap intervals."""
    groups: dict[str, list[int]] = {ALL: list(range(len(pairs)))}
    category = {c.id: c.category for c in rubric.criteria} if rubric is not None else {}
    for k, p in enumerate(pairs):
        groups.setdefault(f"difficulty={p.difficulty}", []).append(k)
        for v in p.violated:
            groups.setdefault(f"criterion={v}", []).append(k)
        if p.difficulty == 1 and p.violated[0] in category:
            groups.setdefault(f"category={category[p.violated[0]]}", []).append(k)
    rows = []
    for name, idx in groups.items():
        correct = outcomes.correct[idx].astype(float)
        acc, lo, hi = bootstrap_mean_ci(correct, 0.95, resamples, seed)
        rows.append(
            {
                "group": name,
                "pairs": len(idx),
                "accuracy": acc,
                "ci_low": lo,
                "ci_high": hi,
                "preference": float(np.mean(outcomes.preference[idx])),
                "margin": float(np.mean(outcomes.margin[idx])),
            }
        )
    return pd.DataFrame(rows)


def score_pairs(
    model: LoadedModel,
    pairs: Sequence[Pair],
    mode: Mode = "likelihood",
    *,
    rubric: Rubric | None = None,
    name: str = "rude",
    config: ScoreConfig | None = None,
    store: Store | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> RudeRun:
    """Score ``pairs`` under ``model`` in ``mode`` through the engine and the store."""
    if not pairs:
        raise ValueError("no pairs to score")
    task = task_for(mode, pairs, name)
    result = scored.score_task(model, task, config or ScoreConfig(), store or Store(), progress,
                               on_plan)  # fmt: skip
    outcomes = outcomes_for(mode, result.table)
    return RudeRun(result, result.table, outcomes, breakdown(pairs, outcomes, rubric, seed=seed))
