"""What a sweep will cost: FLOPs, device-hours and wall time of each signal and of the direct
evaluation it replaces, before running it.

A sweep is model sizes x checkpoints per model x tasks. Each signal family is one kind of pass
over each (checkpoint, task), and so is the direct evaluation:

- ``patel``: one scoring pass over the task's requests (gold solutions, or the choices);
- ``rbridge``: one scoring pass over one frontier trace per problem (a trace is taken to be as
  long as the gold solution when nothing is measured);
- ``rude``: one scoring pass over one pair (two responses) per problem, for tasks with a rubric;
- ``probes``: one forward pass over each problem's prompt; the probe itself (a linear read-out)
  costs nothing next to it;
- ``direct``: generate ``samples`` answers per problem and grade them; for a multiple-choice
  task it is scoring the choices, the same pass as ``patel`` (a ratio of 1: no saving).

FLOPs come from one of two places, and every figure says which. **Measured**: a stored entry of
this family on this task gives FLOPs per work unit (request or sample) per parameter, which
holds tokenisation, prefix sharing and attention as they really were; it is scaled by the
target's parameters (``extrapolated from <size>`` unless the size is the one measured). Otherwise
**estimated** from the task's text: ``2 * params * tokens`` with tokens = bytes / bytes-per-token.
Time is FLOPs over a throughput: a declared device (peak x MFU, stated), or the FLOP/s measured in
the store at the measured size (``extrapolated`` when applied to another size: small models run
far below a machine's peak, so this overstates a large model's time on the same machine), or an
assumed default when the store holds nothing (labelled ``assumed``).

>>> parse_size("1.5b"), parse_size("135M"), parse_size("340k"), parse_size("1200")
(1500000000.0, 135000000.0, 340000.0, 1200.0)
>>> format_size(1.5e9), format_size(1.35e8), format_size(227904)
('1.5B', '135M', '228K')
>>> p = TaskProfile("t:gold", docs=10, requests=10, context_tokens=1000.0,
...                 continuation_tokens=500.0, solution_tokens=500.0, generation_tokens=60.0,
...                 generative=True, rubric=True)
>>> workload("patel", p, samples=4)
Workload(units=10.0, tokens=1500.0, kind='scoring')
>>> workload("direct", p, samples=4)  # 4 x (1,000 prompt + 10 x 60 generated) tokens
Workload(units=40.0, tokens=6400.0, kind='generation')
>>> workload("rude", p, samples=4)  # two responses per problem, each after its prompt
Workload(units=20.0, tokens=3000.0, kind='scoring')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lmforecast.core.errors import UserError

SIGNAL_FAMILIES = ("patel", "rbridge", "rude", "probes")
DIRECT = "direct"
FAMILIES = (*SIGNAL_FAMILIES, DIRECT)
Kind = Literal["scoring", "generation"]

SAME_SIZE = 0.02  # a target within 2% of the measured size counts as that size
SIZE_EXAMPLE = "expected e.g. 135m, 1.5b, 7b (or a plain number of parameters)"
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_size(text: str, option: str = "--models") -> float:
    """A parameter count from ``135m``, ``1.5b``, ``7B`` or ``1200``; a one-line error else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKmMbBtT]?)\s*", text)
    value = float(m.group(1)) * _SUFFIX[m.group(2).lower()] if m else 0.0
    if not m or value < 1:
        raise UserError(f"{option} {text!r}: {SIZE_EXAMPLE}")
    return value


def format_size(params: float) -> str:
    """``1.5B``, ``135M``, ``228K``: three significant figures at most."""
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if params >= scale:
            return f"{params / scale:.3g}{suffix}"
    return f"{params:.3g}"


@dataclass(frozen=True)
class Device:
    """A declared accelerator: dense bf16 peak FLOP/s and the model FLOP utilisation assumed for
    scoring (compute-bound prefill) and for sampling (memory-bound decoding)."""

    name: str
    peak: float
    mfu_scoring: float = 0.40
    mfu_generation: float = 0.10

    def rate(self, kind: Kind) -> float:
        return self.peak * (self.mfu_scoring if kind == "scoring" else self.mfu_generation)

    def describe(self) -> str:
        peak = (
            f"{self.peak / 1e12:.0f} TFLOP/s"
            if self.peak >= 1e12
            else f"{self.peak / 1e9:.0f} GFLOP/s"
        )
        return (
            f"{self.name}: {peak} peak x MFU {self.mfu_scoring:.2f} scoring, "
            f"{self.mfu_generation:.2f} generation (declared)"
        )


# Dense bf16 tensor-core peaks from the vendors' data sheets (without sparsity).
DEVICES = {
    "h100": Device("h100", 989e12),
    "h200": Device("h200", 989e12),
    "a100": Device("a100", 312e12),
    "l40s": Device("l40s", 362e12),
    "l4": Device("l4", 121e12),
}
# With an empty store and no device: lm-eval's loglikelihood on SmolLM2-135M ran at about
# 90 GFLOP/s on this project's 2-core CPU (DESIGN.md); decoding is taken at a quarter of that
# (the testbed's stored generation runs ran at 0.2-0.4x its scoring FLOP/s).
ASSUMED_CPU = Device("cpu", 90e9, 1.0, 0.25)


@dataclass(frozen=True)
class TaskProfile:
    """A task's size in tokens, summed over its problems (one checkpoint, one pass)."""

    name: str
    docs: int
    requests: int
    context_tokens: float  # each problem's prompt once (choices share it)
    continuation_tokens: float  # over all requests
    solution_tokens: float  # gold solutions over all problems (0: the task has none)
    generation_tokens: float  # expected tokens generated per sample
    generative: bool  # the direct evaluation samples answers (else it scores choices)
    rubric: bool  # RuDE has a rubric for this task
    gradable: bool = True  # False: no grader, so no direct evaluation to compare with


@dataclass(frozen=True)
class Workload:
    """One pass of one family over one task at one checkpoint: work units and tokens."""

    units: float  # requests scored, or samples generated
    tokens: float
    kind: Kind


def workload(family: str, p: TaskProfile, samples: int) -> Workload | None:
    """The pass ``family`` makes over ``p`` (None: the family does not apply to this task)."""
    if family == DIRECT and not p.gradable:
        return None
    if family == "patel" or (family == DIRECT and not p.generative):
        return Workload(float(p.requests), p.context_tokens + p.continuation_tokens, "scoring")
    if family == DIRECT:
        tokens = samples * (p.context_tokens + p.docs * p.generation_tokens)
        return Workload(float(p.docs * samples), tokens, "generation")
    if family == "probes":
        return Workload(float(p.docs), p.context_tokens, "scoring")
    if not (p.generative and p.solution_tokens > 0):
        return None  # rBridge and RuDE judge reasoning written out; a choice task has none
    if family == "rbridge":
        return Workload(float(p.docs), p.context_tokens + p.solution_tokens, "scoring")
    if family == "rude" and p.rubric:
        return Workload(2.0 * p.docs, 2.0 * (p.context_tokens + p.solution_tokens), "scoring")
    return None


@dataclass(frozen=True)
class Measurement:
    """Stored entries of one family on one task at one model size, summed."""

    family: str
    task: str
    model: str
    params: float
    units: float
    flops: float
    seconds: float
    kind: Kind
    bytes_per_token: float = math.nan  # of the scored continuations, as that model tokenised

    @property
    def flops_per_unit_param(self) -> float:
        return self.flops / (self.units * self.params)

    @property
    def flops_per_second(self) -> float:
        return self.flops / self.seconds if self.seconds > 0 else math.nan


@dataclass(frozen=True)
class PlanRow:
    """One family on one task for every checkpoint of one model size."""

    signal: str
    task: str
    params: float
    checkpoints: int
    flops: float  # all checkpoints
    seconds: float  # device-seconds, all checkpoints
    unit_seconds: float  # one checkpoint: the smallest piece of work a worker runs
    flops_from: str
    time_from: str


def _same_size(params: float, measured: Measurement) -> bool:
    return abs(params / measured.params - 1.0) <= SAME_SIZE


def _flops_from(params: float, m: Measurement, by_tokens: bool) -> str:
    if _same_size(params, m) and not by_tokens:
        return f"measured ({m.task})"
    how = f"{m.task}, {m.family} x text tokens" if by_tokens else m.task
    return f"extrapolated from {format_size(m.params)} ({how})"


def _time_from(params: float, m: Measurement) -> str:
    if _same_size(params, m):
        return f"measured at {format_size(m.params)} ({m.task})"
    return f"extrapolated from {format_size(m.params)} ({m.task})"


def short_source(labels: str) -> str:
    """``labels`` ("; "-joined) without the task each names, duplicates dropped.

    >>> short_source("measured (a:gold); extrapolated from 1M (b:rc); extrapolated from 1M (a)")
    'measured; extrapolated from 1M'
    """
    parts = [re.sub(r"\s*\(.*\)$", "", x) for x in labels.split("; ")]
    return "; ".join(dict.fromkeys(parts))


def plan_row(
    family: str,
    profile: TaskProfile,
    params: float,
    checkpoints: int,
    samples: int,
    measured: Measurement | None,
    rate: float | None,
    rate_from: Measurement | Device,
) -> PlanRow | None:
    """Cost of ``family`` on ``profile`` for ``checkpoints`` checkpoints of a ``params`` model.

    ``measured``: a stored cost on this task, this family's (scaled by work units) or another
    family's (scaled by the ratio of the two passes' text tokens, so tokenisation and prefix
    sharing as measured carry over); None: estimate from the text. ``rate``: a declared FLOP/s
    (None: ``rate_from``'s, measured or assumed).

    >>> p = TaskProfile("t", 2, 2, 100.0, 50.0, 50.0, 10.0, True, True)
    >>> m = Measurement("patel", "t", "m", 1e6, units=4, flops=1.6e9, seconds=2.0, kind="scoring")
    >>> r = plan_row("patel", p, 1e6, 3, 1, m, None, m)  # 4e2 FLOPs/unit/param, 2 units, 3 ckpts
    >>> r.flops, r.seconds, r.flops_from, r.time_from
    (2400000000.0, 3.0, 'measured (t)', 'measured at 1M (t)')
    >>> r = plan_row("patel", p, 1e9, 1, 1, None, 1e12, ASSUMED_CPU)  # 2 x 1e9 x 150 tokens
    >>> r.flops, r.seconds, r.flops_from
    (300000000000.0, 0.3, 'estimated (text)')
    >>> r = plan_row("probes", p, 1e6, 1, 1, m, None, m)  # patel's 800 FLOPs x 100/150 tokens
    >>> r.flops, r.flops_from
    (533333333.3333333, 'extrapolated from 1M (t, patel x text tokens)')
    """
    work = workload(family, profile, samples)
    if work is None:
        return None
    basis = None if measured is None else workload(measured.family, profile, samples)
    if measured is not None and basis is not None:
        per_unit = measured.flops_per_unit_param * params
        if measured.family == family:
            per_ckpt = per_unit * work.units
        else:
            per_ckpt = per_unit * basis.units * work.tokens / basis.tokens
        flops_from = _flops_from(params, measured, measured.family != family)
    else:
        per_ckpt = 2.0 * params * work.tokens
        flops_from = "estimated (text)"
    if rate is not None:
        time_from = "declared"
    elif isinstance(rate_from, Device):
        rate, time_from = rate_from.rate(work.kind), "assumed"
    else:
        rate, time_from = rate_from.flops_per_second, _time_from(params, rate_from)
    unit_seconds = per_ckpt / rate
    return PlanRow(
        family,
        profile.name,
        params,
        checkpoints,
        per_ckpt * checkpoints,
        unit_seconds * checkpoints,
        unit_seconds,
        flops_from,
        time_from,
    )


@dataclass(frozen=True)
class SignalCost:
    """One family at one model size (``params`` NaN: all sizes of the sweep), and its ratio to
    the direct evaluation of the same (model size, task) pairs."""

    model: str  # format_size(params), or "all"
    signal: str
    params: float
    flops: float
    device_hours: float
    wall_hours: float
    flops_ratio: float  # signal / direct, over the tasks the signal covers
    time_ratio: float
    flops_from: str
    time_from: str
    tasks: int


def wall_seconds(unit_seconds: Sequence[float], counts: Sequence[int], workers: int) -> float:
    """Wall time of independent units on ``workers`` equal workers: the total spread evenly,
    but never less than the longest unit (a unit runs on one worker).

    >>> wall_seconds([10.0, 1.0], [2, 4], workers=4)  # 24 s of work, longest unit 10 s
    10.0
    >>> wall_seconds([10.0, 1.0], [2, 4], workers=2)
    12.0
    """
    if workers < 1:
        raise UserError(f"--workers {workers}: expected at least 1")
    total = sum(s * c for s, c in zip(unit_seconds, counts, strict=True))
    return max(total / workers, max(unit_seconds, default=0.0))


def summarise(rows: Sequence[PlanRow], workers: int) -> list[SignalCost]:
    """One :class:`SignalCost` per model size and family in ``rows`` (sizes ascending,
    families in :data:`FAMILIES` order), then one per family over all sizes when there are
    several.

    >>> p = TaskProfile("t", 1, 1, 100.0, 50.0, 50.0, 50.0, True, False)
    >>> rows = [plan_row(f, p, 1e6, 2, 4, None, 1e9, ASSUMED_CPU) for f in ("patel", DIRECT)]
    >>> [(c.signal, c.flops, c.wall_hours * 3600, c.flops_ratio) for c in summarise(rows, 1)]
    [('patel', 600000000.0, 0.6, 0.25), ('direct', 2400000000.0, 2.4, 1.0)]
    """
    direct = {(r.task, r.params): r for r in rows if r.signal == DIRECT}
    sizes = sorted({r.params for r in rows})
    groups = [(format_size(n), [r for r in rows if r.params == n]) for n in sizes]
    if len(sizes) > 1:
        groups.append(("all", list(rows)))
    out = []
    for model, group in groups:
        for family in FAMILIES:
            mine = [r for r in group if r.signal == family]
            if mine:
                out.append(_cost(model, family, mine, direct, workers))
    return out


def _cost(
    model: str,
    family: str,
    mine: Sequence[PlanRow],
    direct: dict[tuple[str, float], PlanRow],
    workers: int,
) -> SignalCost:
    flops = sum(r.flops for r in mine)
    seconds = sum(r.seconds for r in mine)
    base = [direct[(r.task, r.params)] for r in mine if (r.task, r.params) in direct]
    d_flops, d_seconds = sum(r.flops for r in base), sum(r.seconds for r in base)
    wall = wall_seconds([r.unit_seconds for r in mine], [r.checkpoints for r in mine], workers)
    sizes = {r.params for r in mine}
    return SignalCost(
        model,
        family,
        sizes.pop() if len(sizes) == 1 else math.nan,
        flops,
        seconds / 3600.0,
        wall / 3600.0,
        flops / d_flops if d_flops else math.nan,
        seconds / d_seconds if d_seconds else math.nan,
        short_source("; ".join(r.flops_from for r in mine)),
        short_source("; ".join(r.time_from for r in mine)),
        len({r.task for r in mine}),
    )
