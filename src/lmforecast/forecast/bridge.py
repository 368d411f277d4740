"""The bridge: a proxy's score -> a target's accuracy, fitted with rBridge's protocol.

Koh et al. fit each benchmark's proxy score (rBridge NLL of a small model) to the target's
accuracy with a hypothesis space fixed *a priori*, so that the form cannot be tuned to the data:

- ``linear``:      y = a * x + b
- ``logarithmic``: y = a * log(x) + b, defined for x > 0 only: with any x <= 0 among the
  points, the form is left out (and said so in ``skipped``), never fitted to clipped values;
- ``quadratic``:   y = a * u**2 + b * u + c
- ``exponential``: y = a * exp(b * u) + c, three parameters (the offset ``c`` lets accuracy
  level off at a floor or ceiling instead of at 0), fitted by variable projection: for each
  rate ``b`` the best ``(a, c)`` is linear least squares, and ``b`` is searched on a log grid
  of both signs (0.01 <= |b| <= 10) and refined by bounded Brent;

where ``u = (x - center) / scale`` standardises x (conditioning; the fit keeps both). The form
with the best train R^2 is chosen; forms within 1e-9 of the best count as tied and the one with
fewer parameters wins (exact linear data is fitted as exactly by a quadratic, and must come out
linear). Evaluation is ``k``-fold cross-validation over seeded folds, reporting the mean over
folds of the chosen form's train R^2 and of the test MAE (in the units of y).

Every forecast carries a prediction interval: prediction +- t((1 + level) / 2, m - 1) * rms,
where rms is the root mean square of cross-validated residuals of the whole procedure (form
choice included). For a held-out point those residuals come from a leave-one-out run inside its
fold's training points only, so the share of held-out points inside their interval
(``coverage``) is an honest estimate to set beside ``level``. A new point's interval uses the
k-fold residuals of all points.

>>> xs = np.linspace(1.0, 3.0, 12)
>>> ev = evaluate_bridge(xs, 0.8 - 0.2 * xs)
>>> ev.form, round(ev.train_r2, 6), round(ev.test_mae, 6)
('linear', 1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.optimize
import scipy.stats

from lmforecast.forecast.errors import InsufficientData

FloatArray = npt.NDArray[np.float64]

FORMS = ("linear", "logarithmic", "quadratic", "exponential")
N_PARAMS = {"linear": 2, "logarithmic": 2, "quadratic": 3, "exponential": 3}
R2_TIE = 1e-9
DEFAULT_FOLDS = 5
DEFAULT_LEVEL = 0.9
MIN_TRAIN = 5  # training points per fold: an inner leave-one-out still leaves 4 for 3 params
_RATES = np.geomspace(0.01, 10.0, 120)
_RATE_GRID = np.concatenate([-_RATES[::-1], _RATES])


@dataclass(frozen=True)
class FormFit:
    """One fitted form; ``params`` as in the module docstring, ``u = (x - center) / scale``."""

    form: str
    params: tuple[float, ...]
    train_r2: float
    center: float = 0.0
    scale: float = 1.0

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        xa = np.atleast_1d(np.asarray(x, dtype=np.float64))
        u = (xa - self.center) / self.scale
        p = self.params
        if self.form == "linear":
            return p[0] * xa + p[1]
        if self.form == "logarithmic":
            if np.any(xa <= 0):
                raise ValueError("the logarithmic bridge is defined only for x > 0")
            return p[0] * np.log(xa) + p[1]
        if self.form == "quadratic":
            return p[0] * u**2 + p[1] * u + p[2]
        return p[0] * np.exp(p[1] * u) + p[2]


def _r2(y: FloatArray, fitted: FloatArray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - fitted) ** 2).sum()) / sst


def _lstsq(columns: list[FloatArray], y: FloatArray) -> tuple[float, ...]:
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), y, rcond=None)
    return tuple(float(c) for c in coef)


def _exp_sse(b: float, u: FloatArray, y: FloatArray) -> float:
    e = np.exp(b * u)
    ec, yc = e - e.mean(), y - y.mean()
    see = float(ec @ ec)
    return float(yc @ yc) - (float(ec @ yc) ** 2 / see if see > 0 else 0.0)


def _fit_exponential(u: FloatArray, y: FloatArray) -> tuple[float, ...]:
    e = np.exp(np.outer(_RATE_GRID, u))
    ec = e - e.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    see = np.einsum("ij,ij->i", ec, ec)
    sse = float(yc @ yc) - np.where(see > 0, (ec @ yc) ** 2 / np.where(see > 0, see, 1), 0)
    i = int(np.argmin(sse))
    sign = np.sign(_RATE_GRID[i])
    same = _RATE_GRID[np.sign(_RATE_GRID) == sign]
    j = int(np.searchsorted(same, _RATE_GRID[i]))
    lo, hi = same[max(j - 1, 0)], same[min(j + 1, same.size - 1)]
    res = scipy.optimize.minimize_scalar(
        _exp_sse, bounds=(lo, hi), args=(u, y), method="bounded", options={"xatol": 1e-12}
    )
    b = float(res.x) if res.fun <= sse[i] else float(_RATE_GRID[i])
    a, c = _lstsq([np.exp(b * u), np.ones_like(u)], y)
    return (a, b, c)


def fit_form(x: npt.ArrayLike, y: npt.ArrayLike, form: str) -> FormFit:
    """Least-squares fit of one form; ``InsufficientData`` when the points cannot determine
    it (fewer than parameters + 1 points, too few distinct x, constant y)."""
    if form not in N_PARAMS:
        raise ValueError(f"unknown bridge form {form!r}; known: {', '.join(FORMS)}")
    xa, ya = _xy(x, y)
    k = N_PARAMS[form]
    if xa.size < k + 1 or np.unique(xa).size < k:
        raise InsufficientData(
            f"the {form} bridge needs at least {k + 1} points and {k} distinct x values"
        )
    if form == "logarithmic" and np.any(xa <= 0):
        raise ValueError("the logarithmic bridge is defined only for x > 0")
    center, scale = float(xa.mean()), float(xa.std())
    u = (xa - center) / scale
    one = np.ones_like(xa)
    if form == "linear":
        params = _lstsq([xa, one], ya)
    elif form == "logarithmic":
        params = _lstsq([np.log(xa), one], ya)
    elif form == "quadratic":
        params = _lstsq([u**2, u, one], ya)
    else:
        params = _fit_exponential(u, ya)
    fit = FormFit(form, params, 0.0, center, scale)
    return FormFit(form, params, _r2(ya, fit.predict(xa)), center, scale)


def _xy(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.ndim != 1 or xa.shape != ya.shape:
        raise ValueError(f"x and y must be 1-D of one length, got {xa.shape} and {ya.shape}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite (no nan or inf)")
    if np.ptp(ya) == 0 if ya.size else True:
        raise InsufficientData("the target accuracy does not vary: there is nothing to fit")
    return xa, ya


def eligible_forms(x: npt.ArrayLike, forms: Sequence[str] = FORMS) -> tuple[str, ...]:
    """The forms defined at every x (the logarithmic one needs x > 0)."""
    xa = np.asarray(x, dtype=np.float64)
    return tuple(f for f in forms if f != "logarithmic" or bool(np.all(xa > 0)))


@dataclass(frozen=True)
class BridgeFit:
    """The chosen form and every candidate's train R^2 (forms that could not be fitted out)."""

    chosen: FormFit
    candidates: tuple[FormFit, ...]

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        return self.chosen.predict(x)


def fit_bridge(x: npt.ArrayLike, y: npt.ArrayLike, forms: Sequence[str] = FORMS) -> BridgeFit:
    """Fit every eligible form and choose the best train R^2 (ties: fewer parameters).

    >>> xs = np.linspace(0.5, 3.0, 10)
    >>> fit_bridge(xs, 2.0 * np.log(xs) + 1.0).chosen.form
    'logarithmic'
    """
    fits = []
    for form in eligible_forms(x, forms):
        try:
            fits.append(fit_form(x, y, form))
        except InsufficientData:
            continue
    if not fits:
        raise InsufficientData(f"no bridge form can be fitted to {np.size(x)} points")
    best = max(f.train_r2 for f in fits)
    tied = [f for f in fits if f.train_r2 >= best - R2_TIE]
    chosen = min(tied, key=lambda f: (N_PARAMS[f.form], FORMS.index(f.form)))
    return BridgeFit(chosen, tuple(fits))


def _half_width(residuals: FloatArray, level: float) -> float:
    """t((1 + level) / 2, m - 1) times the root mean square of cross-validated residuals."""
    m = residuals.size
    rms = float(np.sqrt(np.mean(residuals**2)))
    return float(scipy.stats.t.ppf((1.0 + level) / 2.0, m - 1)) * rms


def _loo_residuals(x: FloatArray, y: FloatArray, forms: Sequence[str]) -> FloatArray:
    out = np.empty_like(y)
    for j in range(y.size):
        keep = np.arange(y.size) != j
        out[j] = y[j] - fit_bridge(x[keep], y[keep], forms).predict(x[j : j + 1])[0]
    return out


@dataclass(frozen=True)
class BridgeForecast:
    """A forecast accuracy with its ``level`` prediction interval."""

    x: float
    prediction: float
    low: float
    high: float
    level: float


@dataclass(frozen=True)
class BridgeEvaluation:
    """k-fold cross-validation of the bridge, and the bridge refitted on every point.

    ``form`` is the form chosen on all points; ``fold_forms`` those chosen in each fold.
    ``predictions[i]``, ``lows[i]``, ``highs[i]`` come from the fold that held point ``i``
    out; ``coverage`` is the share of points inside their interval, to compare with ``level``.
    """

    form: str
    final: BridgeFit
    train_r2: float  # mean over folds of the chosen form's train R^2
    test_mae: float  # mean over folds of the held-out MAE
    fold_forms: tuple[str, ...]
    fold_train_r2: tuple[float, ...]
    fold_test_mae: tuple[float, ...]
    predictions: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    truth: tuple[float, ...]
    level: float
    coverage: float
    half_width: float  # of a new point's interval
    skipped: tuple[str, ...]  # forms not defined at every x
    k: int
    seed: int
    clip: tuple[float, float] | None = None  # the range forecasts are bounded to

    def forecast(self, x: npt.ArrayLike) -> tuple[BridgeForecast, ...]:
        """Forecasts at new proxy scores, each with its prediction interval (bounded like the
        held-out ones when the evaluation clipped)."""
        xa = np.atleast_1d(np.asarray(x, dtype=np.float64))
        pred = _clipped(self.final.predict(xa), self.clip)
        lows = _clipped(pred - self.half_width, self.clip)
        highs = _clipped(pred + self.half_width, self.clip)
        return tuple(
            BridgeForecast(float(xi), float(p), float(lo), float(hi), self.level)
            for xi, p, lo, hi in zip(xa, pred, lows, highs, strict=True)
        )


def fold_labels(n: int, k: int, seed: int) -> list[npt.NDArray[np.int64]]:
    """Indices of each of ``k`` folds: a seeded permutation cut into near-equal parts.

    >>> [f.tolist() for f in fold_labels(5, 2, 0)]
    [[2, 4, 3], [0, 1]]
    """
    perm = np.random.default_rng(seed).permutation(n)
    return [np.asarray(f, dtype=np.int64) for f in np.array_split(perm, k)]


def _clipped(values: FloatArray, clip: tuple[float, float] | None) -> FloatArray:
    return values if clip is None else np.clip(values, clip[0], clip[1])


def evaluate_bridge(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    k: int = DEFAULT_FOLDS,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
    forms: Sequence[str] = FORMS,
    clip: tuple[float, float] | None = None,
) -> BridgeEvaluation:
    """The paper's protocol (module docstring): seeded ``k``-fold CV of form choice and fit.

    ``clip`` bounds every held-out prediction and interval to the range y can take (an
    accuracy lies in [0, 1]): a fitted exponential extrapolated past the training points can
    leave that range by orders of magnitude, and a forecast outside it is known to be wrong.

    >>> ev = evaluate_bridge(np.linspace(1, 2, 10), np.linspace(0.5, 0.95, 10) ** 2, clip=(0, 1))
    >>> bool(np.all(np.asarray(ev.highs) <= 1.0)), ev.forecast(10.0)[0].prediction <= 1.0
    (True, True)
    """
    xa, ya = _xy(x, y)
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if k < 2:
        raise ValueError(f"k-fold cross-validation needs k >= 2, got {k}")
    n = xa.size
    folds = fold_labels(n, k, seed) if n >= k else []
    if n < k or n - max(f.size for f in folds) < MIN_TRAIN:
        raise InsufficientData(
            f"{k}-fold bridge evaluation needs at least {MIN_TRAIN} training points per fold; "
            f"{n} points give {n - (-(-n // k)) if n >= k else 0}"
        )
    usable = eligible_forms(xa, forms)
    pred, lows, highs = np.empty(n), np.empty(n), np.empty(n)
    fold_forms, fold_r2, fold_mae = [], [], []
    for test in folds:
        train = np.setdiff1d(np.arange(n), test)
        fit = fit_bridge(xa[train], ya[train], usable)
        pred[test] = _clipped(fit.predict(xa[test]), clip)
        h = _half_width(_loo_residuals(xa[train], ya[train], usable), level)
        lows[test], highs[test] = _clipped(pred[test] - h, clip), _clipped(pred[test] + h, clip)
        fold_forms.append(fit.chosen.form)
        fold_r2.append(fit.chosen.train_r2)
        fold_mae.append(float(np.mean(np.abs(ya[test] - pred[test]))))
    final = fit_bridge(xa, ya, usable)
    return BridgeEvaluation(
        form=final.chosen.form,
        final=final,
        train_r2=float(np.mean(fold_r2)),
        test_mae=float(np.mean(fold_mae)),
        fold_forms=tuple(fold_forms),
        fold_train_r2=tuple(fold_r2),
        fold_test_mae=tuple(fold_mae),
        predictions=tuple(map(float, pred)),
        lows=tuple(map(float, lows)),
        highs=tuple(map(float, highs)),
        truth=tuple(map(float, ya)),
        level=float(level),
        coverage=float(np.mean((ya >= lows) & (ya <= highs))),
        half_width=_half_width(ya - pred, level),
        skipped=tuple(f for f in forms if f not in usable),
        k=k,
        seed=seed,
        clip=clip,
    )


def pair_at_equal_tokens(
    proxy: dict[float, float], target: dict[float, float]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(trained tokens, proxy scores, target accuracies) at the token counts both runs have:
    the paper pairs a proxy checkpoint with the target checkpoint at equal trained tokens.

    >>> t, x, y = pair_at_equal_tokens({1e9: 2.0, 2e9: 1.8, 3e9: 1.7}, {2e9: 0.3, 1e9: 0.2})
    >>> t.tolist(), x.tolist(), y.tolist()
    ([1000000000.0, 2000000000.0], [2.0, 1.8], [0.2, 0.3])
    """
    tokens = sorted(set(proxy) & set(target))
    if not tokens:
        raise InsufficientData("proxy and target share no checkpoint at equal trained tokens")
    return (
        np.array(tokens, dtype=np.float64),
        np.array([proxy[t] for t in tokens], dtype=np.float64),
        np.array([target[t] for t in tokens], dtype=np.float64),
    )
