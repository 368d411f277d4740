r"""Symbolic equivalence of two MATH answers, behind the string check (as lm-eval's
Minerva-math scorer does): ``2\sqrt{2}`` equals ``\sqrt{8}``, ``(x+1)^2`` equals
``x^2+2x+1``.

Both answers are parsed by :mod:`math_latex` (no ``eval``); tuples, intervals and lists match
element by element with the same brackets. Two expressions are equal when, in order:

1. sympy's automatic evaluation makes them identical, or their difference is 0;
2. a difference that is a nonzero plain number, or evaluates to more than 1e-12 (60 digits
   for a constant, 30 digits at either of two fixed points when it has symbols), proves them
   unequal, fast and without ``simplify``; a constant difference below 1e-45 at 60 digits
   counts as equal (nested radicals that ``simplify`` may not denest);
3. otherwise, equal when ``simplify(a - b) == 0``.

Infinities are equal only when identical. ``i`` is the imaginary unit; ``e`` is a plain symbol
(as in most MATH answers), so ``e^{i\pi}`` is not -1 here.

Steps 2 and 3 run under one time limit shared by the whole comparison
(:func:`~lmforecast.core.timelimit.call_with_time_limit`); running out, or any sympy error,
means "not shown equal", which is the verdict the string check had already given.
"""

from __future__ import annotations

import time
from typing import Any

import sympy

from lmforecast.core.timelimit import TimeLimitExceeded, call_with_time_limit
from lmforecast.truth.graders.math_latex import Answer, Bracketed, SetUnion, parse_answer

SECONDS = 5.0  # per comparison of two answers, as lm-eval's Minerva-math scorer allows
_POINTS = (sympy.Rational(7, 10), sympy.Rational(13, 11))  # for symbol k: value + k / 7


def parse_or_none(text: str) -> Answer | None:
    """The parsed answer, or None outside the supported subset."""
    try:
        return parse_answer(text)
    except Exception:  # Unsupported, or sympy refusing to build (any of its error types)
        return None


def symbolic_equivalent(a: str, b: str, seconds: float = SECONDS) -> bool:
    """Whether two (normalised) LaTeX answers are provably the same value."""
    pa, pb = parse_or_none(a), parse_or_none(b)
    if pa is None or pb is None:
        return False
    deadline = time.monotonic() + seconds
    try:
        return _answers_equal(pa, pb, deadline)
    except TimeLimitExceeded:
        return False
    except Exception:  # any sympy failure (its own exception types, from a worker process
        return False  # too) means "not shown equal", never a crashed grader


def _answers_equal(a: Answer, b: Answer, deadline: float) -> bool:
    """Same shape (union pieces, brackets, lengths) and equal expressions in order."""
    if isinstance(a, SetUnion) and isinstance(b, SetUnion):
        pairs = list(zip(a.pieces, b.pieces, strict=False))
        same = len(a.pieces) == len(b.pieces)
        return same and all(_answers_equal(x, y, deadline) for x, y in pairs)
    if isinstance(a, Bracketed) and isinstance(b, Bracketed):
        same = (a.opening, a.closing, len(a.items)) == (b.opening, b.closing, len(b.items))
        pairs = list(zip(a.items, b.items, strict=False))
        return same and all(expressions_equal(x, y, deadline) for x, y in pairs)
    if isinstance(a, SetUnion | Bracketed) or isinstance(b, SetUnion | Bracketed):
        return False
    return expressions_equal(a, b, deadline)


def expressions_equal(a: sympy.Expr, b: sympy.Expr, deadline: float) -> bool:
    """Steps 1-3 of the module docstring for two expressions."""
    if a == b:
        return True
    if a.has(sympy.oo, -sympy.oo, sympy.zoo) or b.has(sympy.oo, -sympy.oo, sympy.zoo):
        return False  # infinities are equal only when identical
    difference = a - b
    if difference == 0:
        return True
    if difference.is_Number:
        return False
    symbols = sorted(difference.free_symbols, key=str)
    if not symbols:
        value = _magnitude(difference, {}, 60, deadline)
        if value is not None and value < 1e-45:
            return True
        if value is not None and value > 1e-12:
            return False
    for base in _POINTS if symbols else ():
        point = {s: base + sympy.Rational(k, 7) for k, s in enumerate(symbols)}
        value = _magnitude(difference, point, 30, deadline)
        if value is not None and value > 1e-12:
            return False
    simplified = _limited(sympy.simplify, (difference,), {}, deadline)
    return bool(simplified == 0)


def _magnitude(
    expr: sympy.Expr, point: dict[Any, Any], digits: int, deadline: float
) -> float | None:
    """``|expr|`` at ``point`` to ``digits`` digits, or None when it is not a finite number
    there (a pole, an unevaluated function)."""
    try:
        value = _limited(sympy.N, (expr, digits), {"subs": point}, deadline)
        magnitude = abs(complex(value))
    except (TypeError, ValueError, ArithmeticError):
        return None
    return magnitude if magnitude == magnitude and magnitude != float("inf") else None


def _limited(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], deadline: float) -> Any:
    return call_with_time_limit(fn, args, kwargs, seconds=deadline - time.monotonic())
