"""The testbed: a reproducible population of small real language models with known ground truth.

Public API (imported lazily, so ``lmforecast.tasks`` can import :mod:`lmforecast.testbed.tasks`
without pulling in torch training code)::

    from lmforecast import testbed
    root = testbed.build("ci", seed=0, progress=print)      # build or finish building
    table = testbed.load_manifest("full")                   # pandas DataFrame, one row per model
    path = testbed.model_path("llama-m-clean-rl", "full")   # directory for load_model
    model_id, path = testbed.frontier_model("full")         # rBridge's trace writer (SFT)
    testbed.TASK_NAMES                                      # registered task names
    signals = testbed.load_training_signals("ci")           # proxies recorded while training
    times = testbed.training_time("ci")                     # their share of training time

The FLOPs and tokens of a checkpoint are the manifest's ``flops`` and ``tokens`` columns
(pretraining) and ``posttrain_flops`` / ``posttrain_tokens`` (post-training).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

TASK_NAMES = (
    "testbed-arith:gold",
    "testbed-list:gold",
    "testbed-trace:gold",
    "testbed-arith:rc",
    "testbed-list:rc",
    "testbed-trace:rc",
    "testbed-generic:text",
)

__all__ = [
    "TASK_NAMES",
    "build",
    "frontier_model",
    "load_manifest",
    "load_training_signals",
    "model_path",
    "population_dir",
    "training_time",
]


def build(
    preset: str = "ci", seed: int = 0, progress: Any = None, workers: int | None = None
) -> Path:
    """Build (or resume building) a population; see :func:`lmforecast.testbed.builder.build`."""
    from lmforecast.testbed.builder import build as _build

    return _build(preset, seed, progress, workers)


def population_dir(preset: str = "full", seed: int = 0) -> Path:
    """Directory of a built population (raises a one-line error if it was never built)."""
    from lmforecast.testbed.builder import population_dir as _dir

    return _dir(preset, seed)


def load_manifest(
    preset: str = "full", seed: int = 0, role: str | None = "population"
) -> pd.DataFrame:
    """The manifest of a built population as a DataFrame (columns: see testbed.manifest).

    ``role="population"`` (the default) keeps the models the forecasts are about;
    ``role="frontier"`` the model built for rBridge's traces; ``None`` every row.
    """
    from lmforecast.testbed.manifest import read_manifest

    table = read_manifest(population_dir(preset, seed) / "manifest.parquet").to_pandas()
    if role is None:
        return table
    return table[table["role"] == role].reset_index(drop=True)


def frontier_model(preset: str = "full", seed: int = 0, stage: str = "sft") -> tuple[str, str]:
    """(model_id, path) of the population's frontier at a stage (default: its SFT model, the
    one that writes rBridge's traces); a one-line error if the build has none."""
    from lmforecast.core.errors import UserError

    rows = load_manifest(preset, seed, role="frontier")
    rows = rows[rows["stage"] == stage]
    if rows.empty:
        raise UserError(
            f"testbed preset {preset!r} (seed {seed}) has no frontier model at stage {stage!r}; "
            f"rebuild it with this version (`lmforecast testbed build --preset {preset}`)"
        )
    row = rows.sort_values("step").iloc[-1]
    return str(row["model_id"]), str(row["path"])


def model_path(model_id: str, preset: str = "full", seed: int = 0) -> str:
    """The transformers directory of one model of a built population."""
    from lmforecast.core.errors import UserError

    table = load_manifest(preset, seed, role=None)
    hit = table.loc[table["model_id"] == model_id, "path"]
    if hit.empty:
        raise UserError(f"no model {model_id!r} in testbed preset {preset!r} (seed {seed})")
    return str(hit.iloc[0])


def load_training_signals(preset: str = "full", seed: int = 0) -> pd.DataFrame:
    """The token proxies recorded on the live model at every base checkpoint while it trained:
    one row per (model_id, task, signal), ``model_id`` as in the manifest. A population built
    before these were recorded has none: a one-line error says so (its models stay valid)."""
    from lmforecast.testbed.training_signals import read_training_signals

    return read_training_signals(population_dir(preset, seed))


def training_time(preset: str = "full", seed: int = 0) -> pd.DataFrame:
    """Per run: pretraining seconds, seconds spent recording the signals, and their ratio
    (``training_signals.time_share`` sums it over runs)."""
    from lmforecast.testbed.training_signals import read_training_time

    return read_training_time(population_dir(preset, seed))
