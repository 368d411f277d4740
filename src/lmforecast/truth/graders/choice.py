"""Multiple choice: the log-likelihood argmax rules, and a grader for a predicted choice."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc
from lmforecast.truth.graders.base import GradeResult, register_grader


@dataclass(frozen=True)
class ChoiceGrade:
    """Argmax of the choice log-likelihoods, raw, per character and per byte (lm-eval/OLMES)."""

    pred: int
    pred_norm: int
    pred_bytes: int
    acc: bool
    acc_norm: bool
    acc_bytes: bool


def _argmax(values: Sequence[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i  # first maximum wins ties, as numpy.argmax
    return best


def grade_choice(
    loglikelihoods: Sequence[float],
    lengths_chars: Sequence[int],
    lengths_bytes: Sequence[int],
    label: int,
) -> ChoiceGrade:
    """Grade one multiple-choice doc from its per-choice continuation log-likelihoods.

    ``acc`` takes the raw argmax, ``acc_norm`` divides by the continuation's length in
    characters (lm-eval ``acc_norm``), ``acc_bytes`` by its UTF-8 length (OLMES per-byte).

    >>> g = grade_choice([-4.0, -6.0], [2, 10], [2, 10], label=1)
    >>> (g.acc, g.acc_norm, g.acc_bytes)
    (False, True, True)
    """
    n = len(loglikelihoods)
    if n == 0 or len(lengths_chars) != n or len(lengths_bytes) != n:
        raise ValueError("one log-likelihood and one length of each kind per choice, at least one")
    if not 0 <= label < n:
        raise ValueError(f"label {label} out of range for {n} choices")
    if min(lengths_chars) <= 0 or min(lengths_bytes) <= 0:
        raise ValueError("choice lengths must be positive")
    if any(math.isnan(x) for x in loglikelihoods):
        raise ValueError("log-likelihoods contain NaN")
    pred = _argmax(loglikelihoods)
    pred_norm = _argmax([ll / c for ll, c in zip(loglikelihoods, lengths_chars, strict=True)])
    pred_bytes = _argmax([ll / b for ll, b in zip(loglikelihoods, lengths_bytes, strict=True)])
    return ChoiceGrade(
        pred, pred_norm, pred_bytes, pred == label, pred_norm == label, pred_bytes == label
    )


@register_grader("multiple_choice")
def grade_multiple_choice(doc: Doc, completion: str) -> GradeResult:
    """``completion`` is the predicted choice: its index, its letter (A, B, ...) or its text."""
    if doc.label is None:
        raise UserError(f"doc {doc.doc_id}: multiple-choice grading needs a label")
    text = completion.strip()
    pred: int | None = None
    if re.fullmatch(r"\d+", text):
        pred = int(text)
    elif re.fullmatch(r"[A-Za-z]", text):
        pred = ord(text.upper()) - ord("A")
    elif text in doc.choices:
        pred = doc.choices.index(text)
    elif completion in doc.choices:
        pred = doc.choices.index(completion)
    return GradeResult(pred == doc.label, None if pred is None else str(pred))
