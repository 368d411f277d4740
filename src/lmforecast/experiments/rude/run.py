"""The RuDE experiment on a testbed population, end to end.

1. Pairs for each task family from its shipped rubric (``pairs_per_difficulty`` at |V| = 1, 2,
   3), every pair that could not be made counted by reason.
2. Every final base model scores every domain's pairs (``likelihood`` mode: the testbed's
   models are too small to follow a judge prompt); Patel's proxies on the same models come
   from the store (a baseline).
3. The validation against accuracy after SFT and after RL (:mod:`.validation`).
"""

from __future__ import annotations

import time
from dataclasses import asdict

import pandas as pd

from lmforecast.experiments.patel import PatelConfig
from lmforecast.experiments.patel.population import (
    final_base_models,
    load_population,
    problem_tasks,
)
from lmforecast.experiments.patel.scoring import score_population, token_signals
from lmforecast.experiments.rude.config import Progress, RudeConfig
from lmforecast.experiments.rude.pairs_set import testbed_pairs
from lmforecast.experiments.rude.result import RudeResult
from lmforecast.experiments.rude.scoring import score_models
from lmforecast.experiments.rude.validation import validate
from lmforecast.forecast import InsufficientData
from lmforecast.store import Store


def run_rude(
    config: RudeConfig, store: Store | None = None, progress: Progress | None = None
) -> RudeResult:
    """Pairs, scores and validation on an already built population."""
    manifest = load_population(config.preset, config.seed)
    store = store or Store()
    families = problem_tasks(manifest)
    if progress is not None:
        progress("RuDE: making pairs")
    domains, pairs_table = testbed_pairs(families, config)
    finals = final_base_models(manifest)
    start = time.perf_counter()
    rude_rows = score_models(finals, domains, config, store, progress)
    patel_config = PatelConfig(
        preset=config.preset,
        seed=config.seed,
        docs_per_task=config.docs_per_task,
        batch_size=config.batch_size,
        workers=config.workers,
        executor=config.executor,
    )
    # Patel's proxies of the final base models only (a baseline); stored, so free after Patel.
    patel_rows = score_population(finals, patel_config, store, progress)
    notes = [f"scored {len(finals)} final base models in {time.perf_counter() - start:.0f} s"]
    names = [s.name for s in token_signals()]
    try:
        tables = validate(
            manifest, rude_rows, patel_rows, families, names, config.n_boot, config.seed
        )
    except InsufficientData as e:
        notes.append(f"validation not computable on this population: {e}")
        tables = {}
    empty = pd.DataFrame()
    if tables and tables["format_recipes"].empty:
        notes.append("the population has no alt-format / mixed-format models (preset full has)")
    return RudeResult(
        pairs=pairs_table,
        scores=rude_rows,
        signals=tables.get("signals", empty),
        correlations=tables.get("correlations", empty),
        breakdown=tables.get("breakdown", empty),
        upsets=tables.get("upsets", empty),
        format_recipes=tables.get("format_recipes", empty),
        notes=notes,
        config=asdict(config),
    )
