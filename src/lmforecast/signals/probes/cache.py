"""Prompt features kept in the results store, so a second probe costs no forward pass.

An entry of kind ``prompt-features`` is keyed by everything that decides the features: the
model fingerprint (weights and tokenizer), a hash of the prompts in order, the absolute layers,
whether per-token states are kept, and the truncation rule. Batch size is not in the key
(features do not depend on it, tested). The prompts are cut into units of ``unit_size``; each
unit is one checksummed Parquet shard written atomically by :class:`~lmforecast.store.ShardedJob`
(temporary file, verified, renamed), so an interrupted run resumes at the first missing unit and
a damaged shard is recomputed rather than trusted. A shard is named by the prompt range it holds,
so a call with another ``unit_size`` recomputes instead of misreading.

Arrays travel as float16 bytes in binary columns (one row per prompt): Parquet has no ragged
tensor type, and the shapes are fixed by ``meta.json`` (layers, hidden size) and ``n_tokens``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pyarrow as pa

from lmforecast.core.fingerprint import hash_json
from lmforecast.engine.features import (
    STORAGE_DTYPE,
    PromptFeatures,
    num_hidden_layers,
    prompt_features,
    resolve_layer,
)
from lmforecast.models.base import LoadedModel
from lmforecast.store import ShardedJob, Store

KIND = "prompt-features"
FORMAT = 1


def prompts_hash(prompts: Sequence[str]) -> str:
    """sha256 over the prompts in order (length-prefixed, so no two lists collide).

    >>> prompts_hash(["a", "b"]) != prompts_hash(["ab"])
    True
    """
    h = hashlib.sha256()
    for p in prompts:
        data = p.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:32]


def features_key(
    fingerprint: str,
    prompts: Sequence[str],
    layers: Sequence[int],
    keep_tokens: bool,
    truncate: str = "error",
) -> str:
    """The store key of one set of prompt features (see module doc for what is in it)."""
    return hash_json(
        {
            "format": FORMAT,
            "model": fingerprint,
            "prompts": prompts_hash(prompts),
            "layers": list(layers),
            "keep_tokens": keep_tokens,
            "truncate": truncate,
        }
    )


def _to_table(features: PromptFeatures, offset: int) -> pa.Table:
    n = len(features)
    columns: dict[str, pa.Array] = {
        "request_index": pa.array(np.arange(offset, offset + n, dtype=np.int64)),
        "n_tokens": pa.array(features.n_tokens),
        "last": pa.array([features.last[i].tobytes() for i in range(n)], pa.binary()),
        "mean": pa.array([features.mean[i].tobytes() for i in range(n)], pa.binary()),
    }
    if features.tokens is not None:
        columns["tokens"] = pa.array([t.tobytes() for t in features.tokens], pa.large_binary())
    return pa.table(columns)


def _from_table(
    table: pa.Table, layers: tuple[int, ...], num_layers: int, hidden: int
) -> PromptFeatures:
    shape = (len(layers), hidden)

    def arrays(column: str) -> list[np.ndarray]:
        return [np.frombuffer(b, dtype=STORAGE_DTYPE) for b in table.column(column).to_pylist()]

    n_tokens = table.column("n_tokens").to_numpy().astype(np.int64)
    last = np.stack([a.reshape(shape) for a in arrays("last")]) if len(table) else None
    mean = np.stack([a.reshape(shape) for a in arrays("mean")]) if len(table) else None
    empty = np.zeros((0, *shape), dtype=STORAGE_DTYPE)
    tokens = None
    if "tokens" in table.column_names:
        tokens = tuple(
            a.reshape(int(t), *shape) for a, t in zip(arrays("tokens"), n_tokens, strict=True)
        )
    return PromptFeatures(
        layers,
        num_layers,
        last if last is not None else empty,
        mean if mean is not None else empty,
        n_tokens,
        tokens,
    )


def cached_prompt_features(
    model: LoadedModel,
    prompts: Sequence[str],
    layers: Sequence[int],
    *,
    store: Store | None = None,
    batch_size: int = 8,
    keep_tokens: bool = False,
    truncate: Literal["error", "left"] = "error",
    unit_size: int = 256,
) -> PromptFeatures:
    """:func:`~lmforecast.engine.features.prompt_features`, read from the store when there.

    ``store`` defaults to the store under the data home (``LMFORECAST_HOME``). Units already
    stored are read and verified; only missing units run the model.
    """
    store = store if store is not None else Store()
    num_layers = num_hidden_layers(model)
    absolute = tuple(dict.fromkeys(resolve_layer(x, num_layers) for x in layers))
    hidden = int(model.module.get_input_embeddings().weight.shape[1])
    key = features_key(model.fingerprint, prompts, absolute, keep_tokens, truncate)
    store.write_meta(
        KIND,
        key,
        {
            "format": FORMAT,
            "model": model.name,
            "fingerprint": model.fingerprint,
            "n_prompts": len(prompts),
            "layers": list(absolute),
            "num_layers": num_layers,
            "hidden_size": hidden,
            "keep_tokens": keep_tokens,
            "truncate": truncate,
            "dtype": "float16",
        },
    )
    starts = list(range(0, len(prompts), unit_size))

    def compute(start: int) -> pa.Table:
        chunk = prompts[start : start + unit_size]
        found = prompt_features(
            model,
            chunk,
            absolute,
            batch_size=batch_size,
            keep_tokens=keep_tokens,
            truncate=truncate,
        )
        return _to_table(found, start)

    job: ShardedJob[int] = ShardedJob(store, KIND, key)
    run = job.run(starts, lambda s: _unit_name(s, min(s + unit_size, len(prompts))), compute)
    if not run.tables:
        return _from_table(_to_table_empty(keep_tokens), absolute, num_layers, hidden)
    return _from_table(run.table(), absolute, num_layers, hidden)


def _unit_name(start: int, stop: int) -> str:
    """A unit's shard name says which prompts it holds, so units of another size never match."""
    return f"p{start:09d}-{stop:09d}"


def _to_table_empty(keep_tokens: bool) -> pa.Table:
    columns = {
        "request_index": pa.array([], pa.int64()),
        "n_tokens": pa.array([], pa.int64()),
        "last": pa.array([], pa.binary()),
        "mean": pa.array([], pa.binary()),
    }
    if keep_tokens:
        columns["tokens"] = pa.array([], pa.large_binary())
    return pa.table(columns)
