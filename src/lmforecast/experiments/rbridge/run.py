"""The rBridge experiment on a testbed population, end to end.

1. The testbed's frontier (built outside the population) writes a trace for each of the first
   ``docs_per_task`` problems of every task (stored; made once).
2. Every base checkpoint scores the traces (one stored engine pass per model and task) and
   Patel's proxies come from the same store.
3. The bridge (smallest -> largest size, base and SFT), corpus ranking on Patel's setting (b)
   axes, setting (a) with rBridge beside Patel's scorers, and the cost table.

A table the population cannot support (too few points for 5 folds on ``ci``'s SFT row) is a
note, never an error.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import pandas as pd

from lmforecast.experiments.patel import PatelConfig
from lmforecast.experiments.patel.population import load_population, problem_tasks
from lmforecast.experiments.patel.scoring import score_population, token_signals
from lmforecast.experiments.rbridge.bridging import bridge_table
from lmforecast.experiments.rbridge.config import Progress, RBridgeConfig
from lmforecast.experiments.rbridge.ranking import corpus_ranking
from lmforecast.experiments.rbridge.result import RBridgeResult
from lmforecast.experiments.rbridge.scoring import frontier_traces, score_population_traces
from lmforecast.experiments.rbridge.selection import selection_with_rbridge
from lmforecast.experiments.settings import Settings
from lmforecast.store import Store


def cost_table(
    manifest: pd.DataFrame, trace_rows: pd.DataFrame, patel_rows: pd.DataFrame
) -> pd.DataFrame:
    """FLOPs and seconds per base checkpoint: rBridge, Patel's proxies, direct evaluation."""
    base = manifest[manifest["stage"] == "base"].set_index("model_id")
    models = trace_rows["model_id"].unique()
    trace_flops = float(trace_rows["trace_flops"].sum())
    patel = patel_rows[patel_rows["model_id"].isin(models)]
    direct = float(base.loc[models, "eval_flops"].sum())
    rows = [
        ("rBridge: score the frontier's traces", trace_flops, trace_rows["trace_seconds"].sum()),
        (
            "Patel: score the expert solutions",
            patel["score_flops"].sum(),
            patel["score_seconds"].sum(),
        ),
        ("direct evaluation: generate and grade", direct, float("nan")),
    ]
    return pd.DataFrame(
        [
            {
                "what": what,
                "models": len(models),
                "flops": float(flops),
                "seconds": float(seconds),
                "direct_over_this": direct / float(flops) if flops else float("nan"),
            }
            for what, flops, seconds in rows
        ]
    )


def summarise_notes(notes: list[str]) -> list[str]:
    """One note per reason and row group (``bridge xs -> m sft, <task>, <signal>: why``): the
    ``ci`` population fails the same check for every task and signal."""
    grouped: dict[tuple[str, str], int] = {}
    for note in notes:
        head, _, why = note.partition(": ")
        grouped[(head.split(",")[0], why)] = grouped.get((head.split(",")[0], why), 0) + 1
    return [f"{head} ({n} rows): {why}" for (head, why), n in grouped.items()]


def run_rbridge(
    config: RBridgeConfig, store: Store | None = None, progress: Progress | None = None
) -> RBridgeResult:
    """Traces, scores, bridge, ranking, selection and cost on an already built population."""
    manifest = load_population(config.preset, config.seed)
    store = store or Store()
    families = problem_tasks(manifest)
    frontier_id, made = frontier_traces(families, config, progress)
    traces_table = pd.DataFrame(
        [
            {
                "task": fam,
                "frontier": frontier_id,
                "traces": s.traces,
                "dropped": s.dropped,
                "retried": s.retried,
                "generated_tokens": s.generated_tokens,
                "seconds": s.seconds,
            }
            for fam, (s, _) in made.items()
        ]
    )
    start = time.perf_counter()
    traces = {fam: t for fam, (_, t) in made.items()}
    trace_rows = score_population_traces(manifest, traces, config, store, progress)
    patel_config = PatelConfig(
        preset=config.preset,
        seed=config.seed,
        docs_per_task=config.docs_per_task,
        batch_size=config.batch_size,
        n_boot=config.n_boot,
        workers=config.workers,
        executor=config.executor,
        main_family=config.main_family,
    )
    patel_rows = score_population(manifest, patel_config, store, progress)
    seconds = time.perf_counter() - start
    notes = [f"scored {trace_rows['model_id'].nunique()} checkpoints in {seconds:.0f} s"]

    setting = Settings(progress, notes)

    names = [s.name for s in token_signals()]
    no_notes: list[str] = []
    bridge, bridge_points, bridge_notes = setting(
        "bridge",
        lambda: bridge_table(manifest, trace_rows, patel_rows, names, families, config),
        (pd.DataFrame(), pd.DataFrame(), no_notes),
    )
    empty_summary: dict[str, Any] = {}
    ranking, summary = setting(
        "corpus ranking",
        lambda: corpus_ranking(manifest, trace_rows, patel_rows, families, config),
        (pd.DataFrame(), empty_summary),
    )
    selection = setting(
        "setting (a): model selection",
        lambda: selection_with_rbridge(manifest, trace_rows, patel_rows, families),
        pd.DataFrame(),
    )
    return RBridgeResult(
        traces=traces_table,
        scores=trace_rows.drop(columns=["trace_values", "trace_doc_ids"]),
        bridge=bridge,
        bridge_points=bridge_points,
        ranking=ranking,
        ranking_summary=summary,
        selection=selection,
        cost=cost_table(manifest, trace_rows, patel_rows),
        notes=notes + summarise_notes(bridge_notes),
        config=asdict(config),
    )
