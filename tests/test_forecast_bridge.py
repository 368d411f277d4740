"""The bridge (proxy score -> target accuracy) with rBridge's protocol, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmforecast.forecast import InsufficientData
from lmforecast.forecast.bridge import (
    FORMS,
    evaluate_bridge,
    fit_bridge,
    fit_form,
    fold_labels,
    pair_at_equal_tokens,
)

XS = np.linspace(0.5, 3.0, 15)
EXACT = {
    "linear": 0.9 - 0.2 * XS,
    "logarithmic": 0.5 - 0.2 * np.log(XS),
    "quadratic": 0.1 * XS**2 - 0.5 * XS + 0.9,
    "exponential": 0.6 * np.exp(-1.2 * XS) + 0.1,
}


@pytest.mark.parametrize("form", FORMS)
def test_exact_data_of_each_form_is_recovered_and_chosen(form: str) -> None:
    fit = fit_bridge(XS, EXACT[form])
    assert fit.chosen.form == form
    assert fit.chosen.train_r2 == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(fit.predict([0.7, 2.2]), fit_form(XS, EXACT[form], form).predict(
        [0.7, 2.2]))  # fmt: skip
    others = [c.train_r2 for c in fit.candidates if c.form != form]
    assert form == "linear" or max(others) < 1 - 1e-6  # a different form does not fit exactly


def test_recovered_parameters() -> None:
    lin = fit_form(XS, EXACT["linear"], "linear")
    assert lin.params == pytest.approx((-0.2, 0.9))
    log = fit_form(XS, EXACT["logarithmic"], "logarithmic")
    assert log.params == pytest.approx((-0.2, 0.5))
    exp = fit_form(XS, EXACT["exponential"], "exponential")
    a, b, c = exp.params  # a * exp(b * (x - center) / scale) + c
    assert b / exp.scale == pytest.approx(-1.2, rel=1e-6)
    assert a * math.exp(-b * exp.center / exp.scale) == pytest.approx(0.6, rel=1e-6)
    assert c == pytest.approx(0.1, abs=1e-7)


def test_linear_beats_its_exact_quadratic_twin_on_ties() -> None:
    fit = fit_bridge(XS, EXACT["linear"])
    r2 = {c.form: c.train_r2 for c in fit.candidates}
    assert r2["quadratic"] == pytest.approx(1.0, abs=1e-12)  # fits as exactly
    assert fit.chosen.form == "linear"  # fewer parameters wins the tie


def test_logarithmic_form_needs_positive_x() -> None:
    x = np.linspace(-1.0, 2.0, 12)
    fit = fit_bridge(x, 0.3 * x + 0.1)
    assert "logarithmic" not in {c.form for c in fit.candidates}
    ev = evaluate_bridge(x, 0.3 * x + 0.1 + 0.01 * np.sin(7 * x))
    assert ev.skipped == ("logarithmic",)
    with pytest.raises(ValueError, match="x > 0"):
        fit_form(x, 0.3 * x, "logarithmic")
    pos = fit_form(XS, EXACT["logarithmic"], "logarithmic")
    with pytest.raises(ValueError, match="x > 0"):
        pos.predict([0.0])


def test_mae_on_a_known_case() -> None:
    """Two folds of five points on y = x, the second fold shifted up by 0.3. Each fold trains
    on the other's exact line, so every held-out error is 0.3: test MAE 0.3, train R^2 1; and
    the training points leave no residual to widen the interval, so no held-out point is
    inside it (coverage 0: the intervals do not peek at the held-out fold)."""
    x = np.arange(10.0)
    folds = fold_labels(10, 2, seed=3)
    y = x.copy()
    y[folds[1]] += 0.3
    ev = evaluate_bridge(x, y, k=2, seed=3, forms=("linear",))
    assert ev.fold_test_mae == pytest.approx((0.3, 0.3))
    assert ev.test_mae == pytest.approx(0.3) and ev.train_r2 == pytest.approx(1.0)
    assert ev.coverage == 0.0
    exact = evaluate_bridge(x, x * 2 + 1, k=5, seed=0)
    assert exact.test_mae == pytest.approx(0.0, abs=1e-9) and exact.form == "linear"
    assert exact.fold_forms == ("linear",) * 5 and exact.train_r2 == pytest.approx(1.0)


def test_folds_are_seeded_and_cover_every_point_once() -> None:
    a, b = fold_labels(17, 5, 4), fold_labels(17, 5, 4)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert sorted(np.concatenate(a).tolist()) == list(range(17))
    assert sorted(len(f) for f in a) == [3, 3, 3, 4, 4]
    assert [f.tolist() for f in fold_labels(17, 5, 5)] != [f.tolist() for f in a]


def test_interval_coverage_on_synthetic_noise_is_near_nominal() -> None:
    """Gaussian noise around a saturating curve: held-out points fall inside their 90%
    intervals about 90% of the time (60 data sets x 15 points = 900 held-out points)."""
    rng = np.random.default_rng(7)
    inside = []
    for rep in range(60):
        x = np.sort(rng.uniform(0.5, 3.0, 15))
        y = 0.6 * np.exp(-1.2 * x) + 0.1 + rng.normal(0, 0.01, 15)
        ev = evaluate_bridge(x, y, seed=rep, level=0.9)
        assert all(lo < p < hi for lo, p, hi in zip(ev.lows, ev.predictions, ev.highs,
                                                    strict=True))  # fmt: skip
        inside.append(ev.coverage)
    assert 0.85 <= float(np.mean(inside)) <= 0.95


def test_forecasts_carry_intervals() -> None:
    rng = np.random.default_rng(0)
    y = EXACT["linear"] + rng.normal(0, 0.01, XS.size)
    ev = evaluate_bridge(XS, y, level=0.8)
    (f,) = ev.forecast(1.5)
    assert f.low < f.prediction < f.high and f.level == 0.8
    assert f.high - f.prediction == pytest.approx(ev.half_width)
    assert f.prediction == pytest.approx(ev.final.predict([1.5])[0])
    assert 0 < ev.half_width < 0.1 and 0 <= ev.coverage <= 1


def test_too_few_points_or_flat_truth_are_insufficient() -> None:
    with pytest.raises(InsufficientData, match="5 training points per fold"):
        evaluate_bridge(XS[:6], EXACT["linear"][:6])
    evaluate_bridge(XS[:7], EXACT["linear"][:7])  # 7 points: folds of 2, 5 to train on
    with pytest.raises(InsufficientData, match="does not vary"):
        evaluate_bridge(XS, np.full(XS.size, 0.3))
    with pytest.raises(InsufficientData, match="at least 4 points"):
        fit_form(XS[:3], EXACT["quadratic"][:3], "quadratic")
    with pytest.raises(ValueError, match="finite"):
        fit_bridge([1.0, np.nan, 2.0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="level"):
        evaluate_bridge(XS, EXACT["linear"], level=1.0)


def test_pairing_at_equal_trained_tokens() -> None:
    tokens, x, y = pair_at_equal_tokens({1.0: 3.0, 2.0: 2.5}, {2.0: 0.4, 3.0: 0.5})
    assert tokens.tolist() == [2.0] and x.tolist() == [2.5] and y.tolist() == [0.4]
    with pytest.raises(InsufficientData, match="no checkpoint"):
        pair_at_equal_tokens({1.0: 3.0}, {2.0: 0.4})
