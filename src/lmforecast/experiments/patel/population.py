"""The population an experiment reads: the testbed's manifest, and the one place that knows it.

Every setting reads a *population table*: one row per model with the columns below. The
testbed writes exactly this table (its manifest); another source of models (a user's own
checkpoints with imported ground truth) only has to produce it. Column meanings:

- ``model_id``, ``run_id``, ``family`` (architecture), ``size``, ``params``, ``recipe`` (corpus),
  ``stage`` (``base`` or a post-training stage), ``step``, ``final`` (last checkpoint of its run),
  ``tokens`` and ``flops`` (training up to this checkpoint), ``path`` (a model directory);
- ``acc_<task family>``: ground-truth accuracy per task family (:func:`accuracy_column`);
- ``eval_flops``: what direct evaluation (generation + grading) cost;
- ``generic_bpb``: bits per byte on generic text (the cross-entropy baseline).

Per-example ground truth (greedy correctness per problem) lives beside each run's checkpoints in
``truth.parquet`` (:func:`example_truth`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lmforecast.core.errors import UserError
from lmforecast.forecast import InsufficientData

ACC_PREFIX = "acc_"
COLUMNS = (
    "model_id",
    "run_id",
    "family",
    "size",
    "params",
    "recipe",
    "stage",
    "step",
    "final",
    "tokens",
    "flops",
    "eval_flops",
    "generic_bpb",
    "path",
)


def load_population(preset: str, seed: int) -> pd.DataFrame:
    """The manifest of a built testbed population, checked against the population schema."""
    from lmforecast import testbed

    manifest = testbed.load_manifest(preset, seed)
    missing = [c for c in COLUMNS if c not in manifest.columns]
    if missing or not problem_tasks(manifest):
        raise UserError(
            f"testbed {preset} (seed {seed}): manifest lacks column(s) "
            f"{', '.join(missing) or ACC_PREFIX + '<task>'}; rebuild it with this version"
        )
    return manifest


def problem_tasks(manifest: pd.DataFrame) -> list[str]:
    """Task families present in the population (its ``acc_<family>`` columns)."""
    return [c.removeprefix(ACC_PREFIX) for c in manifest.columns if c.startswith(ACC_PREFIX)]


def accuracy_column(family: str) -> str:
    return f"{ACC_PREFIX}{family}"


def accuracy_columns(families: Sequence[str]) -> list[str]:
    return [accuracy_column(f) for f in families]


def task_name(family: str) -> str:
    """The registered task of a family's held-out expert solutions."""
    return f"testbed-{family}:gold"


def choice_task_name(family: str) -> str:
    """The registered multiple-choice variant of the same problems."""
    return f"testbed-{family}:rc"


def base_models(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest[manifest["stage"] == "base"]


def final_base_models(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest[(manifest["stage"] == "base") & manifest["final"]]


def family_base_models(manifest: pd.DataFrame, family: str) -> pd.DataFrame:
    return manifest[(manifest["family"] == family) & (manifest["stage"] == "base")]


def example_truth(
    model_id: str, path: str, doc_ids: dict[str, list[str]], families: Sequence[str]
) -> np.ndarray:
    """Greedy correctness of one model on the given problems, families in order, concatenated.

    ``path`` is the model's directory (its run's ``truth.parquet`` sits beside it); a problem
    without a label means the population's per-example truth does not cover what was scored.
    """
    labels = pd.read_parquet(Path(path).parent / "truth.parquet")
    labels = labels[labels["model_id"] == model_id].set_index(["task", "doc_id"])
    wanted = [(task_name(f), d) for f in families for d in doc_ids[f]]
    missing = [w for w in wanted if w not in labels.index]
    if missing:
        raise InsufficientData(
            f"per-example truth covers {len(labels)} problems of {model_id}, not the "
            f"{len(wanted)} scored (e.g. {missing[0][1]}): lower --docs-per-task"
        )
    return labels.loc[wanted, "greedy_correct"].to_numpy(dtype=float)
