"""Agreement of a signal with truth: rank correlations, decision accuracy, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from lmforecast.forecast.agreement import (
    _bootstrap,
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


# --- resampling models (two-way bootstrap) ---------------------------------------------------


def _three_models() -> tuple[np.ndarray, np.ndarray]:
    """Signal 1 < 2 < 3, truth 1 < 3 < 2, every example the same: only the model draw varies."""
    signal = np.repeat([[1.0], [2.0], [3.0]], 4, axis=1)
    truth = np.repeat([[1.0], [3.0], [2.0]], 4, axis=1)
    return signal, truth


def test_model_resampling_by_hand():
    """The 27 equally likely draws of 3 models from 3, enumerated by hand.

    All three the same (3 draws): nothing to rank, nan. Two distinct models (18 draws; the copy
    pair is tied in truth and left out): pairs (0,1) and (0,2) are ordered right (12 draws:
    decision accuracy 1, Spearman +1), pair (1,2) wrong (6 draws: 0, -1). All distinct (6
    draws): the point values, 2/3 and 0.5.
    """
    signal, truth = _three_models()
    rho, _, acc = _bootstrap(signal, truth, 6000, np.random.default_rng(0), "models")
    share = lambda x, v: np.mean(np.isclose(x, v))  # noqa: E731
    assert np.mean(np.isnan(acc)) == pytest.approx(3 / 27, abs=0.02)
    assert np.array_equal(np.isnan(acc), np.isnan(rho))
    for value, draws in ((1.0, 12), (0.0, 6), (2 / 3, 6)):
        assert share(acc, value) == pytest.approx(draws / 27, abs=0.02)
    for value, draws in ((1.0, 12), (-1.0, 6), (0.5, 6)):
        assert share(rho, value) == pytest.approx(draws / 27, abs=0.02)
    # 2/9 of the defined replicates sit at each end: the 95% interval spans them.
    a = agreement(signal, truth, n_boot=2000, resample="models")
    assert a.decision_accuracy_ci == (0.0, 1.0) and a.spearman_ci == (-1.0, 1.0)
    assert (a.decision_accuracy, a.spearman) == (pytest.approx(2 / 3), pytest.approx(0.5))
    # Examples alone cannot move anything here.
    e = agreement(signal, truth, n_boot=200)
    assert e.decision_accuracy_ci == (pytest.approx(2 / 3),) * 2 and e.spearman_ci == (0.5, 0.5)


def test_a_model_and_its_copy_are_not_a_pair():
    """Model 0 drawn twice: pairs (0,2) and (0,3) count twice each, (2,3) once, (0,0') never."""
    s = np.array([[1.0, 1.0, 2.0, 3.0]])
    t = np.array([[1.0, 1.0, 3.0, 2.0]])
    rho, tau, acc = _rank_stats(s, t)
    assert acc[0] == pytest.approx(4 / 5)
    assert rho[0] == pytest.approx(scipy.stats.spearmanr(s[0], t[0]).statistic)  # average ranks
    assert tau[0] == pytest.approx(scipy.stats.kendalltau(s[0], t[0]).statistic)


def test_two_way_bootstrap_is_deterministic_and_keeps_the_point():
    signal, truth = _noisy_population(n_models=12)
    a = agreement(signal, truth, n_boot=300, seed=7, resample="both")
    assert a == agreement(signal, truth, n_boot=300, seed=7, resample="both")
    assert (
        a.spearman_ci != agreement(signal, truth, n_boot=300, seed=8, resample="both").spearman_ci
    )
    e = agreement(signal, truth, n_boot=300, seed=7)
    assert (e.resample, e.resampling) == ("examples", "examples")
    assert (a.resample, a.resampling) == ("both", "models+examples")
    assert (a.spearman, a.kendall, a.decision_accuracy) == (
        e.spearman,
        e.kendall,
        e.decision_accuracy,
    )
    assert (a.n_models, a.n_examples, a.n_boot) == (12, 40, 300)
    for point, (lo, hi) in (
        (a.spearman, a.spearman_ci),
        (a.decision_accuracy, a.decision_accuracy_ci),
    ):
        assert lo <= point <= hi


def test_two_way_replicates_are_memory_bounded(monkeypatch: pytest.MonkeyPatch):
    """A cell budget of one replicate (3 models: 9 pair cells) still gives every replicate,
    each one a valid draw of the hand-checked case above."""
    import importlib

    module = importlib.import_module("lmforecast.forecast.agreement")
    monkeypatch.setattr(module, "_MAX_CHUNK_CELLS", 9)
    signal, truth = _three_models()
    rho, tau, acc = _bootstrap(signal, truth, 300, np.random.default_rng(0), "both")
    assert rho.shape == tau.shape == acc.shape == (300,)
    finite = acc[np.isfinite(acc)]
    assert np.all(np.isclose(finite[:, None], [0.0, 2 / 3, 1.0]).any(axis=1))
    assert np.mean(np.isclose(finite, 1.0)) == pytest.approx(12 / 24, abs=0.1)


def test_model_resampling_widens_the_interval():
    """Many examples, few models: example noise is small, the model draw is not."""
    signal, truth = _noisy_population(seed=2, n_models=10, n_examples=400)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    e = agreement(signal, truth, n_boot=1000, seed=0)
    b = agreement(signal, truth, n_boot=1000, seed=0, resample="both")
    assert width(b.spearman_ci) > 1.5 * width(e.spearman_ci)
    assert width(b.decision_accuracy_ci) > 1.5 * width(e.decision_accuracy_ci)


def test_bad_resample_is_rejected():
    with pytest.raises(ValueError, match="resample"):
        agreement(np.eye(3), np.eye(3), resample="rows")  # type: ignore[arg-type]


def _population_draw(rng: np.random.Generator, n_models: int, n_examples: int, r: float):
    """Models drawn from a population: latent truth z and signal x with correlation ``r``;
    each example adds unit Gaussian noise to both."""
    z = rng.normal(size=n_models)
    x = r * z + np.sqrt(1 - r * r) * rng.normal(size=n_models)
    signal = x[:, None] + rng.normal(size=(n_models, n_examples))
    truth = z[:, None] + rng.normal(size=(n_models, n_examples))
    return signal, truth


def test_two_way_intervals_cover_the_population_value():
    """Coverage of the population's Spearman, over independent draws of models and examples.

    Model means are bivariate normal with correlation r' = r / (1 + 1/n_examples) (the example
    noise adds variance 1/n to each), so the population Spearman is (6/pi) asin(r'/2)
    (Pearson's formula for normal data): asin(0.29703) = 0.30157, times 6/pi = 0.5760 here.
    Example-only intervals describe the drawn models and miss that value most of the time
    (about a third of draws are covered, over several generator seeds); two-way intervals cover
    it near the nominal 95% (0.93-1.0 over the same seeds).
    """
    r, n_models, n_examples, trials = 0.6, 20, 100, 60
    rho_pop = 6 / np.pi * np.arcsin(r / (1 + 1 / n_examples) / 2)
    assert rho_pop == pytest.approx(0.5760, abs=1e-4)
    rng = np.random.default_rng(11)
    covered = {"examples": 0, "both": 0}
    for trial in range(trials):
        signal, truth = _population_draw(rng, n_models, n_examples, r)
        for mode in covered:
            lo, hi = agreement(signal, truth, n_boot=200, seed=trial, resample=mode).spearman_ci
            covered[mode] += lo <= rho_pop <= hi
    assert covered["both"] / trials >= 0.85
    assert covered["examples"] / trials <= 0.5
