"""Maps from a signal to downstream accuracy, and honest held-out evaluation of such maps.

A rank correlation says whether a signal orders models; a forecast must also say *what accuracy*
a model will have. Three maps, from rigid to flexible:

- ``linear``: acc = slope * x + intercept (least squares).
- ``sigmoid``: acc = a / (1 + exp(-k (x - x0))) + b, the second step of the OLMo ladder (loss ->
  accuracy). Fitted with ``scipy.optimize.least_squares`` and the robust ``soft_l1`` loss from a
  few starting points; ``k`` carries the direction (negative when accuracy falls as loss rises).
- ``isotonic``: a monotone step map (sklearn's pool-adjacent-violators), increasing or decreasing
  as the sign of Spearman's rho on the training data says; predicted by linear interpolation
  between its knots, flat beyond them.

Evaluation is always on held-out points: leave-one-out, or leave-one-group-out where a group is
a model family (a fit should not see a sibling of the model it predicts). It reports R^2 of the
held-out predictions (1 - SSE / SST, so it can be negative), MAE, and prediction intervals from
the quantiles of the held-out residuals.

>>> fit = fit_regression([0, 1, 2, 3], [1, 3, 5, 7], "linear")
>>> float(fit.predict([4])[0])
9.0
>>> ev = evaluate_regression([0, 1, 2, 3, 4], [1, 3, 5, 7, 9], "linear")
>>> ev.r2, round(ev.mae, 12)
(1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import scipy.optimize
import scipy.special
import scipy.stats
from sklearn.isotonic import IsotonicRegression

from lmforecast.core.registry import Registry
from lmforecast.forecast.errors import InsufficientData, UnknownNameError, rewrap

FloatArray = npt.NDArray[np.float64]

DEFAULT_LEVEL = 0.9


class FittedMap(Protocol):
    """A fitted signal -> accuracy map."""

    def predict(self, x: npt.ArrayLike) -> FloatArray: ...


REGRESSORS: Registry[Callable[..., FittedMap]] = Registry("regressor", error=UnknownNameError)
"""Signal -> accuracy maps: ``REGRESSORS.get(name)(x, y)`` returns a fitted map."""
register = REGRESSORS.register


def _xy(x: npt.ArrayLike, y: npt.ArrayLike, min_points: int, what: str) -> tuple[FloatArray, ...]:
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.ndim != 1 or ya.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {xa.shape} and {ya.shape}")
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite (no nan or inf)")
    if xa.size < min_points:
        raise InsufficientData(f"the {what} fit needs at least {min_points} points, got {xa.size}")
    return xa, ya


def _x(x: npt.ArrayLike) -> FloatArray:
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim > 1:
        raise ValueError(f"x must be a scalar or 1-D, got shape {xa.shape}")
    return np.atleast_1d(xa)


# --- linear -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearFit:
    """acc = slope * x + intercept."""

    slope: float
    intercept: float

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        return self.slope * _x(x) + self.intercept


@register("linear")
def fit_linear(x: npt.ArrayLike, y: npt.ArrayLike) -> LinearFit:
    """Least-squares line; a constant ``x`` cannot be fitted and raises ``ValueError``.

    >>> fit_linear([1, 2, 3], [2, 2, 2])
    LinearFit(slope=0.0, intercept=2.0)
    """
    xa, ya = _xy(x, y, 2, "linear")
    if np.ptp(xa) == 0:
        raise InsufficientData("the linear fit needs at least two distinct x values")
    xc = xa - xa.mean()
    slope = float((xc * (ya - ya.mean())).sum() / (xc * xc).sum())
    return LinearFit(slope=slope, intercept=float(ya.mean() - slope * xa.mean()))


# --- sigmoid ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigmoidFit:
    """acc = a / (1 + exp(-k (x - x0))) + b; ``a >= 0``, the sign of ``k`` is the direction."""

    a: float
    k: float
    x0: float
    b: float

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        z = -self.k * (_x(x) - self.x0)
        return self.a * scipy.special.expit(-z) + self.b


@register("sigmoid")
def fit_sigmoid(x: npt.ArrayLike, y: npt.ArrayLike, *, f_scale: float | None = None) -> SigmoidFit:
    """Robust sigmoid fit (OLMo ladder step 2), four parameters, needs at least 4 points.

    Conditioning: ``x`` is standardised inside the fit and the parameters mapped back. Bounds:
    ``a`` in [0, 2 * range(y) + 1e-9] (a sigmoid taller than twice the data is extrapolation
    fantasy), the standardised slope in [-50, 50], the standardised centre within 10 standard
    deviations of the data, ``b`` free. ``soft_l1``'s scale defaults to 0.1 * std(y), so
    residuals beyond a tenth of the spread of accuracies count linearly, not quadratically.
    Starts: three centres (-1, 0, 1 sd) x the direction of Spearman's rho (both if rho = 0);
    the lowest robust cost wins.

    >>> xs = np.linspace(-3, 3, 13)
    >>> fit = fit_sigmoid(xs, 0.6 / (1 + np.exp(-2.0 * (xs - 0.5))) + 0.2)
    >>> [round(v, 4) for v in (fit.a, fit.k, fit.x0, fit.b)]
    [0.6, 2.0, 0.5, 0.2]
    """
    xa, ya = _xy(x, y, 4, "sigmoid")
    if np.ptp(xa) == 0:
        raise InsufficientData("the sigmoid fit needs distinct x values")
    mu, sd = float(xa.mean()), float(xa.std())
    u = (xa - mu) / sd
    spread = float(np.ptp(ya))
    if spread == 0:  # flat data: a flat sigmoid, exactly
        return SigmoidFit(a=0.0, k=0.0, x0=mu, b=float(ya[0]))
    scale = float(f_scale) if f_scale is not None else max(0.1 * float(ya.std()), 1e-12)
    if not scale > 0:
        raise ValueError(f"f_scale must be positive, got {f_scale}")

    def residuals(p: FloatArray) -> FloatArray:
        a, k, u0, b = p
        return np.asarray(a * scipy.special.expit(k * (u - u0)) + b - ya, dtype=np.float64)

    rho = float(scipy.stats.spearmanr(xa, ya).statistic) if np.ptp(ya) > 0 else 0.0
    directions = [1.0] if rho > 0 else [-1.0] if rho < 0 else [1.0, -1.0]
    lower = [0.0, -50.0, -10.0, -np.inf]
    upper = [2.0 * spread + 1e-9, 50.0, 10.0, np.inf]
    best: scipy.optimize.OptimizeResult | None = None
    for direction in directions:
        for u0 in (-1.0, 0.0, 1.0):
            start = np.array([spread, 2.0 * direction, u0, float(ya.min())])
            res = scipy.optimize.least_squares(
                residuals, start, bounds=(lower, upper), loss="soft_l1", f_scale=scale
            )
            if best is None or res.cost < best.cost:
                best = res
    assert best is not None
    a, k, u0, b = (float(v) for v in best.x)
    return SigmoidFit(a=a, k=k / sd, x0=mu + u0 * sd, b=b)


# --- isotonic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsotonicFit:
    """Monotone map through ``(x_knots, y_knots)``, interpolated linearly, flat outside."""

    x_knots: tuple[float, ...]
    y_knots: tuple[float, ...]
    increasing: bool

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        return np.interp(_x(x), np.array(self.x_knots), np.array(self.y_knots))


@register("isotonic")
def fit_isotonic(x: npt.ArrayLike, y: npt.ArrayLike) -> IsotonicFit:
    """Isotonic regression; direction = sign of Spearman's rho on these points (ties: up).

    >>> fit = fit_isotonic([1, 2, 3, 4], [0.9, 0.7, 0.8, 0.1])
    >>> fit.increasing, [round(float(v), 3) for v in fit.predict([1, 2.5, 4, 9])]
    (False, [0.9, 0.75, 0.1, 0.1])
    """
    xa, ya = _xy(x, y, 2, "isotonic")
    constant = np.ptp(xa) == 0 or np.ptp(ya) == 0
    rho = 0.0 if constant else float(scipy.stats.spearmanr(xa, ya).statistic)
    increasing = not rho < 0
    iso = IsotonicRegression(increasing=increasing, out_of_bounds="clip").fit(xa, ya)
    return IsotonicFit(
        x_knots=tuple(float(v) for v in iso.X_thresholds_),
        y_knots=tuple(float(v) for v in iso.y_thresholds_),
        increasing=increasing,
    )


def fit_regression(x: npt.ArrayLike, y: npt.ArrayLike, method: str = "linear") -> FittedMap:
    """Fit the registered map ``method`` ("linear", "sigmoid", "isotonic") to ``(x, y)``."""
    return REGRESSORS.get(method)(x, y)


# --- held-out evaluation ----------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionEvaluation:
    """Held-out quality of a signal -> accuracy map.

    ``predictions[i]`` was made by a fit that did not see point ``i`` (nor its group).
    ``interval`` = (lower, upper) quantiles of the held-out residuals ``y - prediction`` at
    ``level``; a new point's prediction interval is ``prediction + interval``.
    ``coverage`` is the share of held-out points inside their own interval (in-sample for the
    quantiles, so optimistic for tiny sets).
    """

    method: str
    scheme: str  # "loo" or "logo"
    r2: float
    mae: float
    rmse: float
    predictions: tuple[float, ...]
    truth: tuple[float, ...]
    interval: tuple[float, float]
    level: float
    coverage: float
    n_folds: int

    def prediction_interval(self, prediction: float) -> tuple[float, float]:
        """The ``level`` prediction interval around a new point prediction."""
        return (prediction + self.interval[0], prediction + self.interval[1])


def held_out_r2(y: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    """1 - SSE / SST of held-out predictions (SST about the mean of ``y``); ``nan`` if y is flat.

    >>> held_out_r2([1, 2, 3], [1, 2, 3]), held_out_r2([1, 2, 3], [2, 2, 2])
    (1.0, 0.0)
    """
    ya = np.asarray(y, dtype=np.float64)
    pa = np.asarray(predictions, dtype=np.float64)
    sst = float(((ya - ya.mean()) ** 2).sum())
    if sst == 0:
        return float("nan")
    return 1.0 - float(((ya - pa) ** 2).sum()) / sst


def evaluate_regression(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    method: str = "linear",
    *,
    groups: Sequence[object] | npt.ArrayLike | None = None,
    level: float = DEFAULT_LEVEL,
) -> RegressionEvaluation:
    """Leave-one-out (``groups=None``) or leave-one-group-out evaluation of a map.

    ``groups[i]`` names the family of model ``i``; each fold holds out one whole family. A fold
    whose training set is too small or degenerate for the method raises ``ValueError``: an
    evaluation with silently skipped folds would not be comparable across methods.

    >>> ev = evaluate_regression([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7], groups=list("aabbcc"))
    >>> ev.scheme, ev.n_folds, round(ev.mae, 4)
    ('logo', 3, 0.4667)
    """
    xa, ya = _xy(x, y, 3, "held-out evaluation")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    fit = REGRESSORS.get(method)
    if groups is None:
        labels = np.arange(xa.size)
        scheme = "loo"
    else:
        labels_raw = np.asarray(groups, dtype=object)
        if labels_raw.shape != xa.shape:
            raise ValueError(
                f"groups must give one label per point: {labels_raw.size} vs {xa.size}"
            )
        _, labels = np.unique(labels_raw.astype(str), return_inverse=True)
        scheme = "logo"
    folds = np.unique(labels)
    if folds.size < 2:
        raise InsufficientData("leave-one-group-out needs at least 2 groups")
    pred = np.empty_like(ya)
    for g in folds:
        test = labels == g
        try:
            model = fit(xa[~test], ya[~test])
        except ValueError as err:
            raise rewrap(err, f"{method} fit failed with fold {int(g)} held out: {err}") from None
        pred[test] = model.predict(xa[test])
    resid = ya - pred
    alpha = (1.0 - level) / 2.0
    lo, hi = (float(v) for v in np.quantile(resid, [alpha, 1.0 - alpha]))
    return RegressionEvaluation(
        method=method,
        scheme=scheme,
        r2=held_out_r2(ya, pred),
        mae=float(np.abs(resid).mean()),
        rmse=float(np.sqrt((resid**2).mean())),
        predictions=tuple(float(v) for v in pred),
        truth=tuple(float(v) for v in ya),
        interval=(lo, hi),
        level=float(level),
        coverage=float(np.mean((resid >= lo) & (resid <= hi))),
        n_folds=int(folds.size),
    )
