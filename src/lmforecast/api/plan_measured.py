"""What a sweep's planner reads from the store: the measured cost of each signal family on each
task (:class:`StoreIndex`), with the parameter count of the model it was measured on.

The store's meta has no parameter count (scoring and ground truth predate the planner), so it
comes from the meta if a later version writes one, else from a built testbed population's
manifest, else from loading the model once (at most :data:`MAX_LOADS` per family and task).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lmforecast.api.base import load
from lmforecast.core.paths import data_home
from lmforecast.forecast.planning import DIRECT, Kind, Measurement, TaskProfile, workload
from lmforecast.signals import scored
from lmforecast.signals.rude.rubric import load_rubric, shipped_rubrics
from lmforecast.store import Store
from lmforecast.truth.run import KIND as TRUTH_KIND

MAX_ENTRIES = 4  # stored entries summed per (family, task): those of the largest model measured
MAX_LOADS = 2  # models loaded per (family, task) to learn a parameter count the store lacks


@functools.cache
def rubric_tasks() -> dict[str, str]:
    """Task name -> rubric domain, for the shipped RuDE rubrics."""
    rubrics = [load_rubric(n) for n in shipped_rubrics()]
    return {r.task: r.domain for r in rubrics}


def _stored_names(family: str, p: TaskProfile) -> tuple[str, str] | None:
    """(store kind, stored task name) holding ``family``'s measured cost on ``p``."""
    if family == "patel" or (family == DIRECT and not p.generative):
        return scored.KIND, p.name
    if family == DIRECT:
        return TRUTH_KIND, p.name
    if family == "rbridge":
        return scored.KIND, f"{p.name}+traces"
    if family == "rude" and p.name in rubric_tasks():
        return scored.KIND, f"rude-{rubric_tasks()[p.name]}:likelihood"
    return None  # probes: the prompt-feature cache records no cost; estimated from the text


class StoreIndex:
    """The store's entries by kind and stored task name, read once per plan."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_kind: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
        self._measured: dict[tuple[str, str, str], Measurement | None] = {}

    def entries(self, kind: str, task: str) -> list[tuple[str, dict[str, Any]]]:
        if kind not in self._by_kind:
            by_task: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for key, meta in self.store.entries(kind):
                by_task.setdefault(str(meta.get("task", "")), []).append((key, meta))
            self._by_kind[kind] = by_task
        return self._by_kind[kind].get(task, [])

    def measure(self, family: str, p: TaskProfile) -> Measurement | None:
        """The summed cost of up to :data:`MAX_ENTRIES` stored entries of ``family`` on ``p``,
        all of the largest model whose parameter count is known."""
        where = _stored_names(family, p)
        if where is None or workload(family, p, 1) is None:
            return None
        if (family, *where) not in self._measured:
            self._measured[(family, *where)] = self._measure(family, *where)
        return self._measured[(family, *where)]

    def _measure(self, family: str, kind: str, name: str) -> Measurement | None:
        sized: list[tuple[float, str, dict[str, Any]]] = []
        tried: set[str] = set()  # models loaded to learn their size (slow for a large one)
        for key, meta in self.entries(kind, name):
            model = str(meta.get("model", ""))
            params = _known_params(meta)
            if params is None and model and (model in tried or len(tried) < MAX_LOADS):
                tried.add(model)
                params = _loaded_params(model)
            if params:
                sized.append((params, key, meta))
        if not sized:
            return None
        top = max(s[0] for s in sized)
        largest = [s for s in sized if s[0] == top]
        # The runs over the most problems: a few-shot prefix shared by all problems is then
        # spread over as many of them as it can be (the full task spreads it further still).
        most = max(_problems(s[2]) for s in largest)
        chosen = sorted((s for s in largest if _problems(s[2]) == most), key=lambda s: s[1])
        chosen = chosen[:MAX_ENTRIES]
        totals = np.zeros(5)
        for _, key, _meta in chosen:
            table = self.store.read(kind, key)
            if table is not None and table.num_rows:
                totals += _costs(kind, table)
        units, flops, seconds, n_bytes, n_tokens = totals.tolist()
        if units <= 0 or flops <= 0:
            return None
        how: Kind = "generation" if kind == TRUTH_KIND else "scoring"
        bpt = n_bytes / n_tokens if n_tokens > 0 else math.nan
        model = str(chosen[0][2].get("model", "?"))
        return Measurement(family, name, model, top, units, flops, seconds, how, bpt)


def _problems(meta: dict[str, Any]) -> int:
    """How many requests (scoring) or problems (ground truth) a stored entry covers."""
    n = meta.get("num_requests", (meta.get("summary") or {}).get("num_problems", 0))
    return int(n) if isinstance(n, int | float) else 0


def _costs(kind: str, table: pa.Table) -> np.ndarray:
    """(work units, FLOPs, seconds, continuation bytes, continuation tokens) of one stored
    entry: units are requests scored, or samples actually generated (a greedy run's copies cost
    nothing and are not counted); bytes and tokens only for scoring (0 for generation)."""

    def total(column: str) -> float:
        return float(pc.sum(table.column(column)).as_py() or 0.0)

    if kind == TRUTH_KIND:
        real = float(pc.sum(pc.greater(table.column("cost_tokens"), 0)).as_py() or 0)
        return np.array([real, total("flops"), total("seconds"), 0.0, 0.0])
    return np.array(
        [
            float(table.num_rows),
            total("cost_flops"),
            total("cost_seconds"),
            total("num_bytes"),
            total("num_tokens"),
        ]
    )


def _known_params(meta: dict[str, Any]) -> float | None:
    """Parameters (those that cost FLOPs per token) of the model an entry was measured on, if
    its meta or a testbed manifest says."""
    for key in ("num_parameters", "params"):
        if isinstance(meta.get(key), int | float) and meta[key] > 0:
            return float(meta[key])
    return _testbed_params().get(str(meta.get("model", "")).rstrip("/"))


@functools.cache
def _loaded_params(model: str) -> float | None:
    """Parameters of a model loaded for the purpose (None: gone, moved or not loadable here;
    its entries are then left out)."""
    try:
        return float(load(model).num_parameters)
    except Exception:
        return None


@functools.cache
def _testbed_params() -> dict[str, float]:
    """Checkpoint directory -> parameters, from every built testbed population's manifest."""
    from lmforecast.testbed.manifest import read_manifest

    out: dict[str, float] = {}
    for path in sorted((data_home() / "testbed").glob("*/manifest.parquet")):
        table = read_manifest(path).select(["path", "params"]).to_pylist()
        out.update({str(r["path"]).rstrip("/"): float(r["params"]) for r in table})
    return out
