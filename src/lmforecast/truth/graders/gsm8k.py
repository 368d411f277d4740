"""GSM8K: the final number of a completion against the gold answer's."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc
from lmforecast.truth.graders.base import GradeResult, register_grader

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?"


def parse_number(text: str) -> Decimal | None:
    """A number written the GSM8K way: commas, ``$`` and a trailing period ignored.

    >>> parse_number("$1,234.50")
    Decimal('1234.50')
    >>> parse_number("eighteen") is None
    True
    """
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "").strip().rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def extract_gsm8k(text: str) -> str | None:
    """The final answer: ``#### N``, else the last "the answer is N", else the last number.

    >>> extract_gsm8k("She has 23 - 15 = 8 dollars. So the answer is 8.")
    '8'
    >>> extract_gsm8k("Total: 1,200 apples\\n#### 1,200")
    '1,200'
    """
    for pattern in (rf"####\s*({_NUMBER})", rf"answer is[:\s]*({_NUMBER})"):
        found = re.findall(pattern, text, flags=re.IGNORECASE)
        if found:
            return str(found[-1]).strip()
    numbers = re.findall(_NUMBER, text)
    return str(numbers[-1]).strip() if numbers else None


def _gsm8k_gold(doc: Doc) -> str:
    if doc.answer is not None:
        return doc.answer
    raw = doc.extra.get("answer")
    if isinstance(raw, str) and "####" in raw:
        return raw.split("####")[-1].strip()
    raise UserError(f"doc {doc.doc_id}: no gold answer to grade against (field 'answer')")


@register_grader("gsm8k")
def grade_gsm8k(doc: Doc, completion: str) -> GradeResult:
    """Numeric equality of the final number with the gold answer."""
    extracted = extract_gsm8k(completion)
    gold = parse_number(_gsm8k_gold(doc))
    value = parse_number(extracted) if extracted is not None else None
    correct = value is not None and gold is not None and value == gold
    return GradeResult(correct, extracted)
