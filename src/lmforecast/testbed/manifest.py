"""The manifest: one row per model of the population, as a Parquet table.

Columns (one record per base checkpoint and per post-trained model):
``model_id, run_id, family, arch, size, params, params_total, vocab_size, recipe, seed, stage``
(``base`` / ``sft`` / ``rl``), ``step, final, tokens, flops`` (pretraining tokens and FLOPs up to
this checkpoint), ``posttrain_tokens, posttrain_flops`` (0 for base models), ``base_model``
(model_id of the base a post-trained model came from, else empty), ``path`` (a transformers
directory that ``lmforecast.models.load_model`` loads), ``train_loss``, per task
``acc_<family>`` (greedy accuracy), ``pass1_<family>`` (mean per-example pass@1 from samples, NaN
where not sampled), ``n_eval_<family>``, and ``generic_ce`` (nats/token), ``generic_bpb``
(bits/byte), ``eval_flops``, and ``role``: ``population`` for the models the forecasts are about,
``frontier`` for the model built to write rBridge's reasoning traces (never part of the population).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lmforecast.testbed.problems import FAMILIES

STAGES = ("base", "sft", "rl")
ROLES = ("population", "frontier")


@dataclass(frozen=True)
class ModelRecord:
    """One model of the population."""

    model_id: str
    run_id: str
    family: str
    arch: str
    size: str
    params: int  # parameters that cost FLOPs per token (see architectures.count_params)
    params_total: int
    vocab_size: int
    recipe: str
    seed: int
    stage: str
    step: int
    final: bool
    tokens: int
    flops: float
    posttrain_tokens: int
    posttrain_flops: float
    base_model: str
    path: str
    train_loss: float
    generic_ce: float
    generic_bpb: float
    eval_flops: float
    role: str = "population"  # "frontier": rBridge's trace model, outside the population
    acc: dict[str, float] = field(default_factory=dict)  # by problem family
    pass1: dict[str, float] = field(default_factory=dict)
    n_eval: dict[str, int] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """Flat row with one column per task score."""
        out = {k: v for k, v in asdict(self).items() if k not in ("acc", "pass1", "n_eval")}
        for f in FAMILIES:
            out[f"acc_{f}"] = self.acc.get(f, float("nan"))
            out[f"pass1_{f}"] = self.pass1.get(f, float("nan"))
            out[f"n_eval_{f}"] = self.n_eval.get(f, 0)
        return out


def columns() -> list[str]:
    """The manifest's columns, in order."""
    scalar = [f.name for f in fields(ModelRecord) if f.name not in ("acc", "pass1", "n_eval")]
    per_task = [f"{k}_{fam}" for fam in FAMILIES for k in ("acc", "pass1", "n_eval")]
    return scalar + per_task


def write_manifest(records: Sequence[ModelRecord], path: Path) -> pa.Table:
    """Write the manifest atomically; rows sorted by (family, size, recipe, stage, step)."""
    rank = {s: i for i, s in enumerate(STAGES)}
    rows = [
        r.row()
        for r in sorted(
            records, key=lambda r: (r.family, r.params, r.recipe, rank[r.stage], r.step)
        )
    ]
    table = pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in columns()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table


def read_manifest(path: Path) -> pa.Table:
    """The manifest table at ``path``."""
    return pq.read_table(path)


def population_summary(df: Any) -> dict[str, Any]:
    """The population checks: spread of accuracy, and how far generic-text CE ranks it.

    ``mean_acc`` is the mean greedy accuracy over the problem tasks; the Spearman correlation is
    between ``generic_bpb`` and ``mean_acc`` over all models (negative: lower CE, higher
    accuracy). Returns quantiles, the share of models above one half, and the correlation.
    """
    from scipy.stats import spearmanr

    acc = df[[f"acc_{f}" for f in FAMILIES]].mean(axis=1)
    varied = len(df) > 2 and acc.nunique() > 1 and df["generic_bpb"].nunique() > 1
    rho = spearmanr(df["generic_bpb"], acc).statistic if varied else float("nan")
    quantiles = acc.quantile([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    return {
        "models": len(df),
        "mean_acc_quantiles": {
            f"q{int(q * 100)}": round(float(v), 3) for q, v in quantiles.items()
        },
        "best_task_acc": {f: round(float(df[f"acc_{f}"].max()), 3) for f in FAMILIES},
        "share_above_half": round(float((acc > 0.5).mean()), 3),
        "spearman_generic_bpb_vs_acc": round(float(rho), 3),
    }
