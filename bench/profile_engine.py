"""Where the scoring engine's time goes on ``gsm8k:gold`` (torch.profiler), by category.

Run as a worker by ``bench_engine.py`` (``--worker profile``) so the figures come from the same
model and requests as the throughput measurement. Categories: the body's matmuls (``linear``),
attention (SDPA and its GQA key/value repeat), the chunked output layer (everything inside
:func:`streamed_statistics`), KV-cache copies (``cat``/``index_select`` of cached keys and
values), other body kernels (norms, RoPE, activations, masks) and Python overhead (wall time
not spent inside any profiled operator).
"""

from __future__ import annotations

import time
from typing import Any

ATTENTION = ("scaled_dot_product_attention", "_scaled_dot_product", "repeat_kv")
# RoPE's rotate_half also concatenates; its share is small next to the cache's (rows x past).
CACHE = ("aten::cat", "aten::index_select", "aten::index")
MATMUL = ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear")


def _category(name: str) -> str:
    if any(a in name for a in ATTENTION):
        return "attention"
    if name in MATMUL:
        return "body matmuls"
    if name in CACHE:
        return "KV-cache copies"
    return "other body kernels"


def profile_breakdown(engine: Any, requests: list[Any]) -> dict[str, Any]:
    """Score ``requests`` under the profiler; seconds and share of wall time per category.

    Top-level operators only (an operator called inside another counts once, in its parent);
    the output layer is everything under the ``output_layer`` range.
    """
    import torch
    from torch.autograd.profiler import record_function

    import lmforecast.engine.scorer as scorer

    inner = scorer.streamed_statistics

    def labelled(*args: Any, **kwargs: Any) -> Any:
        with record_function("output_layer"):
            return inner(*args, **kwargs)

    scorer.streamed_statistics = labelled  # type: ignore[assignment]
    try:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            t = time.perf_counter()
            engine.score(requests)
            wall = time.perf_counter() - t
    finally:
        scorer.streamed_statistics = inner  # type: ignore[assignment]
    seconds: dict[str, float] = {}
    by_op: dict[str, float] = {}
    for event in _top_level(prof.events()):
        name = "output layer" if event.name == "output_layer" else _category(event.name)
        seconds[name] = seconds.get(name, 0.0) + event.cpu_time_total / 1e6
        if name == "other body kernels":
            by_op[event.name] = by_op.get(event.name, 0.0) + event.cpu_time_total / 1e6
    # The profiler's own bookkeeping inflates operator times a little; shares are of the sum.
    ops = sum(seconds.values())
    seconds["Python and framework overhead"] = max(0.0, wall - ops)
    total = sum(seconds.values())
    return {
        "wall_seconds_under_profiler": wall,
        "seconds": seconds,
        "share": {k: v / total for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])},
        "other_body_kernels_top": dict(sorted(by_op.items(), key=lambda kv: -kv[1])[:8]),
    }


def _top_level(events: Any) -> list[Any]:
    """Operator events not nested in another operator event."""
    return [event for event in events if event.cpu_parent is None]
