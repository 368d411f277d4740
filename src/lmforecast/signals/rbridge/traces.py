"""Reasoning traces users bring: a frontier model's text with its per-token log-probabilities.

rBridge weighs a proxy's NLL on a frontier model's reasoning trace by the frontier's own
confidence, so a trace must carry the frontier's tokens and their log-probabilities, aligned
exactly with its text. The format is the shape of the public rBridge release (one row per
frontier token), gathered into one JSON object per trace:

Format (JSON lines, UTF-8; one object per line; blank lines skipped)::

    {"doc_id": "17", "text": "3 + 4 = 7.", "tokens": [["3", -0.01], [" +", -0.2],
     [" 4", -0.05], [" =", -0.3], [" 7", -0.02], [".", -1.5]]}

- ``doc_id`` (string): the task document the trace answers; unique in the file.
- ``text`` (non-empty string): the reasoning trace, without the final-answer formatting
  (the paper's JSON ``reasoning`` field). It is scored as the continuation of the doc's prompt.
- ``tokens`` (list of ``[token_text, logprob]`` pairs): the frontier's tokens in order, each
  with the natural log of its probability (a finite number <= 0). The token texts must
  concatenate to ``text`` exactly; a mismatch is an error naming the first differing character,
  never a silent misalignment. A byte-level frontier token that is only part of a multi-byte
  character has no text of its own: merge it with the pieces that complete the character into
  one entry whose logprob is their sum (the joint probability), or give it the empty text
  ``""`` (an empty token covers no character and weighs nothing).
- Other fields are ignored.

Every malformed line is one ``file:line: field ...: what is wrong`` error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import read_json_lines, write_json_lines


class TraceError(UserError):
    """A trace file or a trace is malformed (one line naming file, line and field)."""


@dataclass(frozen=True)
class Trace:
    """One frontier reasoning trace: its text and the frontier tokens that make it up.

    Checked on construction (texts that do not concatenate to ``text``, or a logprob that is
    not a finite number <= 0, raise ``ValueError``), so a trace built in code is as sound as
    one read from a file.
    """

    doc_id: str
    text: str
    tokens: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("empty trace, nothing to score")
        for k, (_, logprob) in enumerate(self.tokens):
            if not math.isfinite(logprob) or logprob > 0:
                raise ValueError(f"token {k}: logprob {logprob!r} is not a finite number <= 0")
        check_alignment(self.text, self.tokens)


def first_difference(a: str, b: str) -> int:
    """Index of the first character where ``a`` and ``b`` differ (the shorter length if one
    is a prefix of the other).

    >>> first_difference("abc", "abd"), first_difference("ab", "abc")
    (2, 2)
    """
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _snippet(s: str, at: int, width: int = 24) -> str:
    start = max(at - 8, 0)
    piece = s[start : start + width]
    return ("..." if start else "") + repr(piece) + ("..." if start + width < len(s) else "")


def check_alignment(text: str, tokens: Sequence[tuple[str, float]]) -> None:
    """``ValueError`` unless the token texts concatenate to ``text`` exactly."""
    joined = "".join(t for t, _ in tokens)
    if joined != text:
        n = first_difference(joined, text)
        raise ValueError(
            f"tokens concatenate to {_snippet(joined, n)} but text is {_snippet(text, n)}, "
            f"first difference at character {n}"
        )


def _token(item: Any, k: int) -> tuple[str, float]:
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError(f"field 'tokens'[{k}]: expected a [token_text, logprob] pair")
    text, logprob = item
    if not isinstance(text, str):
        raise ValueError(f"field 'tokens'[{k}]: token text must be a string")
    if isinstance(logprob, bool) or not isinstance(logprob, int | float):
        raise ValueError(f"field 'tokens'[{k}]: logprob must be a number")
    if not math.isfinite(logprob) or logprob > 0:
        raise ValueError(f"field 'tokens'[{k}]: logprob {logprob!r} is not a finite number <= 0")
    return text, float(logprob)


def parse_trace(record: dict[str, Any]) -> Trace:
    """One trace from one parsed JSON object; ``ValueError`` naming the faulty field."""
    for name in ("doc_id", "text", "tokens"):
        if name not in record:
            raise ValueError(f"field {name!r}: missing")
    doc_id, text, tokens = record["doc_id"], record["text"], record["tokens"]
    if not isinstance(doc_id, str):
        raise ValueError(f"field 'doc_id': expected a string, got {type(doc_id).__name__}")
    if not isinstance(text, str):
        raise ValueError(f"field 'text': expected a string, got {type(text).__name__}")
    if not text:
        raise ValueError("field 'text': empty trace, nothing to score")
    if not isinstance(tokens, list):
        raise ValueError(f"field 'tokens': expected a list, got {type(tokens).__name__}")
    pairs = tuple(_token(item, k) for k, item in enumerate(tokens))
    try:
        return Trace(doc_id, text, pairs)
    except ValueError as e:
        raise ValueError(f"field 'tokens': {e}") from None


def read_traces(path: Path | str) -> list[Trace]:
    """Every trace of a JSON-lines file (format in the module docstring), in file order."""
    path = Path(path)
    traces: list[Trace] = []
    seen: dict[str, int] = {}
    for lineno, record in read_json_lines(path, TraceError, "a trace object"):
        try:
            trace = parse_trace(record)
        except ValueError as e:
            raise TraceError(f"{path}:{lineno}: {e}") from None
        if trace.doc_id in seen:
            raise TraceError(
                f"{path}:{lineno}: field 'doc_id': duplicate {trace.doc_id!r} "
                f"(first at line {seen[trace.doc_id]})"
            )
        seen[trace.doc_id] = lineno
        traces.append(trace)
    if not traces:
        raise TraceError(f"{path}: no traces (expected one JSON object per line)")
    return traces


def write_traces(traces: Iterable[Trace], path: Path | str) -> None:
    """Write traces in the format :func:`read_traces` reads (UTF-8, one object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_lines(
        path,
        (
            {"doc_id": t.doc_id, "text": t.text, "tokens": [list(p) for p in t.tokens]}
            for t in traces
        ),
    )
