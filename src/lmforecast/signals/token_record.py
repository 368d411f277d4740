"""Per-token records of one model on one continuation: the input of every token-level signal.

The engine stores, for each continuation token, log p of the target, the entropy of the
next-token distribution, the target's rank and the top-1 probability (``tok_*`` columns of a
score table). :class:`TokenRecord` holds them validated, so a malformed record fails here, not
inside a signal; :func:`token_records` reads them back from a stored table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PROB_TOLERANCE = 1e-3  # float32 engines: top1_prob may undershoot p(y) by rounding


@dataclass(frozen=True, eq=False, init=False)
class TokenRecord:
    """Per-token records of one model on one expert solution (its continuation tokens).

    ``logprob`` is the natural log of p(y_t); ``entropy`` (nats) is of the whole next-token
    distribution; ``rank`` is 1 + #{v : p_t(v) > p_t(y_t)} (1 = the expert token is the argmax);
    ``top1_prob`` is max_v p_t(v); ``target_ids`` are the expert token ids (for frequencies).
    Arrays are converted and validated on construction, so a malformed record fails here, not
    inside a proxy.
    """

    logprob: FloatArray
    entropy: FloatArray
    rank: IntArray
    top1_prob: FloatArray
    target_ids: IntArray
    vocab_size: int

    def __init__(
        self,
        logprob: npt.ArrayLike,
        entropy: npt.ArrayLike,
        rank: npt.ArrayLike,
        top1_prob: npt.ArrayLike,
        target_ids: npt.ArrayLike,
        vocab_size: int,
    ) -> None:
        floats = {
            "logprob": logprob,
            "entropy": entropy,
            "top1_prob": top1_prob,
        }
        arrays: dict[str, np.ndarray] = {}
        for name, value in floats.items():
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim != 1:
                raise ValueError(f"TokenRecord: {name!r} must be 1-D, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"TokenRecord: {name!r} has non-finite values")
            arrays[name] = arr
        for name, value in {"rank": rank, "target_ids": target_ids}.items():
            raw = np.asarray(value)
            if raw.ndim != 1:
                raise ValueError(f"TokenRecord: {name!r} must be 1-D, got shape {raw.shape}")
            if (
                raw.size
                and not np.issubdtype(raw.dtype, np.integer)
                and (not np.all(np.isfinite(raw)) or np.any(np.asarray(raw) % 1 != 0))
            ):
                raise ValueError(f"TokenRecord: {name!r} must hold integers")
            arrays[name] = raw.astype(np.int64)
        n = arrays["logprob"].size
        for name, arr in arrays.items():
            if arr.size != n:
                raise ValueError(
                    f"TokenRecord: {name!r} has {arr.size} values but 'logprob' has {n}; "
                    "every per-token array must cover the same tokens"
                )
        if n == 0:
            raise ValueError("TokenRecord: an instance needs at least one continuation token")
        if isinstance(vocab_size, bool) or int(vocab_size) != vocab_size or vocab_size < 2:
            raise ValueError(f"TokenRecord: vocab_size must be an integer >= 2, got {vocab_size}")
        if np.any(arrays["logprob"] > 1e-6):
            raise ValueError("TokenRecord: 'logprob' must be <= 0 (natural log of a probability)")
        if np.any(arrays["entropy"] < -1e-6):
            raise ValueError("TokenRecord: 'entropy' must be >= 0 nats")
        if np.any(arrays["rank"] < 1) or np.any(arrays["rank"] > vocab_size):
            raise ValueError("TokenRecord: 'rank' must lie in 1..vocab_size (1 = argmax)")
        top1 = arrays["top1_prob"]
        if np.any(top1 <= 0) or np.any(top1 > 1 + 1e-6):
            raise ValueError("TokenRecord: 'top1_prob' must lie in (0, 1]")
        if np.any(top1 < np.exp(arrays["logprob"]) - _PROB_TOLERANCE):
            raise ValueError(
                "TokenRecord: 'top1_prob' is smaller than p(y) = exp(logprob) at some token; "
                "the records are inconsistent"
            )
        if np.any(arrays["target_ids"] < 0):
            raise ValueError("TokenRecord: 'target_ids' must be non-negative token ids")
        for name, arr in arrays.items():
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "vocab_size", int(vocab_size))

    def __len__(self) -> int:
        return int(self.logprob.size)

    def tail(self, last_n_tokens: int | None) -> TokenRecord:
        """The record restricted to its last ``last_n_tokens`` tokens (``None``: all of them)."""
        n = _check_last_n(last_n_tokens)
        if n is None or n >= len(self):
            return self
        return TokenRecord(
            logprob=self.logprob[-n:],
            entropy=self.entropy[-n:],
            rank=self.rank[-n:],
            top1_prob=self.top1_prob[-n:],
            target_ids=self.target_ids[-n:],
            vocab_size=self.vocab_size,
        )


def _check_last_n(last_n_tokens: int | None) -> int | None:
    if last_n_tokens is None:
        return None
    if isinstance(last_n_tokens, bool) or not isinstance(last_n_tokens, int | np.integer):
        raise ValueError(f"last_n_tokens must be a positive int or None, got {last_n_tokens!r}")
    if last_n_tokens < 1:
        raise ValueError(f"last_n_tokens must be >= 1 or None, got {last_n_tokens}")
    return int(last_n_tokens)


def token_records(table: pa.Table, vocab_size: int) -> list[TokenRecord]:
    """The stored per-token columns as :class:`TokenRecord` s, one per request, in table order.

    Entropy and top-1 probability are clipped into their ranges (a float32 engine can step a
    hair outside them), as every signal expects.
    """
    cols = [
        table.column(c).to_pylist()
        for c in ("tok_logprob", "tok_entropy", "tok_rank", "tok_top1_prob", "tok_target_id")
    ]
    return [
        TokenRecord(lp, np.maximum(ent, 0.0), rk, np.minimum(p1, 1.0), ids, vocab_size)
        for lp, ent, rk, p1, ids in zip(*cols, strict=True)
    ]
