"""Probes on synthetic features with a known answer, the split by problem, and the metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforecast.engine.features import PromptFeatures
from lmforecast.experiments.probes.evaluate import baseline_features, evaluate_probe, transfer
from lmforecast.forecast.classification import (
    auroc,
    brier,
    classification_metrics,
    expected_calibration_error,
    group_bootstrap_weights,
)
from lmforecast.signals.probes.probes import (
    PROBES,
    LogRegOptions,
    LogRegProbe,
    group_folds,
    make_probe,
    soft_bce,
)
from lmforecast.signals.probes.torch_probes import MLPOptions, MLPProbe, TorchTraining

N_PROBLEMS, PER_PROBLEM, SAMPLES = 120, 3, 8


def planted(seed: int = 0, d: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, soft labels (share of 8 Bernoulli draws of sigmoid(w.x)), true p, problems."""
    rng = np.random.default_rng(seed)
    n = N_PROBLEMS * PER_PROBLEM
    x = rng.normal(size=(n, d))
    w = np.linspace(1.5, -1.0, d)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    labels = rng.binomial(SAMPLES, p) / SAMPLES
    groups = np.repeat(np.arange(N_PROBLEMS), PER_PROBLEM)
    return x, labels, p, groups


def as_features(x: np.ndarray) -> PromptFeatures:
    """Synthetic matrix as one-layer prompt features (the pooled path of real features)."""
    states = x[:, None, :].astype(np.float16)
    return PromptFeatures((3,), 4, states, states * 0, np.ones(len(x), dtype=np.int64))


def test_logreg_reaches_the_bayes_auroc_and_noise_gives_chance() -> None:
    x, labels, p, groups = planted()
    bayes = auroc(p, labels)
    found = evaluate_probe("logreg", as_features(x), labels, groups, n_boot=200)
    m = found.metrics
    assert m.auroc > bayes - 0.04, (m.auroc, bayes)
    assert m.brier < 0.06 and m.ece < 0.08
    assert abs(m.accuracy_error) < 0.03
    lo, hi = m.intervals["auroc"]
    assert lo < m.auroc < hi
    noise = np.random.default_rng(1).normal(size=(len(labels), 3))
    chance = evaluate_probe("logreg", noise, labels, groups, n_boot=0).metrics.auroc
    assert 0.4 < chance < 0.6
    assert m.n_groups == N_PROBLEMS and found.folds == 5


def test_mlp_learns_the_planted_rule_and_is_seeded() -> None:
    x, labels, p, groups = planted(seed=2)
    options = MLPOptions(hidden=16, training=TorchTraining(epochs=30, weight_decays=(1e-3,)))
    first = evaluate_probe(lambda: MLPProbe(options), x, labels, groups, folds=3, n_boot=0)
    again = evaluate_probe(lambda: MLPProbe(options), x, labels, groups, folds=3, n_boot=0)
    np.testing.assert_array_equal(first.predictions, again.predictions)
    assert first.metrics.auroc > auroc(p, labels) - 0.08


def test_inner_cv_chooses_c_from_the_grid() -> None:
    x, labels, _, groups = planted(seed=3)
    probe = LogRegProbe(LogRegOptions(cs=(1e-4, 1.0))).fit(x, labels, groups)
    assert probe.c == 1.0  # a strong signal: hardly any regularisation wins
    assert isinstance(make_probe("logreg"), LogRegProbe)
    assert {"logreg", "mlp", "attention", "submodel"} <= set(PROBES.names())


def test_transfer_to_a_drifted_checkpoint() -> None:
    x, labels, p, groups = planted(seed=4)
    rng = np.random.default_rng(5)
    drifted = x + rng.normal(scale=0.3, size=x.shape)  # the later checkpoint's states
    later = rng.binomial(SAMPLES, np.clip(p * 1.1, 0, 1)) / SAMPLES  # and its labels
    found = transfer(x, labels, drifted, later, "logreg", groups, n_boot=0)
    assert found.metrics.auroc > 0.75
    assert found.metrics.true_accuracy == pytest.approx(later.mean())
    assert found.notes


def test_baselines_are_matrices_from_the_caller() -> None:
    _, labels, p, groups = planted(seed=6)
    xent = -np.log(p) + np.random.default_rng(7).normal(scale=0.5, size=len(p))
    length = np.random.default_rng(8).integers(5, 50, size=len(p))
    both = baseline_features(xent, length)
    assert both.shape == (len(p), 2)
    found = evaluate_probe("logreg", both, labels, groups, folds=3, n_boot=0)
    assert found.metrics.auroc > 0.7  # the cross-entropy column carries the signal


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=30),
    folds=st.integers(2, 6),
    seed=st.integers(0, 10_000),
)
def test_a_problem_is_never_on_both_sides(sizes: list[int], folds: int, seed: int) -> None:
    groups = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    np.random.default_rng(seed).shuffle(groups)
    seen = np.zeros(len(groups), dtype=int)
    splits = group_folds(groups, folds, seed)
    assert len(splits) == min(folds, len(sizes))
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        seen[test] += 1
    assert np.all(seen == 1)


def test_metrics_on_hand_computed_examples() -> None:
    pred = np.array([0.1, 0.4, 0.35, 0.8])
    labels = np.array([0.0, 0.0, 1.0, 1.0])
    assert auroc(pred, labels) == pytest.approx(0.75)  # 3 of 4 (pos, neg) pairs ordered
    assert brier(pred, labels) == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    # bins of width 0.1: {0.1} gap 0.1; {0.4} gap 0.4; {0.35} gap 0.65; {0.8} gap 0.2
    assert expected_calibration_error(pred, labels) == pytest.approx((0.1 + 0.4 + 0.65 + 0.2) / 4)
    # two bins: [0, 0.5) holds 0.1, 0.4, 0.35 (mean 0.2833 vs 1/3); [0.5, 1] holds 0.8 vs 1
    two = 0.75 * abs((0.1 + 0.4 + 0.35) / 3 - 1 / 3) + 0.25 * 0.2
    assert expected_calibration_error(pred, labels, n_bins=2) == pytest.approx(two)
    assert expected_calibration_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert np.isnan(auroc(pred, np.ones(4)))
    assert soft_bce(np.array([0.5]), np.array([0.25])) == pytest.approx(np.log(2))


def test_bootstrap_resamples_whole_problems() -> None:
    groups = np.array(["a", "a", "b", "c", "c", "c"])
    weights = group_bootstrap_weights(groups, 50, seed=0)
    assert weights.shape == (50, 6)
    assert np.all(weights[:, 0] == weights[:, 1]) and np.all(weights[:, 3] == weights[:, 5])
    assert np.all(weights[:, [0, 2, 3]].sum(1) == 3)  # three problems drawn per replicate
    pred = np.array([0.9, 0.7, 0.2, 0.4, 0.1, 0.3])
    labels = np.array([1.0, 0.75, 0.25, 0.5, 0.0, 0.125])
    m = classification_metrics(pred, labels, groups, n_boot=100)
    assert m.n == 6 and m.n_groups == 3
    for name, (lo, hi) in m.intervals.items():
        assert lo <= hi, name
    assert m.to_dict()["predicted_accuracy"] == pytest.approx(pred.mean())


def test_attention_probe_finds_the_one_token_that_decides() -> None:
    """Success is decided by one token's first coordinate at a random position of a prompt of
    random length: attention over the tokens finds it; predictions do not depend on which
    rows share a batch (the padded states are cut to each batch's longest prompt)."""
    from lmforecast.signals.probes.torch_probes import AttentionOptions, AttentionProbe

    rng = np.random.default_rng(0)
    n, h = 240, 4
    tokens, y = [], []
    for _ in range(n):
        t = rng.normal(scale=0.3, size=(int(rng.integers(3, 9)), h))
        sign = rng.choice([-1.0, 1.0])
        t[int(rng.integers(len(t))), :2] = [3.0 * sign, 3.0]  # the marked token
        tokens.append(t[:, None, :].astype(np.float16))
        y.append(float(rng.binomial(SAMPLES, 0.9 if sign > 0 else 0.1)) / SAMPLES)
    pooled = np.zeros((n, 1, h), dtype=np.float16)
    lengths = np.asarray([len(t) for t in tokens], dtype=np.int64)
    features = PromptFeatures((2,), 2, pooled, pooled, lengths, tuple(tokens))
    quick = TorchTraining(epochs=40, weight_decays=(1e-3,))
    options = AttentionOptions(layer=2, training=quick)
    ev = evaluate_probe(lambda: AttentionProbe(options), features, np.asarray(y),
                        np.arange(n), folds=3, n_boot=0)  # fmt: skip
    assert ev.metrics.auroc > 0.9
    probe = AttentionProbe(options).fit(features, np.asarray(y), np.arange(n))
    whole = probe.predict_proba(features)
    one_by_one = np.concatenate([probe.predict_proba(features.subset([i])) for i in range(8)])
    np.testing.assert_allclose(whole[:8], one_by_one, atol=1e-6)


def test_fold_probes_fitted_once_give_the_same_transfer_as_refitting() -> None:
    """The experiment fits each checkpoint's fold probes once and applies them to every later
    checkpoint: the predictions are exactly those of :func:`transfer`, which refits."""
    from lmforecast.experiments.probes.evaluate import evaluate_folds, fit_folds

    x, y, _, groups = planted(seed=3)
    x_later, y_later, _, _ = planted(seed=4)
    fitted = fit_folds(LogRegProbe, as_features(x), y, groups, 4, 0)
    own = evaluate_folds(fitted, as_features(x), y, groups, name="logreg", n_boot=0)
    later = evaluate_folds(fitted, as_features(x_later), y_later, groups, name="logreg", n_boot=0)
    np.testing.assert_array_equal(
        own.predictions, evaluate_probe("logreg", as_features(x), y, groups, folds=4,
                                        n_boot=0).predictions,
    )  # fmt: skip
    refit = transfer(as_features(x), y, as_features(x_later), y_later, "logreg", groups,
                     folds=4, n_boot=0)  # fmt: skip
    np.testing.assert_array_equal(later.predictions, refit.predictions)
    np.testing.assert_array_equal(later.fold, refit.fold)
