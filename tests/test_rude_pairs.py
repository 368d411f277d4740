"""RuDE degraders and pairs: each degrader breaks exactly its own criterion on hand-written
solutions of every testbed family; generated pairs keep the invariants (exactly V fails, the
rest pass, length within 10%), are fixed by the seed, round-trip through JSONL, and number at
least 1,000 per family from the held-out problems."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc
from lmforecast.signals.rude import steps
from lmforecast.signals.rude.checkers import CHECKERS
from lmforecast.signals.rude.degraders import DEGRADERS, CannotDegrade
from lmforecast.signals.rude.pairs import failing, make_pairs, read_pairs, write_pairs
from lmforecast.signals.rude.rubric import load_rubric
from lmforecast.testbed.tasks import grade, problem_task

# Hand-written problems in each family's surface format, answers worked out by hand.
HAND = {
    "arith": Doc(
        "h-arith",
        "Q: Tom has 3 pens. He gets 2 more. Then the amount doubles. How many pens now?\nA:",
        " He gets 2 more. 3 + 2 = 5. Then the amount doubles. 5 * 2 = 10.\nAnswer: 10",
        "10",
    ),
    "list": Doc(
        "h-list",
        "Q: Take 3 1 2. Then sort it, then add 1 to each.\nA:",
        " sort it: 1 2 3. add 1 to each: 2 3 4.\nAnswer: 2 3 4",
        "2 3 4",
    ),
    "trace": Doc(
        "h-trace",
        "Q: a = 4; b = a + 3; a = b - 5; print(a)\nA:",
        " a = 4. b = a + 3 = 4 + 3 = 7. a = b - 5 = 7 - 5 = 2.\nAnswer: 2",
        "2",
    ),
}
FAMILIES = tuple(HAND)


@pytest.mark.parametrize("family", FAMILIES)
def test_hand_solution_passes_every_checker(family: str) -> None:
    rubric = load_rubric(f"testbed-{family}")
    assert failing(rubric, HAND[family].solution or "", HAND[family]) == ()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("criterion", ["final-answer", "valid-steps", "all-steps", "answer-line"])
def test_each_degrader_violates_exactly_its_criterion(family: str, criterion: str) -> None:
    rubric = load_rubric(f"testbed-{family}")
    doc = HAND[family]
    degrade = DEGRADERS.get(rubric.criterion(criterion).degrader)
    for seed in range(20):
        negative = degrade(doc.solution or "", doc, random.Random(seed))
        assert failing(rubric, negative, doc) == (criterion,), negative


def test_hand_checked_degradations() -> None:
    arith, lst, trace = HAND["arith"], HAND["list"], HAND["trace"]
    rng = random.Random(0)
    assert DEGRADERS.get("relabel_answer")(arith.solution or "", arith, rng).endswith(
        "5 * 2 = 10.\nResult: 10"
    )
    # The only droppable arith step (11 tokens) becomes an 11-token filler (10 words and '.').
    dropped = DEGRADERS.get("arith.drop_step")(arith.solution or "", arith, rng)
    assert dropped == (
        " Then we carry on with the next part of the. Then the amount doubles. "
        "5 * 2 = 10.\nAnswer: 10"
    )
    assert steps.count_tokens(dropped) == steps.count_tokens(arith.solution or "")
    # Another operation done right on the last list step: same shape as "add 1 to each".
    wrong = DEGRADERS.get("list.wrong_answer")(lst.solution or "", lst, rng)
    assert wrong == " sort it: 1 2 3. add 2 to each: 3 4 5.\nAnswer: 3 4 5"
    # The answer step of trace is the last assignment to the printed variable.
    wrong = DEGRADERS.get("trace.wrong_answer")(trace.solution or "", trace, random.Random(1))
    body, answer = wrong.split("\nAnswer: ")
    assert body.startswith(" a = 4. b = a + 3 = 4 + 3 = 7. a = b - ")
    k = int(body.split(" - ")[1].split(" ")[0])
    assert answer == str(7 - k) and k != 5
    with pytest.raises(CannotDegrade, match="nothing to drop"):
        one = Doc("x", "Q: Take 1 2. Then reverse it.\nA:", " reverse it: 2 1.\nAnswer: 2 1", "2 1")
        DEGRADERS.get("list.drop_step")(one.solution or "", one, rng)


@pytest.mark.parametrize("family", FAMILIES)
def test_answer_checker_agrees_with_testbed_grader(family: str) -> None:
    for doc in problem_task(family).docs[:100]:
        for text in (doc.solution or "", (doc.solution or "") + "1", " x\nAnswer: 99 9"):
            assert CHECKERS.get("answer_correct")(text, doc) == grade(doc, text).correct


@pytest.mark.parametrize("family", FAMILIES)
def test_pairs_keep_invariants_and_reach_1000(family: str) -> None:
    rubric = load_rubric(f"testbed-{family}")
    docs = problem_task(family).docs
    total = 0
    for k in (1, 2, 3):
        pairs, report = make_pairs(rubric, docs, k, seed=7)
        assert report.made == len(pairs)
        assert report.attempted == report.made + sum(report.failures.values())
        assert not any(r.startswith("positive fails") for r in report.failures)
        doc_of = {d.doc_id: d for d in docs}
        for p in pairs:
            doc = doc_of[p.doc_id]
            assert p.positive == doc.solution and p.difficulty == k == len(p.violated)
            assert set(failing(rubric, p.negative, doc)) == set(p.violated)
            n_pos, n_neg = steps.count_tokens(p.positive), steps.count_tokens(p.negative)
            assert abs(n_neg - n_pos) <= 0.1 * n_pos
            assert p.changed_spans
        total += len(pairs)
    assert total >= 1000


def test_pairs_are_fixed_by_the_seed_and_round_trip(tmp_path: Path) -> None:
    rubric = load_rubric("testbed-trace")
    docs = problem_task("trace").docs[:60]
    a, report_a = make_pairs(rubric, docs, 2, seed=3, n=50)
    b, report_b = make_pairs(rubric, docs, 2, seed=3, n=50)
    c, _ = make_pairs(rubric, docs, 2, seed=4, n=50)
    assert a == b and report_a == report_b and len(a) == 50
    assert a != c
    path = tmp_path / "pairs.jsonl"
    assert write_pairs(a, path) == 50
    assert read_pairs(path) == a


def test_read_pairs_names_file_and_line(tmp_path: Path) -> None:
    pairs, _ = make_pairs(load_rubric("testbed-arith"), problem_task("arith").docs[:5], 1, 0, 2)
    path = tmp_path / "p.jsonl"
    write_pairs(pairs, path)
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1].replace('"negative"', '"negativ"') + "\n")
    with pytest.raises(UserError, match=r"p.jsonl:2: pair has no field 'negative'"):
        read_pairs(path)
    with pytest.raises(UserError, match=r"difficulty must be 1\.\.4"):
        make_pairs(load_rubric("testbed-arith"), [], 5, 0)


def test_list_step_after_a_dropped_one_is_judged_from_the_questions_state() -> None:
    """Hand-checked: 1 8 5 reversed twice; dropping the first reversal leaves "reverse it:
    1 8 5", which is right on the question's state after one reversal (5 8 1), so only
    completeness fails; the same step written as "reverse it: 5 8 1" would be a logic fault."""
    doc = Doc(
        "h-rep",
        "Q: Take 1 8 5. Then reverse it, then reverse it.\nA:",
        " reverse it: 5 8 1. reverse it: 1 8 5.\nAnswer: 1 8 5",
        "1 8 5",
    )
    rubric = load_rubric("testbed-list")
    dropped = DEGRADERS.get("list.drop_step")(doc.solution or "", doc, random.Random(0))
    assert dropped == " Then we carry on with the. reverse it: 1 8 5.\nAnswer: 1 8 5"
    assert failing(rubric, dropped, doc) == ("all-steps",)
    bad = " Then we carry on with the. reverse it: 5 8 1.\nAnswer: 1 8 5"
    assert failing(rubric, bad, doc) == ("valid-steps", "all-steps")


def test_a_positive_failing_its_rubric_is_counted_not_used() -> None:
    good = HAND["arith"]
    wrong = Doc("h-wrong", good.prompt, good.solution, "11")  # gold answer says 11, not 10
    pairs, report = make_pairs(load_rubric("testbed-arith"), [good, wrong], 1, seed=0)
    assert {p.doc_id for p in pairs} == {"h-arith"}
    assert report.failures["positive fails final-answer"] == 4  # its four one-criterion sets
    assert report.attempted == 8
