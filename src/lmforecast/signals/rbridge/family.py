"""The rBridge signals, registered through the Signal contract (family ``rbridge``).

They read the stored ``tok_logprob`` and ``tok_weight`` columns of a task scored with traces
(``lmforecast score --traces FILE``: the weights rode with the requests through the engine's one
pass), so they need no forward pass of their own; ``Needs(token_weights=True)`` says so, and
experiments that compute signals from token statistics alone (Patel's) leave them out. Every
token of a trace counts (Patel's ``last_n_tokens`` window does not apply: the paper weighs the
whole trace). Lower is better for all three.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lmforecast.core.errors import UserError
from lmforecast.signals.base import FloatArray, Needs, Signal, TaskScores, register_signal
from lmforecast.signals.rbridge.weights import MinMaxScope, plain_nll_scores, rbridge_scores

FAMILY = "rbridge"
WEIGHT_COLUMN = "tok_weight"


def token_columns(scores: TaskScores) -> tuple[list[FloatArray], list[FloatArray]]:
    """(proxy log-probs, raw token weights) per request; a one-line error if unweighted."""
    table = scores.table
    if WEIGHT_COLUMN not in table.column_names:
        raise UserError(
            "rBridge signals need per-token weights: score the task with its frontier traces "
            "(`lmforecast score --traces FILE`)"
        )
    weights = table.column(WEIGHT_COLUMN).to_pylist()
    missing = [i for i, w in enumerate(weights) if w is None]
    if missing:
        raise UserError(
            f"rBridge signals need a weight for every request; {len(missing)} have none "
            f"(first: request {missing[0]})"
        )
    logprobs = table.column("tok_logprob").to_pylist()
    return (
        [np.asarray(lp, dtype=np.float64) for lp in logprobs],
        [np.asarray(w, dtype=np.float64) for w in weights],
    )


def _shared_columns(scores: TaskScores) -> tuple[list[FloatArray], list[FloatArray]]:
    return scores.shared("rbridge.columns", token_columns)


def _rbridge(scope: MinMaxScope) -> Callable[[TaskScores], FloatArray]:
    def per_request(scores: TaskScores) -> FloatArray:
        logprobs, weights = _shared_columns(scores)
        return rbridge_scores(logprobs, weights, scope)

    return per_request


def _plain(scores: TaskScores) -> FloatArray:
    logprobs, weights = _shared_columns(scores)
    return plain_nll_scores(logprobs, weights)


NEEDS = Needs(token_weights=True)
SIGNAL_NAMES = ("rbridge", "rbridge@task", "rbridge_plain_nll")

register_signal(
    Signal(
        "rbridge",
        FAMILY,
        False,
        _rbridge("trace"),
        NEEDS,
        "frontier-confidence-weighted NLL of reasoning traces, MinMax per trace (Koh et al.)",
    )
)
register_signal(
    Signal(
        "rbridge@task",
        FAMILY,
        False,
        _rbridge("task"),
        NEEDS,
        "rbridge with MinMax over every token of the task (the draft's variant)",
    )
)
register_signal(
    Signal(
        "rbridge_plain_nll",
        FAMILY,
        False,
        _plain,
        NEEDS,
        "mean -log p over the same trace tokens, unweighted (rBridge's ablation)",
    )
)
