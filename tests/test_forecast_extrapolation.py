"""Training-time forecasting: power-law fits on an early window, extrapolated to the end."""

from __future__ import annotations

import numpy as np
import pytest

from lmforecast.forecast.extrapolation import (
    EXTRAPOLATORS,
    TrainingRun,
    compute_power_law,
    evaluate_extrapolation,
    fit_power_law,
    fit_window,
    proxy_extrapolation,
    two_step_ladder,
)

T = np.unique(np.round(np.geomspace(1, 1800, 40)))  # log-spaced checkpoints; window t <= 100


def power(t, a, b, c, increasing=True):
    return a - b * t ** (-c) if increasing else a + b * t ** (-c)


@pytest.mark.parametrize("t_unit", [1.0, 1e15])  # steps, or FLOPs
def test_exact_power_law_is_recovered(t_unit):
    t = np.array([1.0, 2, 3, 5, 8, 13, 21, 34]) * t_unit
    fit = fit_power_law(t, power(t / t_unit, 0.8, 0.5, 0.7))
    b_in_units = 0.5 * t_unit**0.7
    assert fit.a == pytest.approx(0.8, abs=1e-3)
    assert fit.c == pytest.approx(0.7, abs=1e-3)
    assert fit.b == pytest.approx(b_in_units, rel=1e-3)


def test_decreasing_loss_law_is_recovered():
    t = np.array([10.0, 20, 40, 80, 160])
    fit = fit_power_law(t, power(t, 2.1, 3.0, 0.4, increasing=False), increasing=False)
    assert (fit.a, fit.b, fit.c) == pytest.approx((2.1, 3.0, 0.4), abs=1e-3)
    assert not fit.increasing


def test_window_keeps_the_first_fraction():
    mask, t_final = fit_window(T, 1 / 18)
    assert t_final == 1800.0
    assert np.all(T[mask] <= 100) and np.all(T[~mask] > 100) and mask.sum() >= 3


def test_compute_power_law_extrapolates_an_exact_curve():
    acc = power(T, 0.85, 0.6, 0.5)
    assert compute_power_law(T, T, acc, 1 / 18) == pytest.approx(acc[-1], abs=1e-4)


def test_proxy_method_composes_power_law_and_linear_map():
    proxy = power(T, 2.0, 1.5, 0.6, increasing=False)  # e.g. a cross-entropy, falling
    acc = 1.2 - 0.4 * proxy  # accuracy is linear in the proxy
    assert proxy_extrapolation(T, proxy, acc, 1 / 18) == pytest.approx(acc[-1], abs=1e-4)
    rising = power(T, 0.9, 0.5, 0.4)  # e.g. top-5 hit rate, rising
    acc2 = 0.1 + 0.5 * rising
    assert proxy_extrapolation(T, rising, acc2, 1 / 18) == pytest.approx(acc2[-1], abs=1e-4)


def test_calibration_rescues_a_flat_early_accuracy():
    proxy = power(T, 0.9, 0.8, 0.5)  # 0.82 at the end of the window, 0.881 at t_final

    def to_acc(p):
        return np.clip((p - 0.83) / 0.07, 0.0, 1.0)  # zero until the proxy passes 0.83

    true_acc = to_acc(proxy)
    mask, _ = fit_window(T, 1 / 18)
    assert np.all(true_acc[mask] == 0.0) and true_acc[-1] > 0.7
    assert proxy_extrapolation(T, proxy, true_acc, 1 / 18) == pytest.approx(0.0)
    grid = np.linspace(0.83, 0.9, 8)
    calibrated = proxy_extrapolation(T, proxy, true_acc, 1 / 18, calibration=(grid, to_acc(grid)))
    assert calibrated == pytest.approx(true_acc[-1], abs=1e-3)


def test_two_step_ladder_with_calibration():
    loss = power(T, 1.5, 2.0, 0.3, increasing=False)

    def sigmoid(x):
        return 0.7 / (1 + np.exp(6.0 * (x - 2.0))) + 0.2

    acc = sigmoid(loss)
    grid = np.linspace(1.4, 3.6, 12)
    pred = two_step_ladder(T, loss, acc, 1 / 18, calibration=(grid, sigmoid(grid)))
    assert pred == pytest.approx(acc[-1], abs=1e-3)
    # without calibration the sigmoid is fitted on the window itself
    assert 0.0 <= two_step_ladder(T, loss, acc, 1 / 18) <= 1.0


def test_evaluate_extrapolation_scores_each_run_with_other_runs_calibration():
    seen: list[int] = []

    def half(t, proxy, accuracy, fit_fraction, *, calibration=None):
        seen.append(0 if calibration is None else len(calibration[0]))
        return 0.5

    t = np.arange(1.0, 37.0)
    runs = [
        TrainingRun("a", t, t, np.full(36, 0.7)),
        TrainingRun("b", t[:18], t[:18], np.full(18, 0.4)),
    ]
    res = evaluate_extrapolation(runs, half, 1 / 6, calibrate_on_other_runs=True)
    assert seen == [18, 36]  # each run is calibrated on the other run's checkpoints only
    assert res.mae == pytest.approx(0.15) and res.rmse == pytest.approx(np.sqrt(0.025))
    assert [(p.name, p.predicted, p.actual) for p in res.predictions] == [
        ("a", 0.5, 0.7),
        ("b", 0.5, 0.4),
    ]


def test_methods_are_registered_and_rank_as_expected_on_a_population():
    assert EXTRAPOLATORS.names() == ["compute_power_law", "proxy", "two_step_ladder"]
    runs = []
    for i, (c, top) in enumerate([(0.5, 0.9), (0.6, 0.8), (0.4, 0.95)]):
        proxy = power(T, 3.0, 2.0 + i, c, increasing=False)
        runs.append(TrainingRun(f"r{i}", T, proxy, top - 0.1 * (proxy - 3.0)))
    res = evaluate_extrapolation(runs, "proxy", 1 / 18)
    assert res.rmse < 1e-3 and len(res.predictions) == 3


def test_too_few_early_checkpoints_is_a_clear_error():
    t = np.array([1.0, 60, 100, 900])
    with pytest.raises(ValueError, match=r"only 1 checkpoint.*at least 3"):
        compute_power_law(t, t, np.array([0.1, 0.3, 0.4, 0.5]), 1 / 18)
    runs = [TrainingRun("tiny", t, t, np.array([0.1, 0.3, 0.4, 0.5]))]
    with pytest.raises(ValueError, match="run 'tiny'"):
        evaluate_extrapolation(runs, "compute_power_law")


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="fit_fraction"):
        fit_window(T, 0.0)
    with pytest.raises(ValueError, match="> 0"):
        fit_power_law([0.0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="distinct t"):
        fit_power_law([1.0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="same length"):
        TrainingRun("x", np.arange(1.0, 5.0), np.arange(3.0), np.arange(4.0))
    with pytest.raises(ValueError, match="unknown extrapolation method"):
        evaluate_extrapolation([TrainingRun("x", T, T, T / T.max())], "cubic")
    with pytest.raises(ValueError, match="at least 2 runs"):
        evaluate_extrapolation(
            [TrainingRun("x", T, T, T / T.max())], "proxy", calibrate_on_other_runs=True
        )
