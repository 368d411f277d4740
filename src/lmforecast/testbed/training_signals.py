"""The testbed's in-training signals: Patel's token proxies recorded at every checkpoint.

While a run pretrains, :class:`CheckpointSignals` scores the live model right after each
checkpoint is saved (:func:`lmforecast.integrations.training.evaluate_in_training`: no reload,
the weights untouched) on a small fixed request set: the gold solutions of the first
:data:`SIGNAL_DOCS` held-out problems of each problem family. The records go to a store beside
the run's outputs (``runs/<run_id>/training_signals/``), and the run's pretraining wall time and
the part of it spent on these evaluations to ``runs/<run_id>/training_time.json``.

None of this enters a population's fingerprint or its weights (the evaluation neither reads
nor changes the random state, the optimizer or the parameters), so populations built before
it stay valid; they simply have no records, and the readers say so.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from lmforecast.core.errors import UserError
from lmforecast.integrations.training import (
    DEFAULT_SIGNALS,
    evaluate_in_training,
    load_training_signals,
)
from lmforecast.store import Store
from lmforecast.testbed import problems
from lmforecast.testbed.tasks import problem_task
from lmforecast.testbed.train import Checkpoint

SIGNAL_DOCS = 16  # held-out problems per family scored at each checkpoint (48 requests)
SIGNALS = DEFAULT_SIGNALS
STORE_DIR = "training_signals"
TIME_FILE = "training_time.json"


class CheckpointSignals:
    """The pretraining hook of one run; as a context manager it times the whole pretraining
    and writes the time file on a clean exit."""

    def __init__(self, run_dir: Path, run_id: str) -> None:
        self.run_dir = run_dir
        self.run_id = run_id
        self.store = Store(run_dir / STORE_DIR)
        self.tasks = [problem_task(f, SIGNAL_DOCS) for f in problems.FAMILIES]
        self.tokenizer: Any = None
        self.seconds = 0.0
        self.evaluations = 0
        self._start = 0.0

    def __call__(self, model: Any, checkpoint: Checkpoint) -> None:
        start = time.perf_counter()
        if self.tokenizer is None:  # as lmforecast loads any checkpoint: from its directory
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(checkpoint.path)
        for task in self.tasks:
            evaluate_in_training(
                model, self.tokenizer, task, SIGNALS, checkpoint.step,
                run=self.run_id, store=self.store,
            )  # fmt: skip
        self.evaluations += 1
        self.seconds += time.perf_counter() - start

    def __enter__(self) -> CheckpointSignals:
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            return
        total = time.perf_counter() - self._start
        payload = {
            "run_id": self.run_id,
            "train_seconds": total - self.seconds,  # checkpoint saves included
            "signal_seconds": self.seconds,
            "share": self.seconds / max(total - self.seconds, 1e-9),
            "checkpoints": self.evaluations,
            "requests_per_checkpoint": sum(len(t.requests) for t in self.tasks),
            "signals": list(SIGNALS),
        }
        tmp = self.run_dir / f".{TIME_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, self.run_dir / TIME_FILE)


def _no_records(root: Path) -> UserError:
    return UserError(
        f"testbed at {root} has no in-training signal records: it was built before they were "
        "recorded (its models stay valid; score its checkpoints with `lmforecast score`)"
    )


def read_training_signals(root: Path) -> pd.DataFrame:
    """Every run's records: ``model_id, run_id, step, task, signal, value, requests, seconds,
    flops``; ``attrs["runs_without_records"]`` lists finished runs that have none."""
    frames, missing = [], []
    for run_dir in sorted((root / "runs").glob("*/")):
        store_dir = run_dir / STORE_DIR
        df = load_training_signals(Store(store_dir)) if store_dir.is_dir() else pd.DataFrame()
        if not df.empty:
            frames.append(df)
        elif (run_dir / "record.json").is_file():
            missing.append(run_dir.name)
    if not frames:
        raise _no_records(root)
    out = pd.concat(frames, ignore_index=True).rename(columns={"run": "run_id"})
    out.insert(0, "model_id", out["run_id"] + "-step" + out["step"].astype(str))
    out.attrs["runs_without_records"] = missing
    return out


def read_training_time(root: Path) -> pd.DataFrame:
    """One row per run with records: pretraining seconds, evaluation seconds, their ratio."""
    rows = [json.loads(p.read_text()) for p in sorted((root / "runs").glob(f"*/{TIME_FILE}"))]
    if not rows:
        raise _no_records(root)
    return pd.DataFrame(rows)


def time_share(times: pd.DataFrame) -> float:
    """Seconds in evaluation over seconds training, summed over runs (not a mean of ratios).

    >>> time_share(pd.DataFrame({"train_seconds": [90.0, 10.0], "signal_seconds": [1.0, 1.0]}))
    0.02
    """
    return float(times["signal_seconds"].sum() / times["train_seconds"].sum())
