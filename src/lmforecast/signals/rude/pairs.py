"""RuDE pairs by controlled degradation: a positive, a negative violating exactly V, and why.

From each doc's expert solution (it must pass every checker: a positive that fails its own
rubric is counted, never used) the target set V of criteria (difficulty ``|V|``) is violated by
applying V's degraders; the negative is kept only if exactly V's checkers fail and its token
count is within 10% of the positive's, so length is no cue. Every (doc, V) that yields no pair is
counted in :class:`PairReport` by reason. Everything is drawn from ``seed``.
"""

from __future__ import annotations

import difflib
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import read_json_lines, write_json_lines
from lmforecast.core.records import Doc
from lmforecast.signals.rude import steps
from lmforecast.signals.rude.checkers import CHECKERS
from lmforecast.signals.rude.degraders import DEGRADERS, CannotDegrade
from lmforecast.signals.rude.rubric import Rubric

LENGTH_TOLERANCE = 0.10
# Degraders run in this order of sub-category: structure first (a dropped step must not be the
# one a later degrader edited), the answer step before single-step corruption (so corrupting the
# answer step after a wrong answer keeps both violations), the label last.
_ORDER = ("completeness", "factuality", "logic", "procedure", "format")


@dataclass(frozen=True)
class Pair:
    """One discrimination item: the prompt, a positive and a negative violating exactly V.

    ``changed_spans`` are ``(pos_start, pos_end, neg_start, neg_end)`` character offsets of
    each edit, for showing the difference side by side.
    """

    doc_id: str
    prompt: str
    positive: str
    negative: str
    violated: tuple[str, ...]
    difficulty: int
    changed_spans: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True)
class PairReport:
    """What ``make_pairs`` tried: pairs made, and every failed (doc, V) counted by reason."""

    attempted: int
    made: int
    failures: dict[str, int] = field(default_factory=dict)


def changed_spans(positive: str, negative: str) -> tuple[tuple[int, int, int, int], ...]:
    """Character spans of the whitespace-separated words that differ (difflib over words).

    Word-level, not character-level, so ``12`` -> ``13`` is one changed word, not a digit.

    >>> changed_spans("a 12 b.", "a 13 b.")
    ((2, 4, 2, 4),)
    >>> changed_spans("x y z", "x z")
    ((2, 3, 2, 2),)
    """
    pos = [(m.start(), m.end()) for m in re.finditer(r"\S+", positive)]
    neg = [(m.start(), m.end()) for m in re.finditer(r"\S+", negative)]
    a = [positive[s:e] for s, e in pos]
    b = [negative[s:e] for s, e in neg]
    out: list[tuple[int, int, int, int]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        ps = pos[i1][0] if i1 < len(pos) else len(positive)
        pe = pos[i2 - 1][1] if i2 > i1 else ps
        ns = neg[j1][0] if j1 < len(neg) else len(negative)
        ne = neg[j2 - 1][1] if j2 > j1 else ns
        out.append((ps, pe, ns, ne))
    return tuple(out)


def failing(rubric: Rubric, response: str, doc: Doc) -> tuple[str, ...]:
    """Ids of the rubric's criteria whose checker rejects the response."""
    return tuple(c.id for c in rubric.criteria if not CHECKERS.get(c.checker)(response, doc))


def _degrade(
    rubric: Rubric,
    doc: Doc,
    violated: tuple[str, ...],
    rng: random.Random,
    count_tokens: Callable[[str], int],
) -> tuple[str | None, str]:
    """(negative, "") or (None, reason)."""
    positive = doc.solution or ""
    criteria = sorted(
        (rubric.criterion(v) for v in violated),
        key=lambda c: (_ORDER.index(c.subcategory) if c.subcategory in _ORDER else 99, c.id),
    )
    negative = positive
    for c in criteria:
        try:
            negative = DEGRADERS.get(c.degrader)(negative, doc, rng)
        except CannotDegrade as e:
            return None, f"{c.id}: {e}"
    fails = set(failing(rubric, negative, doc))
    if fails - set(violated):
        return None, "negative also fails " + "+".join(sorted(fails - set(violated)))
    if set(violated) - fails:
        return None, "negative still passes " + "+".join(sorted(set(violated) - fails))
    n_pos, n_neg = count_tokens(positive), count_tokens(negative)
    if abs(n_neg - n_pos) > LENGTH_TOLERANCE * n_pos:
        return None, "length differs by more than 10%"
    return negative, ""


def make_pairs(
    rubric: Rubric,
    docs: Sequence[Doc],
    difficulty: int,
    seed: int,
    n: int | None = None,
    count_tokens: Callable[[str], int] = steps.count_tokens,
) -> tuple[list[Pair], PairReport]:
    """Up to ``n`` pairs (all that can be made when None) violating ``difficulty`` criteria each.

    Candidates are every (doc, V) with ``|V| = difficulty``, in an order shuffled by ``seed``,
    so one doc may give pairs for several V; they are tried until ``n`` pairs are made.
    ``count_tokens`` is the length measure of the 10% rule (default: words and punctuation,
    :func:`steps.count_tokens`; pass a tokenizer's count for real tokens).
    """
    ids = [c.id for c in rubric.criteria]
    if not 1 <= difficulty <= len(ids):
        raise UserError(f"difficulty must be 1..{len(ids)} for rubric {rubric.domain}")
    combos = list(itertools.combinations(ids, difficulty))
    candidates = [(i, d, v) for i, d in enumerate(docs) for v in combos]
    random.Random(f"{seed}:{rubric.domain}:{difficulty}").shuffle(candidates)
    pairs: list[Pair] = []
    failures: Counter[str] = Counter()
    attempted = 0
    bad_positive: dict[int, tuple[str, ...]] = {}  # by position: doc ids need not be unique
    for i, doc, violated in candidates:
        if n is not None and len(pairs) >= n:
            break
        attempted += 1
        if i not in bad_positive:
            bad_positive[i] = failing(rubric, doc.solution or "", doc)
        if bad_positive[i]:
            failures["positive fails " + "+".join(bad_positive[i])] += 1
            continue
        rng = random.Random(f"{seed}:{doc.doc_id}:{'+'.join(violated)}")
        negative, reason = _degrade(rubric, doc, violated, rng, count_tokens)
        if negative is None:
            failures[reason] += 1
            continue
        positive = doc.solution or ""
        pairs.append(
            Pair(
                doc.doc_id,
                doc.prompt,
                positive,
                negative,
                violated,
                difficulty,
                changed_spans(positive, negative),
            )
        )
    return pairs, PairReport(attempted, len(pairs), dict(sorted(failures.items())))


def write_pairs(pairs: Iterable[Pair], path: Path | str) -> int:
    """Write pairs as JSON lines (one object per pair, the dataclass's fields); the count."""
    return write_json_lines(Path(path), (asdict(p) for p in pairs))


_FIELDS = ("doc_id", "prompt", "positive", "negative", "violated", "difficulty", "changed_spans")


def read_pairs(path: Path | str) -> list[Pair]:
    """Pairs from a JSONL file; a missing or mistyped field is one error naming file and line."""
    out: list[Pair] = []
    for lineno, rec in read_json_lines(Path(path), UserError, "a pair object"):
        missing = [k for k in _FIELDS if k not in rec]
        if missing:
            raise UserError(f"{path}:{lineno}: pair has no field {missing[0]!r}")
        try:
            spans = tuple(tuple(int(x) for x in s) for s in rec["changed_spans"])
            out.append(
                Pair(
                    str(rec["doc_id"]),
                    str(rec["prompt"]),
                    str(rec["positive"]),
                    str(rec["negative"]),
                    tuple(str(v) for v in rec["violated"]),
                    int(rec["difficulty"]),
                    tuple((s[0], s[1], s[2], s[3]) for s in spans),
                )
            )
        except (TypeError, ValueError, IndexError):
            raise UserError(f"{path}:{lineno}: pair has a field of the wrong type") from None
    return out
