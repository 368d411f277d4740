"""Token-level proxies (Patel et al.): hand-checked values, truncation, frequencies, validation."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from lmforecast.signals.proxies import (
    HIGHER_IS_BETTER,
    STATISTICS,
    WEIGHTINGS,
    TokenRecord,
    count_target_tokens,
    instance_proxies,
    proxy_names,
    proxy_sign,
    proxy_vector,
    split_proxy_name,
    task_proxies,
)

LN2 = math.log(2.0)


def three_tokens(target_ids=(7, 8, 7)) -> TokenRecord:
    """p(y) = 1/2, 1/4, 1/8 at ranks 1, 2, 3; top-1 probability 1/2 everywhere; |V| = 16."""
    return TokenRecord(
        logprob=np.log([0.5, 0.25, 0.125]),
        entropy=[0.5, 1.0, 2.0],
        rank=[1, 2, 3],
        top1_prob=[0.5, 0.5, 0.5],
        target_ids=list(target_ids),
        vocab_size=16,
    )


def test_names_and_signs_cover_everything():
    names = proxy_names()
    assert len(names) == 80 == len(set(names)) == len(STATISTICS) * len(WEIGHTINGS)
    assert set(HIGHER_IS_BETTER) == set(STATISTICS)
    lower = {s for s, up in HIGHER_IS_BETTER.items() if not up}
    assert lower == {"xent", "norm_entropy", "rank", "margin", "wrong_conf"}
    assert split_proxy_name("top5@freq") == ("top5", "freq")
    assert proxy_sign("rank@entropy") == -1.0 and proxy_sign("recip_rank@prob") == 1.0


def test_uniform_statistics_by_hand():
    p = instance_proxies(three_tokens())
    assert p["xent@uniform"] == pytest.approx(LN2 * (1 + 2 + 3) / 3)
    assert p["top1@uniform"] == pytest.approx(1 / 3)
    assert p["top2@uniform"] == pytest.approx(2 / 3)
    assert p["top3@uniform"] == pytest.approx(1.0)
    assert p["top5@uniform"] == pytest.approx(1.0)
    assert p["norm_entropy@uniform"] == pytest.approx((0.5 + 1 + 2) / 3 / math.log(16))
    assert p["rank@uniform"] == pytest.approx(2.0)
    assert p["recip_rank@uniform"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert p["margin@uniform"] == pytest.approx((0 + 0.25 + 0.375) / 3)
    assert p["wrong_conf@uniform"] == pytest.approx((0 + 0.5 + 0.5) / 3)


def test_weightings_by_hand():
    p = instance_proxies(three_tokens())
    # prob: weights 1/2, 1/4, 1/8 (sum 7/8)
    assert p["top1@prob"] == pytest.approx(4 / 7)
    assert p["recip_rank@prob"] == pytest.approx(16 / 21)
    # one_minus_prob: weights 1/2, 3/4, 7/8 (sum 17/8); rank = 1, 2, 3
    assert p["rank@one_minus_prob"] == pytest.approx((0.5 + 1.5 + 2.625) / 2.125)
    # entropy: weights 0.5, 1, 2 (sum 3.5)
    assert p["top2@entropy"] == pytest.approx(1.5 / 3.5)
    # inv_entropy: weights 2, 1, 0.5 (eps = 1e-6 shifts the 7th digit only)
    assert p["top2@inv_entropy"] == pytest.approx(3 / 3.5, rel=1e-5)
    # freq over this instance: ids 7, 8, 7 -> 2/3, 1/3, 2/3; inv_freq: 3/2, 3, 3/2
    assert p["top1@freq"] == pytest.approx((2 / 3) / (5 / 3))
    assert p["top1@inv_freq"] == pytest.approx(1.5 / 6)
    # gauss_xent: xent = ln2 * (1, 2, 3), mean 2 ln2, std ln2 * sqrt(2/3) -> exp(-3/4), 1, exp(-3/4)
    e = math.exp(-0.75)
    assert p["top1@gauss_xent"] == pytest.approx(e / (2 * e + 1))
    assert p["xent@gauss_xent"] == pytest.approx(2 * LN2)


def test_last_n_tokens_is_applied_first():
    rec = three_tokens()
    tail = TokenRecord(
        logprob=np.log([0.25, 0.125]),
        entropy=[1.0, 2.0],
        rank=[2, 3],
        top1_prob=[0.5, 0.5],
        target_ids=[8, 7],
        vocab_size=16,
    )
    assert instance_proxies(rec, last_n_tokens=2) == instance_proxies(tail, last_n_tokens=None)
    assert instance_proxies(rec, last_n_tokens=2)["top1@uniform"] == 0.0
    assert instance_proxies(rec, last_n_tokens=1000) == instance_proxies(rec, last_n_tokens=None)


def test_task_proxies_average_instances_and_share_frequencies():
    a = three_tokens((7, 8, 7))
    b = three_tokens((9, 9, 9))
    counts = count_target_tokens([a, b])
    assert counts == Counter({7: 2, 8: 1, 9: 3})
    task = task_proxies([a, b])
    # With task-level counts, instance a's token frequencies become 2/6, 1/6, 2/6 (same ratios),
    # and b's are constant: its freq-weighted mean is the plain mean.
    assert task["top1@freq"] == pytest.approx(((2 / 6) / (5 / 6) + 1 / 3) / 2)
    assert task["xent@uniform"] == pytest.approx(2 * LN2)
    singles = [instance_proxies(r, counts) for r in (a, b)]
    for name in proxy_names():
        assert task[name] == pytest.approx((singles[0][name] + singles[1][name]) / 2)
    assert proxy_vector(task).shape == (80,)


def test_better_model_scores_better_on_every_oriented_statistic():
    weak = three_tokens()
    strong = TokenRecord(
        logprob=np.log([0.9, 0.8, 0.7]),
        entropy=[0.2, 0.3, 0.4],
        rank=[1, 1, 1],
        top1_prob=[0.9, 0.8, 0.7],
        target_ids=[7, 8, 7],
        vocab_size=16,
    )
    pw, ps = instance_proxies(weak), instance_proxies(strong)
    for stat in ("xent", "top1", "top2", "norm_entropy", "rank", "recip_rank", "wrong_conf"):
        name = f"{stat}@uniform"
        assert proxy_sign(name) * (ps[name] - pw[name]) > 0, name


def test_all_zero_weights_fall_back_to_the_plain_mean():
    certain = TokenRecord([0.0, 0.0], [0.0, 0.0], [1, 1], [1.0, 1.0], [1, 2], vocab_size=4)
    p = instance_proxies(certain)
    assert p["top1@one_minus_prob"] == 1.0
    assert p["top1@entropy"] == 1.0
    assert all(np.isfinite(v) for v in p.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": [1, 2]}, "same tokens"),
        ({"rank": [0, 1, 2]}, "rank"),
        ({"logprob": [0.1, -1.0, -2.0]}, "logprob"),
        ({"logprob": [np.nan, -1.0, -2.0]}, "non-finite"),
        ({"top1_prob": [0.1, 0.5, 0.5]}, "inconsistent"),
        ({"entropy": [[1.0, 1.0, 1.0]]}, "1-D"),
        ({"vocab_size": 1}, "vocab_size"),
        ({"rank": [1.5, 2, 3]}, "integers"),
    ],
)
def test_bad_records_are_rejected_clearly(kwargs, message):
    base: dict[str, Any] = dict(
        logprob=np.log([0.5, 0.25, 0.125]),
        entropy=[0.5, 1.0, 2.0],
        rank=[1, 2, 3],
        top1_prob=[0.5, 0.5, 0.5],
        target_ids=[7, 8, 7],
        vocab_size=16,
    )
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        TokenRecord(**base)


def test_bad_options_are_rejected_clearly():
    rec = three_tokens()
    with pytest.raises(ValueError, match="at least one"):
        TokenRecord([], [], [], [], [], vocab_size=4)
    with pytest.raises(ValueError, match="last_n_tokens"):
        instance_proxies(rec, last_n_tokens=0)
    with pytest.raises(ValueError, match="no positive count"):
        instance_proxies(rec, {7: 3})
    with pytest.raises(ValueError, match="non-empty"):
        task_proxies([])
    with pytest.raises(ValueError, match="unknown proxy"):
        split_proxy_name("top4@freq")
