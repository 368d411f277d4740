"""The store survives SIGKILL: a resumed run computes only what is missing and ends identical."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from lmforecast.engine import ScoreConfig
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.store import Store
from lmforecast.tasks import get_task


def write_task(path: Path, n: int) -> Path:
    shots = "Question: What is 1 + 1?\nAnswer: 2\n\nQuestion: What is 2 + 2?\nAnswer: 4\n\n"
    with path.open("w") as f:
        for i in range(n):
            q = f"Question: What is {i} + {i % 7}?\nAnswer:"
            f.write(json.dumps({"context": shots + q, "continuation": f" {i + i % 7}"}) + "\n")
    return path


def test_store_roundtrip_and_duckdb(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_shard("scores", "k1", "a", pa.table({"x": [1, 2]}))
    store.write_shard("scores", "k1", "b", pa.table({"x": [3]}))
    store.write_meta("scores", "k1", {"model": "m"})
    assert store.shards("scores", "k1") == {"a", "b"}
    assert store.read("scores", "k1", sort_by="x").column("x").to_pylist() == [1, 2, 3]
    out = store.query('SELECT sum(x) AS s, any_value(entry_key) AS k FROM "scores"')
    assert out.to_pylist() == [{"s": 6, "k": "k1"}]
    assert dict(store.entries("scores")) == {"k1": {"model": "m"}}


def test_sigkill_then_resume_gives_identical_results(tmp_path: Path, tiny_llama_dir: Path) -> None:
    task_file = write_task(tmp_path / "task.jsonl", 1500)
    killed_store = tmp_path / "killed"
    cmd = [
        sys.executable, "-m", "lmforecast", "score", "--model", str(tiny_llama_dir),
        "--task", str(task_file), "--store-dir", str(killed_store), "--batch-size", "4",
    ]  # fmt: skip
    env = {**os.environ, "LMFORECAST_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    shard_dir = killed_store / "scores"
    try:
        while time.time() < deadline:
            if len(list(shard_dir.glob("*/*.parquet"))) >= 2:
                break
            if proc.poll() is not None:
                raise AssertionError("the scoring run ended before it could be killed")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    os.environ["LMFORECAST_HOME"] = str(tmp_path / "home")
    model = load_model(str(tiny_llama_dir))
    task = get_task(str(task_file))
    config = ScoreConfig(batch_size=4)
    store = Store(killed_store)
    stored_before = len(next(iter(store.entries("scores")))[0]) and store.shards(
        "scores", scored.scores_key(model, task, config)
    )
    resumed = scored.score_task(model, task, config, store)
    assert 0 < resumed.computed_units < resumed.total_units
    assert resumed.computed_units == resumed.total_units - len(stored_before)

    fresh = scored.score_task(model, task, config, Store(tmp_path / "fresh"))
    assert fresh.computed_units == fresh.total_units
    columns = [c for c in fresh.table.column_names if not c.startswith("cost_")]
    assert resumed.table.select(columns).equals(fresh.table.select(columns))
    # A third run computes nothing.
    assert scored.score_task(model, task, config, store).computed_units == 0
