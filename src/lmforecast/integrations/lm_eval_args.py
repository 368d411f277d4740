"""How lm-eval's model arguments map onto lmforecast's loading and scoring options.

Pure functions, no lm-eval import: lm-eval's CLI passes ``batch_size``, ``max_batch_size`` and
``device`` to every model whatever the user typed (``batch_size=1`` and ``device="cuda:0"`` by
default), and ``--model_args`` arrive as ``key=value`` strings parsed by lm-eval. Each is
mapped here, and a key or value that means nothing to lmforecast is a one-line error naming the
``--model_args`` key, not a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from lmforecast.core.errors import UserError
from lmforecast.engine import ScoreConfig

INSTALL_HINT = "pip install 'lmforecast[lm-eval]'"

# ScoreConfig fields a user may set through --model_args (hidden-state pooling is not an
# lm-eval output, so it stays out).
ENGINE_OPTIONS = ("prefix_sharing", "min_prefix_tokens", "unit_size", "vocab_chunk_elements")

_DTYPES = {
    None: "auto",
    "auto": "auto",
    "float32": "float32",
    "float": "float32",
    "fp32": "float32",
    "torch.float32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "torch.bfloat16": "bfloat16",
    "float16": "float16",
    "half": "float16",
    "fp16": "float16",
    "torch.float16": "float16",
}


def engine_batch_size(batch_size: int | str | None, max_batch_size: int | None) -> int | None:
    """Suffix rows per forward pass for lm-eval's ``batch_size`` (None: the engine's default).

    ``auto`` / ``auto:N`` ask HFLM to search for the largest batch that fits in memory. The
    engine's memory is bounded by construction (streamed vocabulary, one prefix cache), so
    there is nothing to search: ``auto`` takes ``max_batch_size`` when given, else the default.

    >>> engine_batch_size(8, None), engine_batch_size("16", 4), engine_batch_size("auto", 32)
    (8, 16, 32)
    >>> engine_batch_size("auto:4", None) is None, engine_batch_size(None, None) is None
    (True, True)
    """
    if batch_size is None:
        return None
    text = str(batch_size).strip()
    if text == "auto" or text.startswith("auto:"):
        return max_batch_size
    try:
        value = int(text)
    except ValueError:
        raise UserError(
            f"--batch_size {batch_size!r}: expected a positive integer, 'auto' or 'auto:N'"
        ) from None
    if value < 1:
        raise UserError(f"--batch_size {batch_size!r}: expected a positive integer")
    return value


def load_device(device: str | None, cuda_available: bool) -> tuple[str, str | None]:
    """(device for :class:`LoadOptions`, warning or None).

    lm-eval's CLI passes ``device="cuda:0"`` even when the user named none; like HFLM, a CUDA
    device on a machine without one falls back to the CPU, with a warning.

    >>> load_device(None, False), load_device("cpu", True)
    (('auto', None), ('cpu', None))
    >>> load_device("cuda:0", True)
    ('cuda:0', None)
    >>> load_device("cuda:0", False)[0]
    'cpu'
    """
    if device is None or device == "auto":
        return "auto", None
    if device.startswith("cuda") and not cuda_available:
        return "cpu", f"device {device!r} asked for but CUDA is not available: running on the CPU"
    return device, None


def load_dtype(dtype: Any) -> str:
    """The :class:`LoadOptions` dtype for lm-eval's ``dtype`` spellings.

    >>> load_dtype(None), load_dtype("half"), load_dtype("bf16"), load_dtype("torch.float32")
    ('auto', 'float16', 'bfloat16', 'float32')
    """
    key = None if dtype is None else str(dtype)
    if key not in _DTYPES:
        raise UserError(
            f"--model_args dtype={dtype}: expected one of auto, float32, bfloat16, float16"
        )
    return _DTYPES[key]


def engine_config(
    base: ScoreConfig | None,
    batch_size: int | str | None,
    max_batch_size: int | None,
    options: Mapping[str, Any],
) -> ScoreConfig:
    """The engine's configuration: ``base`` (lm-eval's left truncation by default) updated
    with the batch size and the ``--model_args`` engine options.

    >>> c = engine_config(None, "auto", 8, {"prefix_sharing": False})
    >>> (c.batch_size, c.prefix_sharing, c.truncate)
    (8, False, 'left')
    """
    unknown = sorted(set(options) - set(ENGINE_OPTIONS))
    if unknown:
        raise UserError(
            f"--model_args {unknown[0]}: not an lmforecast model argument (expected pretrained,"
            f" dtype, device, batch_size, max_batch_size, trust_remote_code, revision,"
            f" {', '.join(ENGINE_OPTIONS)})"
        )
    # lm-eval's HFLM keeps the end of a request longer than the context window; so do we (the
    # count of truncated requests is logged, not hidden).
    values = (base or ScoreConfig(truncate="left")).model_dump()
    values.update(options)
    size = engine_batch_size(batch_size, max_batch_size)
    if size is not None:
        values["batch_size"] = size
    try:
        return ScoreConfig(**values)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise UserError(f"--model_args {key}={first.get('input')!r}: {first['msg']}") from None


def rolling_windows(
    tokens: Sequence[int], prefix_token: int, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Disjoint windows of at most ``max_length`` predicted tokens, each conditioned on as much
    preceding text as fits (lm-eval's ``get_rolling_token_windows`` with context length 1).
    Each window is (sequence, targets): the model reads ``sequence[:-1]`` and its last
    ``len(targets)`` positions predict ``targets``.

    >>> rolling_windows([5, 6, 7, 8, 9], prefix_token=0, max_length=2)
    [([0, 5, 6], [5, 6]), ([6, 7, 8], [7, 8]), ([7, 8, 9], [9])]
    """
    windows = []
    full = [prefix_token, *tokens]
    for start in range(0, len(tokens), max_length):
        targets = list(tokens[start : start + max_length])
        end = start + len(targets)
        windows.append((full[max(0, end - max_length) : end + 1], targets))
    return windows


def generation_settings(gen_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`GenerationConfig` fields for one request's lm-eval ``gen_kwargs``.

    Sampled only when ``do_sample`` is true (at ``temperature``, 1.0 when absent), else greedy
    whatever the temperature: HFLM hands both to transformers' ``generate``, which ignores a
    temperature without ``do_sample``. ``until`` may be one string or a list; lm-eval's
    ``max_gen_toks`` defaults to 256.

    >>> generation_settings({"until": "Q:", "do_sample": False, "temperature": 0.7})
    {'temperature': 0.0, 'top_p': 1.0, 'max_tokens': 256, 'stop': ('Q:',)}
    >>> generation_settings({"until": ["\\n"], "do_sample": True, "max_gen_toks": 8})
    {'temperature': 1.0, 'top_p': 1.0, 'max_tokens': 8, 'stop': ('\\n',)}
    """
    until = gen_kwargs.get("until") or ()
    temperature = 0.0
    if gen_kwargs.get("do_sample"):
        temperature = float(gen_kwargs.get("temperature", 1.0) or 1.0)
    return {
        "temperature": temperature,
        "top_p": float(gen_kwargs.get("top_p", 1.0) or 1.0),
        "max_tokens": int(gen_kwargs.get("max_gen_toks", 256)),
        "stop": tuple([until] if isinstance(until, str) else until),
    }
