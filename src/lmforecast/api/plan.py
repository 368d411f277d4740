"""``api.plan``: what a sweep will cost, from the costs measured in the store.

The cost model is :mod:`lmforecast.forecast.planning` (pure arithmetic). This module gathers
its inputs: each task's size in tokens from the task registry, and the measured cost of each
signal family on each task from the store's scoring and ground-truth entries, with the
parameter count of the model each entry was measured on (stored meta, else the testbed
manifest, else loading the model once).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from lmforecast.api.plan_measured import StoreIndex, rubric_tasks
from lmforecast.core.errors import UserError
from lmforecast.forecast.planning import (
    ASSUMED_CPU,
    DEVICES,
    DIRECT,
    SIGNAL_FAMILIES,
    Device,
    Kind,
    Measurement,
    PlanRow,
    TaskProfile,
    format_size,
    parse_size,
    plan_row,
    summarise,
    workload,
)
from lmforecast.store import Store
from lmforecast.tasks import Task, get_task

BYTES_PER_TOKEN = 4.0  # English text under a 32k-150k BPE vocabulary, when nothing is measured


@dataclass(frozen=True)
class Plan:
    """A sweep's cost: ``summary`` (one row per signal and the direct evaluation), ``rows`` (per
    signal, model size and task), ``measurements`` (the stored costs used) and ``notes``."""

    summary: pd.DataFrame = field(repr=False)
    rows: pd.DataFrame = field(repr=False)
    measurements: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...]
    workers: int
    device: str


def plan(
    models: Sequence[str | float],
    tasks: Sequence[str],
    signals: Sequence[str] = SIGNAL_FAMILIES,
    *,
    checkpoints: int = 1,
    samples: int = 1,
    gpu: str | None = None,
    flops_per_second: float | None = None,
    workers: int = 1,
    bytes_per_token: float | None = None,
    require_measured: bool = False,
    store_dir: Path | None = None,
) -> Plan:
    """The cost of scoring ``signals`` (and of the direct evaluation, ``samples`` answers per
    problem) on ``tasks`` for ``checkpoints`` checkpoints of each model size (``7b``, ``1.5e9``).

    Time comes from ``gpu`` (a name in :data:`forecast.planning.DEVICES`) or
    ``flops_per_second`` if given, else from the FLOP/s measured in the store, else from an
    assumed CPU rate (an error instead with ``require_measured``). Wall time spreads the work
    over ``workers`` devices, one (checkpoint, task) unit at a time each.
    """
    sizes = [s if isinstance(s, float | int) else parse_size(s) for s in models]
    _check(sizes, tasks, signals, checkpoints, samples, workers, bytes_per_token)
    device = _device(gpu, flops_per_second)
    index = StoreIndex(Store(store_dir))
    families = [*dict.fromkeys(signals), DIRECT]
    profiles: dict[str, TaskProfile] = {}
    measured: dict[tuple[str, str], Measurement | None] = {}
    notes: list[str] = []
    for t in dict.fromkeys(tasks):
        profile, calibration, note = _calibrated_profile(index, t, bytes_per_token)
        profiles[t] = profile
        notes.append(note)
        for f in families:
            own = index.measure(f, profile)
            # rBridge and RuDE score text after the same prompts as Patel's pass: without a
            # measurement of their own, Patel's on this task carries over, scaled by tokens.
            measured[(f, t)] = own or (calibration if f in ("rbridge", "rude") else None)
    rates = _rates(measured.values())
    rows = []
    for f in families:
        for t, profile in profiles.items():
            work = workload(f, profile, samples)
            if work is None:
                notes.append(f"{f}: does not apply to {t} ({_why_not(f, profile)})")
                continue
            need = require_measured and device is None
            rate_from = _rate_from(measured[(f, t)], rates, work.kind, need, t)
            rate = None if device is None else device.rate(work.kind)
            m = measured[(f, t)]
            rows += [
                plan_row(f, profile, n, checkpoints, samples, m, rate, rate_from) for n in sizes
            ]
    return _result(rows, measured, notes, workers, device)


def _calibrated_profile(
    index: StoreIndex, name: str, bytes_per_token: float | None
) -> tuple[TaskProfile, Measurement | None, str]:
    """The task's profile, its text turned into tokens at the given bytes/token, else at the
    rate measured by a stored scoring of the task, else at :data:`BYTES_PER_TOKEN`; with that
    scoring (None if none) and a note saying which."""
    task = get_task(name)  # an unknown name is a one-line error naming the close ones
    calibration = index.measure("patel", _profile(task, bytes_per_token or BYTES_PER_TOKEN))
    if bytes_per_token is not None:
        bpt, why = bytes_per_token, "given"
    elif calibration is not None and math.isfinite(calibration.bytes_per_token):
        bpt = calibration.bytes_per_token
        why = f"measured on {format_size(calibration.params)}"
    else:
        bpt, why = BYTES_PER_TOKEN, "assumed"
    profile = _profile(task, bpt)
    note = (
        f"{name}: {profile.docs:,} problems, {profile.requests:,} requests, "
        f"{profile.context_tokens / profile.docs:,.0f} prompt tokens each at {bpt:.3g} "
        f"bytes/token ({why})"
    )
    return profile, calibration, note


def _check(
    sizes: Sequence[float],
    tasks: Sequence[str],
    signals: Sequence[str],
    checkpoints: int,
    samples: int,
    workers: int,
    bytes_per_token: float | None,
) -> None:
    for value, option in ((checkpoints, "--checkpoints"), (samples, "--samples"),
                          (workers, "--workers")):  # fmt: skip
        if value < 1:
            raise UserError(f"{option} {value}: expected at least 1")
    if not sizes:
        raise UserError("--models: expected at least one size, e.g. 135m,1b,7b")
    if not tasks:
        raise UserError("--tasks: expected at least one task, e.g. gsm8k:gold,arc_easy:rc")
    bad = [s for s in signals if s not in SIGNAL_FAMILIES]
    if bad or not signals:
        raise UserError(
            f"--signals {','.join(bad) or '(none)'!r}: "
            f"expected some of {', '.join(SIGNAL_FAMILIES)}"
        )
    if bytes_per_token is not None and not (math.isfinite(bytes_per_token) and bytes_per_token > 0):
        raise UserError(f"--bytes-per-token {bytes_per_token}: expected a positive number")


def _device(gpu: str | None, flops_per_second: float | None) -> Device | None:
    if gpu is not None and flops_per_second is not None:
        raise UserError("--gpu and --flops-per-second: give one, not both")
    if flops_per_second is not None:
        if not (math.isfinite(flops_per_second) and flops_per_second > 0):
            raise UserError(f"--flops-per-second {flops_per_second}: expected a positive number")
        return Device(f"{flops_per_second:.3g} FLOP/s", flops_per_second, 1.0, 1.0)
    if gpu is None:
        return None
    if gpu.lower() not in DEVICES:
        raise UserError(f"--gpu {gpu!r}: expected one of {', '.join(DEVICES)}")
    return DEVICES[gpu.lower()]


def _profile(task: Task, bytes_per_token: float) -> TaskProfile:
    contexts: dict[str, str] = {}
    for r in task.requests:
        contexts.setdefault(r.doc_id, r.context)

    def tokens(texts: Iterable[str | None]) -> float:
        return sum(len((t or "").encode("utf-8")) for t in texts) / bytes_per_token

    solutions = tokens(d.solution for d in task.docs)
    generative = task.kind == "gold" and task.generation is not None
    per_sample = solutions / len(task.docs) if solutions else 0.0
    if generative and not per_sample:
        per_sample = float(task.generation.max_tokens if task.generation else 0)
    return TaskProfile(
        name=task.name,
        docs=len(task.docs),
        requests=len(task.requests),
        context_tokens=tokens(contexts.values()),
        continuation_tokens=tokens(r.continuation for r in task.requests),
        solution_tokens=solutions,
        generation_tokens=per_sample,
        generative=generative,
        rubric=task.name in rubric_tasks(),
        gradable=task.grader is not None,
    )


def _why_not(family: str, p: TaskProfile) -> str:
    if family == DIRECT:
        return "it has no grader: nothing to evaluate directly"
    if not p.generative or not p.solution_tokens:
        return "no written-out solutions to score"
    return "no RuDE rubric for this task"


def _rates(measured: Iterable[Measurement | None]) -> dict[str, Measurement]:
    """The machine's FLOP/s by kind of pass: the measurement at the largest model size."""
    out: dict[str, Measurement] = {}
    for m in measured:
        if m is not None and m.seconds > 0 and (m.kind not in out or m.params > out[m.kind].params):
            out[m.kind] = m
    return out


def _rate_from(
    own: Measurement | None,
    rates: dict[str, Measurement],
    kind: Kind,
    require_measured: bool,
    task: str,
) -> Measurement | Device:
    if own is not None and own.seconds > 0:
        return own
    if kind in rates:
        return rates[kind]
    if require_measured:
        how = (
            f"lmforecast score --model M --task {task} --limit 20"
            if kind == "scoring"
            else f"lmforecast truth --model M --task {task} --limit 10 --samples 4 "
            "--temperature 0.8"
        )
        raise UserError(
            f"--require-measured: the store holds no measured {kind} cost for {task}; measure "
            f"one with `{how}` (or drop --require-measured to use assumed rates)"
        )
    return ASSUMED_CPU


def _result(
    rows: list[PlanRow | None],
    measured: dict[tuple[str, str], Measurement | None],
    notes: list[str],
    workers: int,
    device: Device | None,
) -> Plan:
    kept = [r for r in rows if r is not None]
    summary = pd.DataFrame([asdict(s) for s in summarise(kept, workers)])
    detail = pd.DataFrame([asdict(r) for r in kept])
    if not detail.empty:
        detail.insert(2, "model", [format_size(p) for p in detail["params"]])
    used = list(dict.fromkeys(m for m in measured.values() if m is not None))
    table = pd.DataFrame(
        [
            {**asdict(m), "size": format_size(m.params), "flops_per_second": m.flops_per_second}
            for m in used
        ]
    )
    if any(r.flops_from.startswith("estimated") for r in kept):
        notes.append("estimated (text): 2 x params x the text's tokens (attention left out)")
    if any(r.time_from == "assumed" for r in kept):
        notes.append(f"assumed: {ASSUMED_CPU.describe().replace('(declared)', '(assumed)')}")
    for m in used:
        notes.append(
            f"measured: {m.family} on {m.task} at {format_size(m.params)} ({m.model}): "
            f"{m.units:,.0f} {'samples' if m.kind == 'generation' else 'requests'}, "
            f"{m.flops:.3g} FLOPs in {m.seconds:.3g} s = {m.flops_per_second / 1e9:.3g} GFLOP/s"
        )
    assumed = any(r.time_from == "assumed" for r in kept)
    name = "FLOP/s measured in the store" + (", else assumed" if assumed else "")
    name = name if device is None else device.describe()
    return Plan(summary, detail, table, tuple(notes), workers, name)
