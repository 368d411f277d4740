"""Every final base model's RuDE score on every domain's pairs (stored, resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lmforecast.engine import ScoreConfig
from lmforecast.experiments.rude.config import Progress, RudeConfig
from lmforecast.experiments.rude.pairs_set import DomainPairs
from lmforecast.experiments.settings import scoring_executor
from lmforecast.models import load_model
from lmforecast.signals.rude.run import score_pairs
from lmforecast.signals.rude.score import MODES, Mode
from lmforecast.store import Store


def _mode(name: str) -> Mode:
    for m in MODES:
        if m == name:
            return m
    raise ValueError(f"unknown RuDE mode {name!r}; known: {', '.join(MODES)}")


def score_models(
    models: pd.DataFrame,
    domains: dict[str, DomainPairs],
    config: RudeConfig,
    store: Store,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """One row per (model, domain, group): accuracy with its interval, preference, margin,
    plus the scoring cost (``flops``, ``seconds``) on the ``all`` rows."""
    jobs = [
        (str(r.model_id), str(r.path), domains, config, store.root)
        for r in models.itertuples(index=False)
    ]
    frames: list[pd.DataFrame] = []
    with scoring_executor(config, store.root) as executor:
        for i, (_, frame) in enumerate(executor.imap_unordered(score_model, jobs)):
            frames.append(frame)
            if progress is not None:
                progress(
                    f"RuDE pairs scored under {frame['model_id'].iloc[0]} ({i + 1}/{len(jobs)})"
                )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def score_model(
    model_id: str,
    path: str,
    domains: dict[str, DomainPairs],
    config: RudeConfig,
    store_root: Path,
) -> pd.DataFrame:
    """One model's rows of :func:`score_models` (top-level: workers pickle it)."""
    model = load_model(path)
    store = Store(store_root)
    frames = []
    for fam, d in domains.items():
        run = score_pairs(
            model,
            d.pairs,
            _mode(config.mode),
            rubric=d.rubric,
            name=f"rude-{d.domain}",
            config=ScoreConfig(batch_size=config.batch_size),
            store=store,
            seed=config.seed,
        )
        frame = run.breakdown.assign(model_id=model_id, domain=fam)
        cost: dict[str, Any] = {"flops": run.scored.flops, "seconds": run.scored.seconds}
        for key, value in cost.items():
            frame[key] = [value if g == "all" else float("nan") for g in frame["group"]]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
