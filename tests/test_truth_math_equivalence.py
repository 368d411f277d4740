"""MATH answers: symbolic equivalence behind the string check, on a hand-checked table and on
MATH-500's own answers; the LaTeX parser's bounds; the time limit it runs under."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lmforecast.core import timelimit
from lmforecast.core.timelimit import TimeLimitExceeded, call_with_time_limit
from lmforecast.tasks import get_task
from lmforecast.truth.graders import extract_math, math_equivalent, math_gold, math_symbolic
from lmforecast.truth.graders.math_answers import normalize_math
from lmforecast.truth.graders.math_latex import Unsupported, parse_answer
from lmforecast.truth.graders.math_symbolic import parse_or_none

# (a, b, needs sympy): equal values, each checked by hand. "needs sympy" marks the pairs the
# string check (Minerva + Hendrycks normalisation, plain numbers) misses.
EQUIVALENT = [
    ("\\frac{1}{2}", "0.5", False),
    ("10\\%", "10", False),
    ("1.25", "\\frac{5}{4}", False),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("\\frac{\\pi}{2}", "\\frac{1}{2}\\pi", True),
    ("(x+1)^2", "x^2+2x+1", True),
    ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True),
    ("\\dfrac{2}{\\sqrt{2}}", "\\sqrt{2}", True),
    ("\\sqrt{3+2\\sqrt{2}}", "1+\\sqrt{2}", True),  # denested: 3+2√2 = (1+√2)²
    ("\\sin^2 x+\\cos^2 x", "1", True),
    ("\\left( \\frac{1}{2}, 2\\sqrt{2} \\right)", "(0.5,\\sqrt{8})", True),
    ("\\left[ \\frac{3}{5}, \\frac{8}{3} \\right)", "[0.6,\\frac{16}{6})", True),
    ("(-\\infty, \\sqrt{4}] \\cup (3, \\infty)", "(-\\infty,2]\\cup(3,\\infty)", True),
    ("\\{1, \\frac{4}{2}\\}", "\\{1,2\\}", True),
    ("3+4i", "4i+3", True),
    ("\\log_2 8", "3", True),
    ("\\sqrt[3]{-8}", "-2", True),  # the real cube root, as MATH means it
    ("2^{10}", "1024", True),
    ("\\binom{5}{2}", "10", True),
    ("\\frac{x^2-1}{x-1}", "x+1", True),
    ("x = -\\frac{b}{2a}", "\\frac{-b}{2a}", True),
    ("2\\pi r", "2r\\pi", True),
    ("\\frac{1}{x}", "x^{-1}", True),
    ("6\\sqrt{2}", "\\sqrt{72}", True),
]
# Different values (or shapes), each checked by hand: neither check may call them equal.
NOT_EQUIVALENT = [
    ("x+1", "x-1"),
    ("(1,2)", "(2,1)"),
    ("3", "3.0001"),
    ("\\sqrt{2}", "1.41421356"),  # an approximation is not the value
    ("\\pi", "3.14159"),
    ("(1,2)", "[1,2]"),
    ("(1,2]", "(1,2)"),
    ("(x+1)^2", "x^2+1"),
    ("\\frac{1}{2}", "\\frac{1}{3}"),
    ("2\\sqrt{2}", "\\sqrt{6}"),
    ("(-\\infty,2)\\cup(3,\\infty)", "(-\\infty,3)\\cup(2,\\infty)"),
    ("1,2,3", "1,2"),
    ("\\sin x", "\\cos x"),
    ("xy", "x+y"),
    ("3+4i", "3-4i"),
    ("\\infty", "-\\infty"),
    ("5", "-5"),
    ("\\frac{\\pi}{2}", "\\frac{\\pi}{3}"),
    ("\\sqrt[3]{-8}", "2"),
    ("\\text{dog}", "\\text{god}"),  # words are never multiplied out (d·o·g = g·o·d)
    ("\\{1,2\\}", "(1,2)"),
]


@pytest.mark.parametrize(("a", "b", "needs_sympy"), EQUIVALENT)
def test_equivalent_pairs(a: str, b: str, needs_sympy: bool) -> None:
    assert math_equivalent(a, b) and math_equivalent(b, a)
    assert math_equivalent(a, b, symbolic=False) is not needs_sympy


@pytest.mark.parametrize(("a", "b"), NOT_EQUIVALENT)
def test_non_equivalent_pairs(a: str, b: str) -> None:
    assert not math_equivalent(a, b) and not math_equivalent(b, a)


def test_table_is_large_enough() -> None:
    assert sum(n for *_, n in EQUIVALENT) >= 15 and len(NOT_EQUIVALENT) >= 15


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch pwned')",  # parsed, never evaluated: not even a token
        "2^{100000}",  # exact value too large to compute in the calling thread
        "(10^{500})^{1000}",
        "10^{10^{10}}",
        "\\binom{100000}{50000}",
        "1" * 2000,
        "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
        "x \\pm 1",
        "5!",
        "\\frac{1}{0}",
        "\\le(3,4)",  # the mangled "\\left" of MATH-500's answer field
    ],
)
def test_outside_the_subset_or_bounds_is_refused(text: str) -> None:
    with pytest.raises(Unsupported):
        parse_answer(text)
    assert parse_or_none(text) is None
    assert not math_equivalent(text, "1")


LATEX_PIECES = [
    "\\frac", "\\dfrac", "\\sqrt", "\\pi", "\\infty", "\\cdot", "\\left(", "\\right)", "\\cup",
    "\\sin", "\\log_", "\\binom", "\\{", "\\}", "{", "}", "(", ")", "[", "]", "^", "_", ",", "+",
    "-", "/", ".", "=", "x", "y", "i", "e", "0", "1", "2", "9", "99", "0.5", "\\text{cm}", "\\%",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(LATEX_PIECES), max_size=14).map("".join),
    st.lists(st.sampled_from(LATEX_PIECES), max_size=14).map("".join),
)
def test_any_latex_soup_grades_without_error(a: str, b: str) -> None:
    """Whatever a model writes, the check answers True or False (never raises), and equal
    strings stay equal."""
    assert isinstance(math_equivalent(a, b), bool)
    assert math_equivalent(a, b) == math_equivalent(b, a)
    if normalize_math(a):
        assert math_equivalent(a, a)


def _wrap(text: str) -> str:
    return f"\\left({text}\\right)"


LEAVES = st.sampled_from(
    [(str(n), sympy.Integer(n)) for n in range(13)]
    + [("x", sympy.Symbol("x")), ("y", sympy.Symbol("y")), ("\\pi", sympy.pi)]
)


def _combine(pair: tuple[tuple[str, Any], tuple[str, Any]], op: str) -> tuple[str, Any]:
    (a, va), (b, vb) = pair
    if op == "+":
        return f"{_wrap(a)}+{_wrap(b)}", va + vb
    if op == "-":
        return f"{_wrap(a)}-{_wrap(b)}", va - vb
    if op == "*":
        return f"{_wrap(a)}\\cdot{_wrap(b)}", va * vb
    if op == "implicit":
        return f"{_wrap(a)}{_wrap(b)}", va * vb
    return f"\\frac{{{a}}}{{{b}}}", va / vb


EXPRESSIONS = st.recursive(
    LEAVES,
    lambda inner: (
        st.tuples(st.tuples(inner, inner), st.sampled_from(["+", "-", "*", "implicit", "/"])).map(
            lambda t: _combine(*t)
        )
        | inner.map(lambda e: (f"\\sqrt{{{e[0]}}}", sympy.sqrt(e[1])))
        | st.tuples(inner, st.integers(0, 3)).map(
            lambda t: (f"{_wrap(t[0][0])}^{{{t[1]}}}", t[0][1] ** t[1])
        )
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(EXPRESSIONS, EXPRESSIONS)
def test_generated_expressions_parse_to_their_value(e: tuple[str, Any], f: tuple[str, Any]) -> None:
    """LaTeX built alongside its sympy value parses to exactly that value; an expression equals
    itself with its terms swapped and differs from itself plus one."""
    (a, va), (b, vb) = e, f
    assume(not any(v.has(sympy.zoo, sympy.nan) for v in (va, vb, va + vb)))
    assert parse_answer(a) == va
    assert math_equivalent(f"{_wrap(a)}+{_wrap(b)}", f"{_wrap(b)}+{_wrap(a)}")
    assert not math_equivalent(f"{_wrap(a)}+1", a)


# ---------------------------------------------------------------------------------------------
# MATH-500: the two checks on the dataset's own answers


def _verdicts(pairs: list[tuple[str, str]]) -> tuple[int, int, int]:
    """(string says equal, string or symbolic says equal, pairs where the two differ)."""
    string = [math_equivalent(a, b, symbolic=False) for a, b in pairs]
    full = [math_equivalent(a, b) for a, b in pairs]
    assert all(f for s, f in zip(string, full, strict=True) if s)  # sympy only adds
    return sum(string), sum(full), sum(s != f for s, f in zip(string, full, strict=True))


def test_math500_string_and_symbolic_checks_on_the_datasets_answers() -> None:
    """Where the checks differ on MATH-500's gold answers, and on rewrites of them.

    No real model's MATH-500 run is stored, so this stands in for one: the solution's own
    boxed answer and the ``answer`` field against the boxed gold, then every gold answer
    that parses as one expression rewritten equivalently (``\\frac{2(G)}{2}``, and
    ``G+\\sin^2 1+\\cos^2 1-1``: sympy must accept, the string check cannot) and wrongly
    (``G+1``: both must refuse).
    """
    docs = get_task("math500:gold").docs
    golds = [math_gold(d) or "" for d in docs]
    solutions = [
        (extract_math(d.solution or "") or "", g) for d, g in zip(docs, golds, strict=True)
    ]
    fields = [(d.answer or "", g) for d, g in zip(docs, golds, strict=True)]
    # Rewrites wrap the normalised gold: "y = 2x+3" is "2x+3", "58,500" is "58500".
    normal = [(normalize_math(g), g) for g in golds]
    scalar = [(n, g) for n, g in normal if isinstance(parse_or_none(n), sympy.Expr)]
    rewritten = [(f"\\frac{{2\\left({n}\\right)}}{{2}}", g) for n, g in scalar]
    identity = [(f"{n}+\\sin^2 1+\\cos^2 1-1", g) for n, g in scalar]  # sympy must prove 0
    wrong = [(f"{n}+1", g) for n, g in scalar]
    report = {
        "solution vs gold": _verdicts(solutions),
        "answer field vs gold": _verdicts(fields),
        "equivalent rewrite vs gold": _verdicts(rewritten),
        "plus sin²1+cos²1-1 vs gold": _verdicts(identity),
        "wrong (+1) vs gold": _verdicts(wrong),
    }
    print(f"\nMATH-500 ({len(docs)} docs, {len(scalar)} single-expression golds)")
    for name, (string, full, differ) in report.items():
        print(f"  {name:28} string {string:3}  string+sympy {full:3}  differ {differ:3}")
    assert report["solution vs gold"] == (500, 500, 0)
    assert report["answer field vs gold"] == (491, 491, 0)  # the 9 mangled fields stay wrong
    assert len(scalar) >= 400
    for name in ("equivalent rewrite vs gold", "plus sin²1+cos²1-1 vs gold"):
        string, full, differ = report[name]
        assert full == len(scalar) and string == 0 and differ == full
    assert report["wrong (+1) vs gold"] == (0, 0, 0)


# ---------------------------------------------------------------------------------------------
# The time limit


def _slow_simplify(expr: sympy.Expr) -> sympy.Expr:
    time.sleep(30)
    return expr


def test_a_runaway_simplify_is_stopped_in_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(math_symbolic.sympy, "simplify", _slow_simplify)
    start = time.monotonic()
    # Numerically zero at both test points but not identical: only simplify could decide.
    assert not math_symbolic.symbolic_equivalent("(x+1)^2", "x^2+2x+1", seconds=0.5)
    assert time.monotonic() - start < 5


def test_time_limit_in_the_main_thread_restores_the_alarm() -> None:
    assert threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGALRM)
    assert call_with_time_limit(pow, (2, 10), seconds=1) == 1024
    start = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(time.sleep, (30,), seconds=0.3)
    assert time.monotonic() - start < 5
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with pytest.raises(ValueError):
        call_with_time_limit(int, ("x",), seconds=1)


def _worker_pids() -> set[int]:
    children = psutil.Process().children()
    return {p.pid for p in children if "lmforecast.core.timelimit" in " ".join(p.cmdline())}


def test_time_limit_in_other_threads_kills_the_worker_process() -> None:
    """Off the main thread the call runs in a worker process, killed at the limit: no thread
    or process is left computing."""

    def in_thread() -> tuple[object, float, set[int]]:
        assert call_with_time_limit(pow, (3, 3), seconds=30) == 27  # starts a worker
        busy = _worker_pids()
        start = time.monotonic()
        with pytest.raises(TimeLimitExceeded):
            call_with_time_limit(time.sleep, (30,), seconds=0.5)
        elapsed = time.monotonic() - start
        with pytest.raises(ValueError):
            call_with_time_limit(int, ("x",), seconds=30)
        return math_equivalent("2\\sqrt{2}", "\\sqrt{8}"), elapsed, busy

    timelimit._close_workers()  # idle workers of earlier tests would blur what this one starts
    threads_before = threading.active_count()
    with ThreadPoolExecutor(1) as pool:
        equal, elapsed, first = pool.submit(in_thread).result()
    assert equal is True and elapsed < 5
    assert threading.active_count() == threads_before
    alive = _worker_pids()
    assert not first & alive  # the worker that hit the limit is gone
    assert len(alive) <= 1  # at most the one idle worker, started after the kill
