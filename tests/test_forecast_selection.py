"""Model-selection scorers and the leave-two-tasks-out protocol."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from lmforecast.forecast.selection import (
    SCORERS,
    fit_best_single,
    fit_ranksvm_linear,
    fit_ranksvm_rbf,
    fit_sparse_linear,
    leave_two_tasks_out,
    proxy_spearman,
    single_feature_scorer,
    zscore_within_task,
)


def population(n_tasks=3, n_models=20, n_feat=6, seed=0, noise=0.0):
    """Truth is a fixed linear function of z-scored features 1, 3 and 4 (separable pairs)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_tasks, n_models, n_feat)) * rng.uniform(
        0.5, 3, size=(n_tasks, 1, n_feat)
    )
    Z = zscore_within_task(X)
    Y = 1.0 * Z[:, :, 1] - 0.7 * Z[:, :, 3] + 0.4 * Z[:, :, 4]
    Y = Y + noise * rng.normal(size=Y.shape)
    return X, Y


def test_zscore_within_task():
    X = np.array([[[1.0, 4.0], [3.0, 4.0]], [[10.0, 0.0], [30.0, 2.0]]])
    Z = zscore_within_task(X)
    assert Z.tolist() == [[[-1.0, 0.0], [1.0, 0.0]], [[-1.0, -1.0], [1.0, 1.0]]]


def test_proxy_spearman_matches_scipy():
    X, Y = population()
    rho = proxy_spearman(X, Y)
    assert rho.shape == (3, 6)
    assert rho[2, 3] == pytest.approx(scipy.stats.spearmanr(X[2, :, 3], Y[2]).statistic)


def test_best_single_picks_the_oriented_proxy():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(2, 15))
    X = rng.normal(size=(2, 15, 4))
    X[:, :, 2] = -Y + 0.01 * rng.normal(size=Y.shape)  # lower is better, like cross-entropy
    scorer = fit_best_single(X, Y)
    assert scorer.columns == (2,) and scorer.weights == (-1.0,)
    assert scipy.stats.spearmanr(scorer(X[0]), Y[0]).statistic > 0.99


@pytest.mark.parametrize("search", ["greedy", "exhaustive"])
def test_sparse3_recovers_the_support(search):
    X, Y = population(n_feat=8)
    scorer = fit_sparse_linear(zscore_within_task(X), Y, search=search, candidates=6)
    assert sorted(scorer.columns) == [1, 3, 4]
    w = dict(zip(scorer.columns, scorer.weights, strict=True))
    assert w[1] > 0 > w[3] and w[4] > 0


def test_ranksvm_recovers_the_ordering_on_a_separable_set():
    X, Y = population(n_tasks=3)
    Z = zscore_within_task(X)
    lin = fit_ranksvm_linear(Z[:2], Y[:2])
    assert scipy.stats.spearmanr(lin(Z[2]), Y[2]).statistic > 0.99
    rbf = fit_ranksvm_rbf(Z[:2], Y[:2])
    assert scipy.stats.spearmanr(rbf(Z[2]), Y[2]).statistic > 0.9


def test_leave_two_tasks_out_folds_and_scores():
    X, Y = population(n_tasks=4, noise=0.05)
    res = leave_two_tasks_out(X, Y)
    assert (
        set(res)
        == set(SCORERS.names())
        == {
            "best_single",
            "sparse3",
            "ranksvm_linear",
            "ranksvm_rbf",
        }
    )
    r = res["ranksvm_linear"]
    assert r.held_out == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    assert len(r.fold_spearman) == 6
    assert r.mean_spearman == pytest.approx(np.mean(r.fold_spearman))
    assert r.ci[0] <= r.mean_spearman <= r.ci[1]
    assert res["sparse3"].mean_spearman > 0.95 and r.mean_spearman > 0.95
    assert res["sparse3"].mean_spearman > res["best_single"].mean_spearman


def test_three_tasks_give_three_folds_and_baselines_are_scorers():
    X, Y = population(n_tasks=3)
    X[:, :, 0] = Y  # a perfect feature ...
    X[:, :, 5] = -Y  # ... and a perfect lower-is-better one
    res = leave_two_tasks_out(
        X,
        Y,
        {
            "feat0": single_feature_scorer(0),
            "xent_like": single_feature_scorer(5, sign=-1.0),
            "wrong_way": single_feature_scorer(5),
        },
    )
    assert res["feat0"].fold_spearman == pytest.approx((1.0, 1.0, 1.0))
    assert res["feat0"].held_out == ((0, 1), (0, 2), (1, 2))
    assert res["xent_like"].mean_spearman == pytest.approx(1.0)
    assert res["wrong_way"].mean_spearman == pytest.approx(-1.0)
    assert res["feat0"].ci == pytest.approx((1.0, 1.0))


def test_bad_input_is_rejected_clearly():
    X, Y = population(n_tasks=3)
    with pytest.raises(ValueError, match="at least 3 tasks"):
        leave_two_tasks_out(X[:2], Y[:2])
    with pytest.raises(ValueError, match="same tasks and models"):
        leave_two_tasks_out(X, Y[:, :5])
    with pytest.raises(ValueError, match=r"task, model, proxy"):
        leave_two_tasks_out(X[0], Y)
    Y_flat = Y.copy()
    Y_flat[1] = 0.5
    with pytest.raises(ValueError, match=r"same for every model on task\(s\) \[1\]"):
        leave_two_tasks_out(X, Y_flat)
    X_nan = X.copy()
    X_nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        leave_two_tasks_out(X_nan, Y)
    with pytest.raises(ValueError, match="unknown selection scorer"):
        leave_two_tasks_out(X, Y, ["ranksvm_poly"])
    with pytest.raises(ValueError, match="search"):
        fit_sparse_linear(X, Y, search="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sign"):
        single_feature_scorer(0, sign=2.0)
