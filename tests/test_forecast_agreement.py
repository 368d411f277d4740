"""Agreement of a signal with truth: rank correlations, decision accuracy, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from lmforecast.forecast.agreement import (
    _rank_stats,
    agreement,
    decision_accuracy,
    kendall,
    rank_agreement,
    spearman,
)


def test_decision_accuracy_by_hand():
    assert decision_accuracy([1, 2, 3], [1, 3, 2]) == pytest.approx(2 / 3)
    assert decision_accuracy([3, 2, 1], [1, 2, 3]) == 0.0
    assert decision_accuracy([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    # signal tie on an untied truth pair counts half: (1,2) -> 1/2, (1,3), (2,3) -> 1
    assert decision_accuracy([5, 5, 9], [1, 2, 3]) == pytest.approx(2.5 / 3)
    # truth tie excluded: only pairs (1,3), (2,3) count; signal gets (1,3) right, (2,3) wrong
    assert decision_accuracy([1, 3, 2], [0, 0, 1]) == pytest.approx(1 / 2)
    assert math.isnan(decision_accuracy([1, 2, 3], [4, 4, 4]))


def test_rank_correlations_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([4, 3, 2, 1], [10, 20, 30, 40]) == pytest.approx(-1.0)
    assert kendall([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    r = rank_agreement([0.1, 0.4, 0.3], [1, 2, 3])
    assert (r.spearman, r.decision_accuracy, r.n_models) == (pytest.approx(0.5), 2 / 3, 3)


def test_vectorised_statistics_match_scipy_with_ties():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 4, size=(50, 7)).astype(float)
    t = rng.integers(0, 5, size=(50, 7)).astype(float)
    rho, tau, acc = _rank_stats(s, t)
    for r in range(50):
        if np.ptp(s[r]) == 0 or np.ptp(t[r]) == 0:
            continue
        assert rho[r] == pytest.approx(scipy.stats.spearmanr(s[r], t[r]).statistic)
        assert tau[r] == pytest.approx(scipy.stats.kendalltau(s[r], t[r]).statistic)
        assert acc[r] == pytest.approx(decision_accuracy(s[r], t[r]))


def _noisy_population(seed: int = 0, n_models: int = 6, n_examples: int = 40):
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.2, 0.8, n_models)
    truth = (rng.random((n_models, n_examples)) < skill[:, None]).astype(float)
    signal = skill[:, None] + rng.normal(0, 0.5, size=(n_models, n_examples))
    return signal, truth


def test_bootstrap_interval_contains_point_and_is_deterministic():
    signal, truth = _noisy_population(n_models=12)
    a = agreement(signal, truth, n_boot=300, seed=7)
    b = agreement(signal, truth, n_boot=300, seed=7)
    c = agreement(signal, truth, n_boot=300, seed=8)
    assert a == b
    assert (a.spearman_ci, a.kendall_ci) != (c.spearman_ci, c.kendall_ci)
    for point, (lo, hi) in (
        (a.spearman, a.spearman_ci),
        (a.kendall, a.kendall_ci),
        (a.decision_accuracy, a.decision_accuracy_ci),
    ):
        assert lo <= point <= hi
        assert lo < hi
    assert (a.n_models, a.n_examples, a.n_boot) == (12, 40, 300)
    direct = rank_agreement(signal.mean(axis=1), truth.mean(axis=1))
    assert a.spearman == direct.spearman and a.decision_accuracy == direct.decision_accuracy


def test_identical_examples_give_a_degenerate_interval():
    signal = np.repeat([[0.1], [0.5], [0.3]], 5, axis=1)
    truth = np.repeat([[0.0], [1.0], [0.5]], 5, axis=1)
    a = agreement(signal, truth, n_boot=50)
    assert a.spearman_ci == (1.0, 1.0) and a.decision_accuracy_ci == (1.0, 1.0)


def test_no_bootstrap_gives_nan_intervals():
    signal, truth = _noisy_population()
    a = agreement(signal, truth, n_boot=0)
    assert all(math.isnan(v) for v in a.kendall_ci)


def test_more_examples_narrow_the_interval():
    small = agreement(*_noisy_population(n_examples=20), n_boot=300)
    large = agreement(*_noisy_population(n_examples=400), n_boot=300)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(large.decision_accuracy_ci) < width(small.decision_accuracy_ci)


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="same models"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 models"):
        decision_accuracy([1], [1])
    with pytest.raises(ValueError, match="non-finite"):
        kendall([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="same shape"):
        agreement(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="model, example"):
        agreement([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="same for every model"):
        agreement(np.eye(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="n_boot"):
        agreement(np.eye(3), np.eye(3), n_boot=-1)
    with pytest.raises(ValueError, match="confidence"):
        agreement(np.eye(3), np.eye(3), confidence=1.5)
