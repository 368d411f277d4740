"""Training-time forecasting: predict a run's final accuracy from its first checkpoints.

Patel et al. fit ``f(t) = a - b * t**(-c)`` on the checkpoints within the first 1/18 of a run
and extrapolate to its end. Three methods share one signature,
``method(t, proxy, accuracy, fit_fraction, *, calibration=None) -> predicted final accuracy``:

- ``proxy``: extrapolate the *proxy* with the power law, then map proxy -> accuracy linearly
  (METHODS.md [choice]). The map is fitted on the in-window checkpoints, or, when
  ``calibration=(proxy_values, accuracy_values)`` from *other* runs is given, on those pairs:
  early accuracy is often flat, and a line through flat points predicts no progress.
- ``compute_power_law``: fit accuracy(t) itself on the window (the proxy is ignored).
- ``two_step_ladder`` (OLMo ladder): compute -> loss, ``L(t) = E + A * t**(-alpha)`` on the
  window with ``proxy`` = cross-entropy loss, then loss -> accuracy with a sigmoid fitted on
  ``calibration`` pairs when given, else on the window (needs 4 in-window points then).

Predictions are clipped to [0, 1]. The window is ``t <= t_final * fit_fraction`` with
``t_final = max(t)``; it must hold at least 3 checkpoints (three parameters), else
``ValueError``. ``t`` may be steps, tokens or FLOPs: the fit rescales it internally.

>>> t = np.arange(1.0, 181.0)
>>> acc = 0.8 - 0.5 * t**-0.7
>>> round(compute_power_law(t, t, acc, 1 / 18), 4), round(float(acc[-1]), 4)
(0.7868, 0.7868)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.optimize

from lmforecast.core.registry import Registry
from lmforecast.forecast.errors import InsufficientData, UnknownNameError, rewrap
from lmforecast.forecast.regression import fit_linear, fit_sigmoid

FloatArray = npt.NDArray[np.float64]

DEFAULT_FIT_FRACTION = 1.0 / 18.0
MIN_WINDOW_POINTS = 3
_C_GRID = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
_C_MAX = 10.0

Calibration = tuple[npt.ArrayLike, npt.ArrayLike]


@dataclass(frozen=True)
class PowerLawFit:
    """``y = a - b * t**(-c)`` if ``increasing`` else ``y = a + b * t**(-c)``; ``b, c > 0``.

    For a loss curve (decreasing) this is ``L = E + A * t**(-alpha)`` with E=a, A=b, alpha=c.
    ``sse`` is the sum of squared residuals on the fitted points.
    """

    a: float
    b: float
    c: float
    increasing: bool = True
    sse: float = 0.0

    def predict(self, t: npt.ArrayLike) -> FloatArray:
        ta = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if np.any(ta <= 0):
            raise ValueError("a power law in t is defined for t > 0 only")
        sign = -1.0 if self.increasing else 1.0
        return self.a + sign * self.b * ta ** (-self.c)


def _points(t: npt.ArrayLike, y: npt.ArrayLike, what: str) -> tuple[FloatArray, FloatArray]:
    ta = np.asarray(t, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if ta.ndim != 1 or ya.ndim != 1 or ta.shape != ya.shape:
        raise ValueError(
            f"t and {what} must be 1-D of the same length, got shapes {ta.shape} and {ya.shape}"
        )
    if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(ya))):
        raise ValueError(f"t and {what} must be finite (no nan or inf)")
    if np.any(ta <= 0):
        raise ValueError("t (step, tokens or compute) must be > 0 for a power law")
    return ta, ya


def fit_power_law(
    t: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    increasing: bool = True,
    f_scale: float | None = None,
) -> PowerLawFit:
    """Robust least-squares fit of a saturating power law (at least 3 distinct ``t``).

    ``t`` is divided by its maximum inside the fit (so FLOPs and steps condition alike). Starts
    come from a grid over ``c`` with ``a, b`` solved linearly for each; the best start is
    refined by ``scipy.optimize.least_squares`` with ``loss="soft_l1"`` (scale ``f_scale``,
    default 0.1 * std(y)) under bounds ``b >= 0``, ``0 < c <= 10``.

    >>> t = np.array([1.0, 2, 4, 8, 16, 32])
    >>> fit = fit_power_law(t, 0.8 - 0.5 * t**-0.7)
    >>> [round(v, 6) for v in (fit.a, fit.b, fit.c)]
    [0.8, 0.5, 0.7]
    """
    ta, ya = _points(t, y, "y")
    if np.unique(ta).size < MIN_WINDOW_POINTS:
        raise InsufficientData(
            f"a power-law fit needs at least {MIN_WINDOW_POINTS} distinct t values, "
            f"got {np.unique(ta).size}"
        )
    t_scale = float(ta.max())
    u = ta / t_scale
    sign = -1.0 if increasing else 1.0
    y_scale = max(float(ya.std()), 1e-12)
    scale = float(f_scale) if f_scale is not None else 0.1 * y_scale
    if not scale > 0:
        raise ValueError(f"f_scale must be positive, got {f_scale}")

    best_start: tuple[float, float, float] | None = None
    best_sse = np.inf
    for c in _C_GRID:
        basis = np.column_stack([np.ones_like(u), sign * u ** (-c)])
        (a0, beta0), *_ = np.linalg.lstsq(basis, ya, rcond=None)
        beta0 = max(float(beta0), 1e-9 * y_scale)
        sse = float(((a0 + sign * beta0 * u ** (-c) - ya) ** 2).sum())
        if sse < best_sse:
            best_sse, best_start = sse, (float(a0), beta0, c)
    assert best_start is not None

    def residuals(p: FloatArray) -> FloatArray:
        a, beta, c = p
        return np.asarray(a + sign * beta * u ** (-c) - ya, dtype=np.float64)

    res = scipy.optimize.least_squares(
        residuals,
        np.array(best_start),
        bounds=([-np.inf, 0.0, 1e-6], [np.inf, np.inf, _C_MAX]),
        loss="soft_l1",
        f_scale=scale,
        x_scale="jac",
        ftol=1e-12,
        xtol=1e-12,
        gtol=1e-12,
        max_nfev=2000,
    )
    a, beta, c = (float(v) for v in res.x)
    sse = float((residuals(res.x) ** 2).sum())
    return PowerLawFit(a=a, b=beta * t_scale**c, c=c, increasing=increasing, sse=sse)


def fit_window(
    t: npt.ArrayLike, fit_fraction: float = DEFAULT_FIT_FRACTION
) -> tuple[npt.NDArray[np.bool_], float]:
    """Mask of the checkpoints with ``t <= max(t) * fit_fraction``, and ``t_final = max(t)``.

    >>> mask, t_final = fit_window([1, 2, 3, 10, 90], 1 / 9)
    >>> mask.tolist(), t_final
    ([True, True, True, True, False], 90.0)
    """
    ta = np.asarray(t, dtype=np.float64)
    if ta.ndim != 1 or ta.size == 0 or not np.all(np.isfinite(ta)) or np.any(ta <= 0):
        raise ValueError("t must be a non-empty 1-D array of positive finite values")
    if not (isinstance(fit_fraction, int | float) and 0 < fit_fraction <= 1):
        raise ValueError(f"fit_fraction must lie in (0, 1], got {fit_fraction!r}")
    t_final = float(ta.max())
    mask = ta <= t_final * fit_fraction * (1 + 1e-12)
    n = int(mask.sum())
    if n < MIN_WINDOW_POINTS:
        raise InsufficientData(
            f"only {n} checkpoint(s) with t <= {t_final * fit_fraction:.6g} "
            f"(fit_fraction={fit_fraction:.6g} of t_final={t_final:.6g}); the power-law fit "
            f"needs at least {MIN_WINDOW_POINTS}: add early checkpoints or raise fit_fraction"
        )
    return mask, t_final


def _calibration(calibration: Calibration) -> tuple[FloatArray, FloatArray]:
    if not (isinstance(calibration, tuple | list) and len(calibration) == 2):
        raise ValueError("calibration must be a pair (proxy_values, accuracy_values)")
    x = np.asarray(calibration[0], dtype=np.float64).ravel()
    y = np.asarray(calibration[1], dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"calibration arrays differ in length: {x.size} vs {y.size}")
    return x, y


def _clip01(v: float) -> float:
    return float(np.clip(v, 0.0, 1.0))


ExtrapolationMethod = Callable[..., float]
EXTRAPOLATORS: Registry[ExtrapolationMethod] = Registry(
    "extrapolation method", error=UnknownNameError
)
"""``EXTRAPOLATORS.get(name)(t, proxy, accuracy, fit_fraction, calibration=...)``."""
register = EXTRAPOLATORS.register


@register("proxy")
def proxy_extrapolation(
    t: npt.ArrayLike,
    proxy: npt.ArrayLike,
    accuracy: npt.ArrayLike,
    fit_fraction: float = DEFAULT_FIT_FRACTION,
    *,
    calibration: Calibration | None = None,
) -> float:
    """Power law on the proxy in the window, extrapolated, then a linear proxy -> accuracy map.

    The proxy's direction is not assumed: both a rising and a falling power law are fitted and
    the one with the smaller squared error is kept (top-k rises, cross-entropy falls).
    """
    ta, pa = _points(t, proxy, "proxy")
    _, acc = _points(t, accuracy, "accuracy")
    mask, t_final = fit_window(ta, fit_fraction)
    fits = [fit_power_law(ta[mask], pa[mask], increasing=inc) for inc in (True, False)]
    best = min(fits, key=lambda f: f.sse)
    proxy_final = float(best.predict(t_final)[0])
    if calibration is not None:
        cx, cy = _calibration(calibration)
        mapping = fit_linear(cx, cy)
    else:
        try:
            mapping = fit_linear(pa[mask], acc[mask])
        except ValueError as err:
            raise rewrap(err, f"proxy -> accuracy map on the window: {err}") from None
    return _clip01(float(mapping.predict(proxy_final)[0]))


@register("compute_power_law")
def compute_power_law(
    t: npt.ArrayLike,
    proxy: npt.ArrayLike,
    accuracy: npt.ArrayLike,
    fit_fraction: float = DEFAULT_FIT_FRACTION,
    *,
    calibration: Calibration | None = None,
) -> float:
    """Fit accuracy(t) = a - b t^(-c) on the window and evaluate at t_final (proxy unused)."""
    ta, acc = _points(t, accuracy, "accuracy")
    mask, t_final = fit_window(ta, fit_fraction)
    return _clip01(float(fit_power_law(ta[mask], acc[mask]).predict(t_final)[0]))


@register("two_step_ladder")
def two_step_ladder(
    t: npt.ArrayLike,
    proxy: npt.ArrayLike,
    accuracy: npt.ArrayLike,
    fit_fraction: float = DEFAULT_FIT_FRACTION,
    *,
    calibration: Calibration | None = None,
) -> float:
    """OLMo ladder: ``proxy`` is the loss; L(t) = E + A t^(-alpha), then sigmoid(L) -> accuracy."""
    ta, loss = _points(t, proxy, "proxy (loss)")
    _, acc = _points(t, accuracy, "accuracy")
    mask, t_final = fit_window(ta, fit_fraction)
    loss_final = float(fit_power_law(ta[mask], loss[mask], increasing=False).predict(t_final)[0])
    if calibration is not None:
        cx, cy = _calibration(calibration)
        mapping = fit_sigmoid(cx, cy)
    else:
        try:
            mapping = fit_sigmoid(loss[mask], acc[mask])
        except ValueError as err:
            raise rewrap(
                err,
                f"loss -> accuracy sigmoid on the window: {err}; pass calibration pairs "
                "from other runs",
            ) from None
    return _clip01(float(mapping.predict(loss_final)[0]))


@dataclass(frozen=True, eq=False)
class TrainingRun:
    """Checkpoints of one run: ``t`` (step/tokens/FLOPs), a proxy and the true accuracy."""

    name: str
    t: FloatArray
    proxy: FloatArray
    accuracy: FloatArray

    def __post_init__(self) -> None:
        t, p = _points(self.t, self.proxy, f"proxy of run {self.name!r}")
        _, a = _points(self.t, self.accuracy, f"accuracy of run {self.name!r}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "proxy", p)
        object.__setattr__(self, "accuracy", a)

    @property
    def final_accuracy(self) -> float:
        return float(self.accuracy[int(np.argmax(self.t))])


@dataclass(frozen=True)
class RunForecast:
    name: str
    predicted: float
    actual: float


@dataclass(frozen=True)
class ExtrapolationResult:
    """Errors of one method over runs; ``predictions`` holds each run's forecast and truth."""

    method: str
    fit_fraction: float
    rmse: float
    mae: float
    predictions: tuple[RunForecast, ...]


def evaluate_extrapolation(
    runs: Sequence[TrainingRun],
    method: str | ExtrapolationMethod,
    fit_fraction: float = DEFAULT_FIT_FRACTION,
    *,
    calibrate_on_other_runs: bool = False,
) -> ExtrapolationResult:
    """Forecast every run's final accuracy and score the forecasts (RMSE, MAE).

    With ``calibrate_on_other_runs``, each run's proxy -> accuracy map is fitted on all
    checkpoints of the *other* runs (never its own), passed as ``calibration``.

    >>> t = np.arange(1.0, 91.0)
    >>> runs = [TrainingRun(f"r{i}", t, -t, 0.9 - 0.4 * i * t**-0.5) for i in (1, 2)]
    >>> res = evaluate_extrapolation(runs, "compute_power_law", 1 / 18)
    >>> res.rmse < 1e-6, [p.name for p in res.predictions]
    (True, ['r1', 'r2'])
    """
    runs = list(runs)
    if not runs:
        raise InsufficientData("evaluate_extrapolation needs at least one run")
    for i, run in enumerate(runs):
        if not isinstance(run, TrainingRun):
            raise ValueError(f"runs[{i}] is a {type(run).__name__}, not a TrainingRun")
    if calibrate_on_other_runs and len(runs) < 2:
        raise InsufficientData("calibrate_on_other_runs needs at least 2 runs")
    fn = EXTRAPOLATORS.get(method) if isinstance(method, str) else method
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    forecasts: list[RunForecast] = []
    for i, run in enumerate(runs):
        calibration = None
        if calibrate_on_other_runs:
            others = [r for j, r in enumerate(runs) if j != i]
            calibration = (
                np.concatenate([r.proxy for r in others]),
                np.concatenate([r.accuracy for r in others]),
            )
        try:
            pred = fn(run.t, run.proxy, run.accuracy, fit_fraction, calibration=calibration)
        except ValueError as err:
            raise rewrap(err, f"run {run.name!r}: {err}") from None
        forecasts.append(RunForecast(run.name, float(pred), run.final_accuracy))
    errors = np.array([f.predicted - f.actual for f in forecasts])
    return ExtrapolationResult(
        method=name,
        fit_fraction=float(fit_fraction),
        rmse=float(np.sqrt((errors**2).mean())),
        mae=float(np.abs(errors).mean()),
        predictions=tuple(forecasts),
    )
