"""Backend for transformers checkpoints: a local directory (safetensors) or a hub id.

``trust_remote_code`` stays off unless the user asks for it. A hub id is resolved by
transformers' own cache; with ``HF_HUB_OFFLINE=1`` (set by the Makefile) nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lmforecast.core.errors import ModelLoadError
from lmforecast.core.fingerprint import hash_files, hash_json
from lmforecast.models.base import LoadedModel
from lmforecast.models.options import LoadOptions
from lmforecast.models.registry import BACKENDS

_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def directory_fingerprint(path: Path) -> str:
    """Hash of a checkpoint directory's weights, config and tokenizer files."""
    files = [p for pat in _WEIGHT_PATTERNS for p in path.glob(pat)]
    files += [path / n for n in ("config.json", *_TOKENIZER_FILES) if (path / n).is_file()]
    return hash_files(files)


def max_context(module: Any, tokenizer: Any) -> int:
    """The model's context window: from its config, else the tokenizer's declared maximum."""
    cfg = module.config
    cfg = getattr(cfg, "text_config", None) or cfg
    for attr in ("max_position_embeddings", "n_positions", "seq_length"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", 2048)
    return int(value) if value and value < 1_000_000 else 2048


def finish(module: Any, options: LoadOptions) -> Any:
    module = module.to(device=options.torch_device(), dtype=options.torch_dtype())
    module.eval()
    module.requires_grad_(False)
    return module


def load_pretrained(
    location: str, options: LoadOptions, **kwargs: Any
) -> tuple[Any, Any]:  # (module, tokenizer)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    common: dict[str, Any] = {"trust_remote_code": options.trust_remote_code, **kwargs}
    if options.revision:
        common["revision"] = options.revision
    tokenizer = AutoTokenizer.from_pretrained(location, **common)
    module = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, **common)
    return finish(module, options), tokenizer


@BACKENDS.register("hf")
def load_hf(spec: str, options: LoadOptions) -> LoadedModel:
    """Load a local transformers directory, or a hub id through the local HF cache."""
    path = Path(spec).expanduser()
    is_dir = path.is_dir()
    if is_dir and not (path / "config.json").is_file():
        raise ModelLoadError(f"{path}: not a model directory (no config.json)")
    try:
        module, tokenizer = load_pretrained(str(path) if is_dir else spec, options)
    except ModelLoadError:
        raise
    except OSError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{spec}: cannot load model ({first})") from None
    except Exception as e:  # corrupted weights surface as many exception types
        raise ModelLoadError(f"{spec}: cannot load model ({type(e).__name__}: {e})") from None
    if is_dir:
        fingerprint = directory_fingerprint(path)
        source = f"transformers directory {path.resolve()}"
    else:
        commit = getattr(module.config, "_commit_hash", None) or options.revision or "unknown"
        fingerprint = hash_json({"hub": spec, "commit": commit})
        source = f"hub id {spec} (commit {commit})"
    return LoadedModel(
        name=spec,
        module=module,
        tokenizer=tokenizer,
        fingerprint=fingerprint,
        source=source,
        max_length=max_context(module, tokenizer),
    )
