"""Exact match after normalisation (case, whitespace, surrounding punctuation)."""

from __future__ import annotations

import re

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc
from lmforecast.truth.graders.base import GradeResult, register_grader


def normalize_text(text: str) -> str:
    """Lower case, collapsed whitespace, no surrounding punctuation.

    >>> normalize_text("  The  Answer. ")
    'the answer'
    """
    return re.sub(r"\s+", " ", text).strip().strip(".,;:!?\"'").strip().lower()


@register_grader("exact")
def grade_exact(doc: Doc, completion: str) -> GradeResult:
    if doc.answer is None:
        raise UserError(f"doc {doc.doc_id}: exact-match grading needs an answer")
    extracted = normalize_text(completion)
    return GradeResult(extracted == normalize_text(doc.answer), extracted)
