"""Signal -> accuracy maps and their held-out evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from lmforecast.core.errors import UserError
from lmforecast.forecast.regression import (
    REGRESSORS,
    evaluate_regression,
    fit_isotonic,
    fit_linear,
    fit_regression,
    fit_sigmoid,
    held_out_r2,
)


def test_registry_has_the_three_maps():
    assert REGRESSORS.names() == ["isotonic", "linear", "sigmoid"]


def test_linear_fit_is_exact_on_a_line():
    fit = fit_linear([0, 1, 2, 3], [1, 3, 5, 7])
    assert (fit.slope, fit.intercept) == pytest.approx((2.0, 1.0))


@pytest.mark.parametrize(("a", "k", "x0", "b"), [(0.6, 2.0, 0.5, 0.2), (0.5, -8.0, 2.2, 0.25)])
def test_sigmoid_recovers_its_parameters(a, k, x0, b):
    x = np.linspace(x0 - 3 / abs(k) * 2, x0 + 3 / abs(k) * 2, 15)
    y = a / (1 + np.exp(-k * (x - x0))) + b
    fit = fit_sigmoid(x, y)
    assert (fit.a, fit.k, fit.x0, fit.b) == pytest.approx((a, k, x0, b), abs=1e-4)
    assert fit.predict(x) == pytest.approx(y, abs=1e-6)


def test_sigmoid_is_robust_to_one_outlier():
    x = np.linspace(2.0, 4.0, 21)  # e.g. a loss: accuracy falls as it rises
    y = 0.7 / (1 + np.exp(4.0 * (x - 3.0))) + 0.1
    y_bad = y.copy()
    y_bad[10] += 0.5
    fit = fit_sigmoid(x, y_bad)
    others = np.arange(21) != 10
    assert np.max(np.abs(fit.predict(x[others]) - y[others])) < 0.02
    assert fit.k < 0


def test_isotonic_direction_follows_spearman():
    up = fit_isotonic([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.9])
    assert up.increasing
    assert up.predict([1, 2, 3, 4]) == pytest.approx([0.1, 0.25, 0.25, 0.9])
    down = fit_isotonic([1, 2, 3, 4], [0.9, 0.2, 0.3, 0.1])
    assert not down.increasing
    assert down.predict([0, 10]) == pytest.approx([0.9, 0.1])  # flat beyond the data


def test_leave_one_out_by_hand():
    # hold out x=0: line (1,1)-(2,3) predicts -1; x=1: (0,0)-(2,3) predicts 1.5;
    # x=2: (0,0)-(1,1) predicts 2. Residuals 1, -0.5, 1.
    ev = evaluate_regression([0, 1, 2], [0, 1, 3], "linear")
    assert ev.scheme == "loo" and ev.n_folds == 3
    assert ev.predictions == pytest.approx((-1.0, 1.5, 2.0))
    assert ev.mae == pytest.approx(2.5 / 3)
    assert ev.r2 == pytest.approx(1 - 2.25 / (42 / 9))
    lo, hi = ev.interval
    assert lo == pytest.approx(np.quantile([1, -0.5, 1], 0.05))
    assert hi == pytest.approx(1.0)
    assert ev.prediction_interval(0.5) == pytest.approx((0.5 + lo, 1.5))


def test_leave_one_group_out_never_sees_the_family():
    # family "b" sits off the line of the others: held out, it is predicted from a and c only
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [1.0, 2.0, 13.0, 14.0, 5.0, 6.0]
    ev = evaluate_regression(x, y, "linear", groups=["a", "a", "b", "b", "c", "c"])
    assert ev.scheme == "logo" and ev.n_folds == 3
    assert ev.predictions[2:4] == pytest.approx((3.0, 4.0))
    loo = evaluate_regression(x, y, "linear")
    assert loo.n_folds == 6


def test_good_and_bad_maps_are_told_apart():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 1, 30))
    y = 0.8 / (1 + np.exp(-12 * (x - 0.5))) + 0.1 + rng.normal(0, 0.01, 30)
    sig = evaluate_regression(x, y, "sigmoid")
    lin = evaluate_regression(x, y, "linear")
    iso = evaluate_regression(x, y, "isotonic")
    assert sig.r2 > 0.98 and sig.mae < lin.mae and iso.r2 > 0.9
    assert 0.8 <= sig.coverage <= 1.0
    assert held_out_r2(y, np.full_like(y, y.mean())) == pytest.approx(0.0)


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="same length"):
        fit_linear([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="distinct x"):
        fit_linear([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 4 points"):
        fit_sigmoid([1, 2, 3], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        fit_isotonic([1, np.inf], [1, 2])
    with pytest.raises(ValueError, match="one label per point"):
        evaluate_regression([1, 2, 3], [1, 2, 3], groups=["a", "b"])
    with pytest.raises(ValueError, match="at least 2 groups"):
        evaluate_regression([1, 2, 3], [1, 2, 3], groups=["a", "a", "a"])
    with pytest.raises(ValueError, match="fold"):
        evaluate_regression([1, 2, 3, 4], [1, 2, 3, 4], "sigmoid")
    with pytest.raises(ValueError, match="level"):
        evaluate_regression([1, 2, 3], [1, 2, 3], level=1.0)
    with pytest.raises(UserError, match="unknown regressor 'cubic'"):
        fit_regression([1, 2], [1, 2], "cubic")
    with pytest.raises(ValueError, match="unknown regressor"):
        fit_regression([1, 2], [1, 2], "cubic")
