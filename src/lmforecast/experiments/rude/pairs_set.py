"""The testbed's RuDE pairs: one shipped rubric per task family, pairs at each difficulty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from lmforecast.experiments.patel.population import task_name
from lmforecast.experiments.rude.config import RudeConfig
from lmforecast.signals.rude.pairs import Pair, make_pairs
from lmforecast.signals.rude.rubric import Rubric, load_rubric
from lmforecast.tasks import get_task

DIFFICULTIES = (1, 2, 3)


@dataclass(frozen=True)
class DomainPairs:
    """A domain's rubric and its pairs over every difficulty."""

    domain: str
    rubric: Rubric
    pairs: tuple[Pair, ...]


def testbed_pairs(
    families: Sequence[str], config: RudeConfig
) -> tuple[dict[str, DomainPairs], pd.DataFrame]:
    """Pairs per family (``testbed-<family>`` rubric over the task's held-out problems), and a
    table of what was made and what could not be, by reason (never silently dropped)."""
    out: dict[str, DomainPairs] = {}
    rows = []
    for fam in families:
        rubric = load_rubric(f"testbed-{fam}")
        docs = get_task(task_name(fam)).docs
        pairs: list[Pair] = []
        for k in DIFFICULTIES:
            if k > len(rubric.criteria):
                continue
            made, report = make_pairs(rubric, docs, k, config.seed, config.pairs_per_difficulty)
            pairs.extend(made)
            rows.append(
                {
                    "domain": rubric.domain,
                    "difficulty": k,
                    "made": report.made,
                    "attempted": report.attempted,
                    "not_made": report.attempted - report.made,
                    "reasons": "; ".join(f"{r} ({n})" for r, n in report.failures.items()),
                }
            )
        out[fam] = DomainPairs(rubric.domain, rubric, tuple(pairs))
    return out, pd.DataFrame(rows)
