"""The Ray executor on a real two-node local cluster, scoring two tiny real checkpoints.

Checked against the in-process run's stored tables: a sweep through Ray gives the same scores;
removing a node while one of its units runs loses nothing (the unit reruns on the other node);
a unit that needs a GPU on this CPU-only cluster fails with one clear line after its timeout;
units already stored are not run again. One cluster serves the module (it takes seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from lmforecast import api
from lmforecast.core.errors import UserError
from lmforecast.engine import ScoreConfig
from lmforecast.executors import InProcessExecutor, UnitResources, parse_executor_spec
from lmforecast.store import Store

CONFIG = ScoreConfig(unit_size=3, batch_size=4)  # 24 requests: 8 units (shards) per model
# What a unit spent where it ran: seconds always differ, and FLOPs differ where the in-process
# engine reused a prefix's KV cache across consecutive units of the same prefix group.
COST = ["cost_seconds", "cost_flops"]
MB = 2**20


def _task_file(path: Path) -> Path:
    rows = []
    for i in range(24):
        shared = ("The quick brown fox jumps over the lazy dog. " if i % 2 else "Pack my box. ") * 3
        context = f"{shared}Question: what is {i} plus {i % 5}?\nAnswer:"
        rows.append({"context": context, "continuation": f" {i + i % 5}. So it is {i + i % 5}."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _stored(store_dir: Path) -> dict[str, pa.Table]:
    """Every scores entry of a store (by key), in request order, without the cost columns."""
    store = Store(store_dir)
    return {
        key: store.read("scores", key, sort_by="request_index").drop(COST)  # type: ignore[union-attr]
        for key in store.keys("scores")
    }


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path) -> dict[str, object]:
    """Two checkpoints, the task, and the in-process reference store."""
    from tiny_models import build_llama

    root = tmp_path_factory.mktemp("ray-sweep")
    models = [str(tiny_llama_dir), str(build_llama(root / "llama-seed1", seed=1))]
    task = str(_task_file(root / "task.jsonl"))
    reference = root / "reference"
    for model in models:
        api.score(model, task, config=CONFIG, store_dir=reference)
    return {"root": root, "models": models, "task": task, "reference": _stored(reference)}


@pytest.fixture(scope="module")
def cluster() -> object:
    """A head and one worker node, one CPU each, bound to 127.0.0.1, no dashboard."""
    import ray
    from ray.cluster_utils import Cluster

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    small = {"num_cpus": 1, "object_store_memory": 80 * MB}
    c = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False})
    worker = c.add_node(**small)
    ray.init(address=c.address, log_to_driver=False)
    # Workers cannot import this test module: send _hold by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield c, worker
    ray.shutdown()
    c.shutdown()


def test_spec_parser() -> None:
    spec = parse_executor_spec("ray=10.1.2.3:6379,cpus=2,gpus=0.5,memory=1GiB,retries=5,timeout=9")
    assert (spec.kind, spec.address, spec.max_retries, spec.timeout_s) == (
        "ray",
        "10.1.2.3:6379",
        5,
        9.0,
    )
    assert spec.resources == UnitResources(cpus=2, gpus=0.5, memory_bytes=2**30)
    assert parse_executor_spec("ray").address is None
    assert parse_executor_spec(None).kind == parse_executor_spec("local").kind == "local"
    for bad in ("ray=", "slurm", "ray,gpu=1", "ray,cpus=-1", "ray,memory=lots", "ray,retries=1.5"):
        with pytest.raises(UserError, match=r"^--executor "):
            parse_executor_spec(bad)


def test_units_elsewhere_equal_in_process_without_ray(
    setup: dict[str, object], tmp_path: Path
) -> None:
    """The unit path (each unit writes its own shard) through a plain in-process executor."""
    for model in setup["models"]:  # type: ignore[attr-defined]
        run = api.score(
            model, setup["task"], config=CONFIG, store_dir=tmp_path, executor=InProcessExecutor()
        )
        assert run.scored.computed_units == run.scored.total_units == 8
    assert _equal(_stored(tmp_path), setup["reference"])  # type: ignore[arg-type]


def test_a_unit_refuses_a_store_that_is_not_the_drivers(
    setup: dict[str, object], tmp_path: Path
) -> None:
    """What a node without the shared filesystem meets: one line, and nothing written."""
    from lmforecast.executors import ModelRef
    from lmforecast.executors.shared import NotSharedError, mark_shared
    from lmforecast.signals.scored import score_unit
    from lmforecast.tasks import get_task

    mark_shared(tmp_path)  # a directory of the same name, but not the driver's
    ref = ModelRef(setup["models"][0])  # type: ignore[index]
    task = get_task(setup["task"])  # type: ignore[arg-type]
    with pytest.raises(NotSharedError, match=r"is not the driver's \(its .* token differs\)"):
        score_unit(ref, task, CONFIG, (str(tmp_path), "the-driver's-token"), "k", "u")
    with pytest.raises(NotSharedError, match=r"does not exist"):
        score_unit(ref, task, CONFIG, (str(tmp_path / "absent"), "t"), "k", "u")
    assert not list(tmp_path.rglob("*.parquet"))


def _equal(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> bool:
    return sorted(a) == sorted(b) and all(a[k].equals(b[k]) for k in a)


def test_ray_sweep_equals_in_process_and_resumes(setup: dict[str, object], cluster: object) -> None:
    c, _ = cluster  # type: ignore[misc]
    store = Path(setup["root"]) / "ray"  # type: ignore[arg-type]
    for model in setup["models"]:  # type: ignore[attr-defined]
        run = api.score(
            model, setup["task"], config=CONFIG, store_dir=store, executor=f"ray={c.address}"
        )
        assert run.scored.computed_units == 8
    assert _equal(_stored(store), setup["reference"])  # type: ignore[arg-type]

    # Resume: drop three shards; the rerun computes exactly those, the others stay untouched.
    key = sorted(Store(store).keys("scores"))[0]
    shards = sorted((store / "scores" / key).glob("*.parquet"))
    for path in shards[:3]:
        path.unlink()
    kept = {p: p.stat().st_mtime_ns for p in shards[3:]}
    model = Store(store).read_meta("scores", key)["model"]  # type: ignore[index]
    run = api.score(
        model, setup["task"], config=CONFIG, store_dir=store, executor=f"ray={c.address}"
    )
    assert (run.scored.computed_units, run.scored.total_units) == (3, 8)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert _equal(_stored(store), setup["reference"])  # type: ignore[arg-type]


def test_gpu_unit_on_cpu_cluster_is_a_clear_error(
    setup: dict[str, object], cluster: object, tmp_path: Path
) -> None:
    c, _ = cluster  # type: ignore[misc]
    started = time.monotonic()
    with pytest.raises(UserError, match=r"no node of the Ray cluster has 1 CPU, 1 GPU") as err:
        api.score(
            setup["models"][0],  # type: ignore[index]
            setup["task"],
            config=CONFIG,
            store_dir=tmp_path,
            executor=f"ray={c.address},gpus=1,timeout=5",
        )
    assert "\n" not in str(err.value) and "waited 5 s, 8 unit(s) cancelled" in str(err.value)
    assert time.monotonic() - started < 60
    assert not list(tmp_path.glob("scores/*/*.parquet"))


def test_truth_through_ray_equals_in_process(
    setup: dict[str, object], cluster: object, tmp_path: Path
) -> None:
    """Sampled generation and grading, each shard of problems a Ray task writing its shard."""
    from lmforecast.engine.generate import GenerationConfig
    from lmforecast.tasks import Doc, GenerationSpec, Task

    c, _ = cluster  # type: ignore[misc]
    docs = tuple(
        Doc(f"d{i}", f"Question: what is {i} + {i}?\nAnswer:", answer=str(2 * i)) for i in range(40)
    )
    task = Task("tiny:exact", "text", "synthetic", docs, (), GenerationSpec(("\n\n",), 6), "exact")
    cfg = GenerationConfig(temperature=1.0, seed=3, n_samples=2)
    model = setup["models"][0]  # type: ignore[index]
    here = api.truth(model, task, cfg, store_dir=tmp_path / "here")
    there = api.truth(model, task, cfg, store_dir=tmp_path / "ray", executor=f"ray={c.address}")
    assert there.shards_computed == here.shards_computed == 3
    assert there.samples.drop(["seconds"]).equals(here.samples.drop(["seconds"]))
    assert there.key == here.key


def _note(log: str, what: str) -> None:
    with open(log, "a") as f:
        f.write(f"{what} {os.getpid()}\n")


def _job(log: str, i: int) -> int:
    _note(log, "job")
    if i < 0:
        raise (UserError if i == -1 else ValueError)(f"job {i} failed")
    return i * i


def test_initializer_once_per_worker_and_errors_come_back_as_themselves(
    cluster: object, tmp_path: Path
) -> None:
    from lmforecast.executors import make_executor

    c, _ = cluster  # type: ignore[misc]
    log = str(tmp_path / "log")
    spec = f"ray={c.address},timeout=30"
    with make_executor(1, initializer=_note, initargs=(log, "init"), spec=spec) as ex:
        assert ex.map(_job, [(log, i) for i in range(12)]) == [i * i for i in range(12)]
        lines = [line.split() for line in Path(log).read_text().splitlines()]
        for pid in {p for _, p in lines}:
            mine = [what for what, p in lines if p == pid]
            assert mine[0] == "init" and mine.count("init") == 1, mine
        assert sum(what == "job" for what, _ in lines) == 12
        with pytest.raises(UserError, match=r"^job -1 failed$"):
            ex.map(_job, [(log, 1), (log, -1)])
        with pytest.raises(ValueError, match=r"^job -2 failed\n") as err:
            ex.map(_job, [(log, -2)])
        assert "traceback there" in err.value.__notes__[0] and "_job" in err.value.__notes__[0]


def _hold(flags: str) -> None:
    """Initializer of each Ray worker: say which node it runs on, then wait for the go."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    Path(flags, f"started-{node}-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not Path(flags, "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never said go")
        time.sleep(0.05)


def test_removing_a_node_mid_sweep_loses_nothing(
    setup: dict[str, object], cluster: object, tmp_path: Path
) -> None:
    from lmforecast.executors.ray import RayExecutor

    c, worker = cluster  # type: ignore[misc]
    flags = tmp_path / "flags"
    flags.mkdir()
    executor = RayExecutor(
        c.address, initializer=_hold, initargs=(str(flags),), unschedulable_timeout_s=30
    )
    model = setup["models"][1]  # type: ignore[index]
    outcome: dict[str, object] = {}

    def sweep() -> None:
        try:
            outcome["run"] = api.score(
                model, setup["task"], config=CONFIG, store_dir=tmp_path / "s", executor=executor
            )
        except BaseException as e:  # surfaced by the assertion below
            outcome["error"] = e

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.monotonic() + 60
    while not list(flags.glob(f"started-{worker.node_id}-*")):
        assert time.monotonic() < deadline, "no unit started on the worker node"
        time.sleep(0.05)
    c.remove_node(worker)  # a unit is running there, held before it could write its shard
    (flags / "go").touch()
    thread.join(timeout=180)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    run = outcome["run"]
    assert run.scored.computed_units == run.scored.total_units == 8  # type: ignore[attr-defined]
    stored = _stored(tmp_path / "s")
    assert len(stored) == 1
    key = next(iter(stored))
    assert stored[key].equals(setup["reference"][key])  # type: ignore[index]
    shutil.rmtree(flags)
