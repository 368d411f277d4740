"""pass@k against the combinatorial definition, and the task-level intervals."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from lmforecast.truth.passk import (
    aggregate_pass_at_k,
    bootstrap_interval,
    default_ks,
    pass_at_k,
    wilson_interval,
)


def brute_force(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of the n samples that hold at least one correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_matches_enumeration_of_subsets(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12)


def test_matches_binomial_formula_for_large_n() -> None:
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 300)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        exact = 1 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-9, abs=1e-12)


def test_pass_at_1_is_the_fraction_correct_and_monotone_in_k() -> None:
    assert pass_at_k(20, 7, 1) == pytest.approx(7 / 20)
    values = [pass_at_k(20, 3, k) for k in range(1, 21)]
    assert all(a <= b + 1e-15 for a, b in itertools.pairwise(values))
    assert values[-1] == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_invalid_arguments_raise(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_wilson_interval_known_values_and_coverage() -> None:
    # Reference values: statsmodels proportion_confint(method="wilson").
    lo, hi = wilson_interval(8, 20)
    assert (lo, hi) == pytest.approx((0.2188, 0.6134), abs=1e-4)
    assert wilson_interval(20, 20)[1] == 1.0 and wilson_interval(0, 20)[0] == 0.0
    # Coverage simulation: a 95% interval should hold the true p about 95% of the time.
    rng = np.random.default_rng(1)
    p, n = 0.3, 50
    hits = sum(
        lo <= p <= hi for lo, hi in (wilson_interval(int(x), n) for x in rng.binomial(n, p, 2000))
    )
    assert 0.92 < hits / 2000 < 0.98


def test_bootstrap_interval_is_reproducible_and_contains_the_mean() -> None:
    values = [0.0, 0.25, 1.0, 0.5, 0.75, 0.0, 1.0]
    a = bootstrap_interval(values, seed=3)
    assert a == bootstrap_interval(values, seed=3)
    assert a[0] < float(np.mean(values)) < a[1]
    with pytest.raises(ValueError):
        bootstrap_interval([])


def test_aggregate_uses_wilson_for_single_samples_and_bootstrap_otherwise() -> None:
    single = aggregate_pass_at_k([(1, 1)] * 3 + [(1, 0)] * 7, k=1)
    assert single.method == "wilson" and single.value == pytest.approx(0.3)
    assert (single.low, single.high) == pytest.approx(wilson_interval(3, 10))
    multi = aggregate_pass_at_k([(10, 0), (10, 5), (10, 10), (10, 1)], k=5)
    expected = np.mean([pass_at_k(10, c, 5) for c in (0, 5, 10, 1)])
    assert multi.method == "bootstrap" and multi.value == pytest.approx(expected)
    assert multi.low <= multi.value <= multi.high
    with pytest.raises(ValueError):
        aggregate_pass_at_k([], k=1)


def test_default_ks() -> None:
    assert default_ks(1) == [1]
    assert default_ks(5) == [1, 2, 4, 5]
    assert default_ks(200)[-3:] == [100, 128, 200]
