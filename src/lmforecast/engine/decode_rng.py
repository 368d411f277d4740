"""Counter-based random numbers for sampling: one uniform per (row, step), with no state.

Why not a ``torch.Generator`` per row: drawing for all rows at once needs one vectorised op per
step, and a row's draw must not depend on which other rows share its batch. A counter-based
generator gives both: the uniform of row ``r`` at step ``t`` is a pure function of the run seed,
the row's identity (prompt index, sample index) and ``t``.

The function is splitmix64 (Steele, Lea & Flood 2014; the seeding generator of Java's
``SplittableRandom`` and of xoshiro): the row key is hashed from (seed, prompt, sample), and the
draw at step ``t`` is ``mix(key + (t + 1) * GAMMA)``, the ``t + 1``-th output of a splitmix64
stream seeded with the key. The top 53 bits give a float64 in ``[0, 1)``. It is computed with
int64 tensor ops (wrapping multiplication, masked shifts for the logical right shift), and
:func:`splitmix64` is the plain-Python reference the tests check it against.
"""

from __future__ import annotations

import torch

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
# Bump when the mapping (seed, prompt, sample, step) -> uniform changes: stored sampled results
# are keyed by it, so samples drawn by another generator are never mixed with these.
RNG_VERSION = "splitmix64-v1"


def _signed(x: int) -> int:
    """The int64 with the same 64 bits as the unsigned ``x``."""
    x &= MASK64
    return x - (1 << 64) if x >> 63 else x


def splitmix64(x: int) -> int:
    """The splitmix64 finaliser on an unsigned 64-bit integer (plain Python reference).

    >>> hex(splitmix64(GAMMA))  # the first output of splitmix64 seeded with 0
    '0xe220a8397b1dcdaf'
    """
    z = x & MASK64
    z = ((z ^ (z >> 30)) * _C1) & MASK64
    z = ((z ^ (z >> 27)) * _C2) & MASK64
    return z ^ (z >> 31)


def row_key(seed: int, prompt_index: int, sample_index: int) -> int:
    """A 64-bit key naming one sequence, independent of batching and ordering (as int64).

    >>> row_key(0, 1, 2) == row_key(0, 1, 2) != row_key(0, 2, 1)
    True
    """
    k = splitmix64(seed + GAMMA)
    k = splitmix64(k ^ splitmix64(prompt_index + 2 * GAMMA))
    k = splitmix64(k ^ splitmix64(sample_index + 3 * GAMMA))
    return _signed(k)


def uniform_reference(key: int, step: int) -> float:
    """The uniform of one (row, step), in plain Python: what :func:`uniforms` must equal."""
    return (splitmix64((key & MASK64) + (step + 1) * GAMMA) >> 11) * 2.0**-53


def _shr(z: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 bits (torch's ``>>`` is arithmetic on signed integers)."""
    return (z >> k) & ((1 << (64 - k)) - 1)


def uniforms(keys: torch.Tensor, step: int) -> torch.Tensor:
    """One float64 uniform in ``[0, 1)`` per row key (int64 tensor) at decoding step ``step``."""
    z = keys + _signed((step + 1) * GAMMA)
    z = (z ^ _shr(z, 30)) * _signed(_C1)
    z = (z ^ _shr(z, 27)) * _signed(_C2)
    z = z ^ _shr(z, 31)
    return _shr(z, 11).to(torch.float64) * 2.0**-53
