"""Packing small shared-prefix groups (multiple-choice questions) into one work unit.

A packed unit runs the part its prefixes share once, the rest of each prefix as one row of a
batch, and suffixes of different groups in one batch, so its cache has padding between a
prefix and its suffix. Scores must not notice: they equal a plain float64 forward pass, and
the same engine without packing or without sharing, to 1e-4 nats per request.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_engine_reference import SHOTS, check_against_reference
from test_properties_engine import assert_same_scores

from lmforecast.core.records import Request
from lmforecast.engine import ScoreConfig, ScoringEngine, encode_requests, make_plan
from lmforecast.engine.plan import common_prefix_length
from lmforecast.models import LoadedModel, load_model

QUESTIONS = [
    ("Which animal barks?", [" a dog", " a cat", " a fish that swims", " a bird"]),
    ("What colour is the sky?", [" blue", " green", " red", " yellow on a clear day"]),
    ("How many legs has a spider?", [" eight", " six", " four", " two"]),
    ("Where do fish live?", [" in water", " in trees", " in the desert sand", " on roofs"]),
    ("What do bees make?", [" honey", " milk", " bread", " paper"]),
]


def mc_requests(shots: str = SHOTS) -> list[Request]:
    """Multiple choice: four answers under each question, every question under the same shots
    (an empty ``shots``: the questions share nothing but their first tokens)."""
    reqs: list[Request] = []
    for q, (question, answers) in enumerate(QUESTIONS):
        for answer in answers:
            reqs.append(
                Request(len(reqs), f"q{q}", f"{shots}Question: {question}\nAnswer:", answer)
            )
    return reqs


@pytest.fixture(scope="module")
def llama(tiny_llama_dir: Path) -> LoadedModel:
    return load_model(str(tiny_llama_dir))


def test_plan_packs_questions_each_request_once_deterministically(llama: LoadedModel) -> None:
    config = ScoreConfig(min_prefix_tokens=4, unit_size=8)
    engine = ScoringEngine(llama, config)
    requests = mc_requests()
    enc = engine.encode(requests)
    plan = engine.plan(enc)
    assert all(len(u.groups) == 2 for u in plan[:2])  # 4 + 4 answers per unit of 8
    members = [i for u in plan for i in u.members]
    assert sorted(members) == list(range(len(requests)))  # every request exactly once
    assert all(len(u.members) <= config.unit_size for u in plan)
    for u in plan:  # a group's members share its prefix, which stops before any scored token
        for g in u.groups:
            heads = {enc[i].input_ids[: g.prefix_length] for i in g.members}
            assert len(heads) == 1 and g.prefix_length > len(SHOTS) // 8
            assert all(g.prefix_length <= enc[i].score_start for i in g.members)
    shuffled = enc[:]
    random.Random(0).shuffle(shuffled)
    assert engine.plan(shuffled) == plan  # the plan does not depend on input order
    assert all(len(u.groups) == 1 for u in make_plan(enc, config, pack=False))


@pytest.mark.parametrize("shots", [SHOTS, ""], ids=["shared-shots", "no-shared-base"])
def test_packed_units_match_plain_forward(llama: LoadedModel, shots: str) -> None:
    requests = mc_requests(shots)
    heads = [e.input_ids[: e.score_start] for e in encode_requests(llama, requests)]
    common = min(common_prefix_length(heads[0], h) for h in heads)
    # Without shots, the questions' common start is too short to share: no base pass at all.
    least = 4 if shots else common + 1
    configs = [
        ScoreConfig(batch_size=1, min_prefix_tokens=least, unit_size=64),
        ScoreConfig(batch_size=5, min_prefix_tokens=least, unit_size=12),
        ScoreConfig(batch_size=16, min_prefix_tokens=least, unit_size=64),
    ]
    engine = ScoringEngine(llama, configs[1])
    assert any(len(u.groups) > 1 for u in engine.plan(engine.encode(requests)))
    check_against_reference(llama, requests, configs)


def test_packing_and_sharing_do_not_change_scores(llama: LoadedModel) -> None:
    requests = mc_requests()
    plain = ScoringEngine(llama, ScoreConfig(batch_size=1, prefix_sharing=False))
    want = {s.request_index: s for s in plain.score(requests)}
    for batch_size in (3, 8):
        config = ScoreConfig(batch_size=batch_size, min_prefix_tokens=4, unit_size=16)
        for pack in (True, False):
            engine = ScoringEngine(llama, config)
            enc = engine.encode(requests)
            by_index = {e.index: e for e in enc}
            plan = make_plan(enc, config, pack=pack)
            assert any(len(u.groups) > 1 for u in plan) == pack
            for unit in plan:
                for score in engine.run_unit(unit, by_index):
                    assert_same_scores(score, want[score.request_index])


def test_packed_unit_runs_the_shared_shots_once(llama: LoadedModel) -> None:
    """Forward tokens: the shots once, each question's remainder once, each suffix once."""
    engine = ScoringEngine(llama, ScoreConfig(min_prefix_tokens=4, unit_size=64))
    enc = engine.encode(mc_requests())
    (unit,) = engine.plan(enc)
    assert len(unit.groups) == len(QUESTIONS)
    heads = [enc[g.members[0]].input_ids[: g.prefix_length] for g in unit.groups]
    shared = min(common_prefix_length(heads[0], h) for h in heads)
    assert shared >= len(llama.encode(SHOTS)) - 2  # the shots (up to the last tokens' merge)
    prefix_of = unit.prefix_lengths()
    suffixes = sum(len(e.input_ids) - prefix_of[e.index] for e in enc)
    engine.score_encoded(enc)
    assert engine.cost().forward_tokens == shared + sum(len(h) - shared for h in heads) + suffixes


def test_sliding_window_models_are_not_packed(tiny_gemma_dir: Path) -> None:
    """Padding between a prefix and its suffix would shift a sliding window: no packing."""
    model = load_model(str(tiny_gemma_dir))
    config = ScoreConfig(batch_size=8, min_prefix_tokens=4, unit_size=16)
    engine = ScoringEngine(model, config)
    plan = engine.plan(engine.encode(mc_requests()))
    assert all(len(u.groups) == 1 for u in plan)
    check_against_reference(model, mc_requests(), [config])
