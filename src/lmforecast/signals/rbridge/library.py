"""Where made traces live, so ``--traces auto`` and ``lmforecast traces list`` find them.

Layout under ``data_home()/traces/``::

    <task>/<key>.jsonl    the traces (the user format of :mod:`.traces`)
    <task>/<key>.json     what made them: frontier name and fingerprint, task, counts, cost
    index.json            task -> the key of the traces made last for it (what ``auto`` reads)

``key`` hashes the frontier's fingerprint, the task, its doc ids and the generation settings
(the decoder's ``RNG_VERSION`` among them: retries are sampled), so making the same traces
twice reads them back, and a different frontier never overwrites.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.paths import data_home
from lmforecast.core.records import Task
from lmforecast.engine.generate import RNG_VERSION
from lmforecast.models.base import LoadedModel
from lmforecast.signals.rbridge.make import (
    RETRY_TEMPERATURE,
    AnswerReader,
    TraceBatch,
    make_traces,
)
from lmforecast.signals.rbridge.traces import Trace, read_traces, write_traces


@dataclass(frozen=True)
class TraceSet:
    """Stored traces of one task by one frontier, and how they were made."""

    task: str
    frontier: str
    frontier_fingerprint: str
    key: str
    path: str
    traces: int
    dropped: int
    retried: int
    generated_tokens: int
    seconds: float
    dropped_doc_ids: tuple[str, ...] = ()


def traces_root() -> Path:
    return data_home() / "traces"


def _task_dir(task: str) -> Path:
    return traces_root() / task.replace("/", "_").replace(":", "_")


def trace_key(frontier_fingerprint: str, task: str, doc_ids: list[str], settings: Any) -> str:
    """The identity of a trace set (see the module docstring)."""
    return hash_json(
        {"frontier": frontier_fingerprint, "task": task, "docs": doc_ids, "settings": settings}
    )


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _index() -> dict[str, str]:
    path = traces_root() / "index.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def save_traces(batch: TraceBatch, frontier_fingerprint: str, key: str) -> TraceSet:
    """Store a batch of traces and make it the task's ``auto`` traces."""
    folder = _task_dir(batch.task)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.jsonl"
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    write_traces(batch.traces, tmp)
    os.replace(tmp, path)
    info = TraceSet(
        task=batch.task,
        frontier=batch.frontier,
        frontier_fingerprint=frontier_fingerprint,
        key=key,
        path=str(path),
        traces=len(batch.traces),
        dropped=len(batch.dropped),
        retried=batch.retried,
        generated_tokens=batch.generated_tokens,
        seconds=round(batch.seconds, 3),
        dropped_doc_ids=batch.dropped,
    )
    _write_json(folder / f"{key}.json", asdict(info))
    index = _index()
    index[batch.task] = key
    _write_json(traces_root() / "index.json", index)
    return info


def stored_traces(task: str, key: str) -> TraceSet | None:
    """The stored trace set of ``key`` for ``task``, or ``None`` if it was never made."""
    meta = _task_dir(task) / f"{key}.json"
    if not meta.is_file() or not (_task_dir(task) / f"{key}.jsonl").is_file():
        return None
    data = json.loads(meta.read_text())
    data["dropped_doc_ids"] = tuple(data.get("dropped_doc_ids", ()))
    return TraceSet(**data)


def auto_traces(task: str) -> tuple[TraceSet, list[Trace]]:
    """The traces last made for ``task`` (what ``--traces auto`` means)."""
    key = _index().get(task)
    found = stored_traces(task, key) if key else None
    if found is None:
        raise UserError(
            f"no traces made for task {task} under {traces_root()}; make them with "
            f"`lmforecast traces make --frontier MODEL --task {task}` or pass --traces FILE"
        )
    return found, read_traces(found.path)


def list_traces() -> list[tuple[TraceSet, bool]]:
    """Every stored trace set by task, each with whether ``auto`` uses it (listed first)."""
    root = traces_root()
    if not root.is_dir():
        return []
    index = _index()
    out: list[tuple[TraceSet, bool]] = []
    for meta in sorted(root.glob("*/*.json")):
        data = json.loads(meta.read_text())
        data["dropped_doc_ids"] = tuple(data.get("dropped_doc_ids", ()))
        found = TraceSet(**data)
        out.append((found, index.get(found.task) == found.key))
    return sorted(out, key=lambda t: (t[0].task, not t[1], t[0].key))


def ensure_traces(
    model: LoadedModel,
    task: Task,
    *,
    batch_size: int = 16,
    seed: int = 0,
    max_tokens: int | None = None,
    answer_of: AnswerReader | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TraceSet, list[Trace]]:
    """The frontier ``model``'s traces for ``task``: read back if made before with the same
    frontier, docs and settings, else made now and stored. Either way they become the task's
    ``auto`` traces."""
    # Retries sample (RETRY_TEMPERATURE): the decoder's random-number scheme is part of what
    # made them, as it is of sampled ground truth (truth/run.py).
    settings = {
        "seed": seed,
        "max_tokens": max_tokens,
        "retry": RETRY_TEMPERATURE,
        "rng": RNG_VERSION,
        "v": 1,
    }
    key = trace_key(model.fingerprint, task.name, [d.doc_id for d in task.docs], settings)
    found = stored_traces(task.name, key)
    if found is not None:
        index = _index()
        index[task.name] = key
        _write_json(traces_root() / "index.json", index)
        return found, read_traces(found.path)
    batch = make_traces(
        model,
        task,
        batch_size=batch_size,
        seed=seed,
        max_tokens=max_tokens,
        answer_of=answer_of,
        progress=progress,
    )
    return save_traces(batch, model.fingerprint, key), list(batch.traces)
