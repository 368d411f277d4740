"""The model protocol every backend returns: a loaded causal LM with its tokenizer.

Backends differ only in how they *load* (HF directory, hub id, GGUF file, testbed checkpoint);
once loaded, every model is a transformers ``PreTrainedModel`` with a tokenizer, so the scoring
engine and generation have one code path. ``fingerprint`` identifies the weights and tokenizer,
and keys everything stored about this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``.

    >>> dtype_name(torch.bfloat16)
    'bfloat16'
    """
    return str(dtype).removeprefix("torch.")


@dataclass
class LoadedModel:
    """A causal LM ready to score and generate."""

    name: str  # what the user asked for (alias, path or hub id)
    module: Any  # transformers PreTrainedModel (causal LM head)
    tokenizer: Any  # transformers PreTrainedTokenizerBase
    fingerprint: str
    source: str  # where the weights came from, in words ("gguf …, dequantised to float32")
    max_length: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    @property
    def dtype_name(self) -> str:
        """The weights' dtype in words ("float32", "bfloat16"), as results record it."""
        return dtype_name(self.dtype)

    @property
    def num_parameters(self) -> int:
        """Parameters excluding the input embedding (the count that costs FLOPs per token)."""
        total = sum(p.numel() for p in self.module.parameters())
        emb = self.module.get_input_embeddings().weight
        out = self.module.get_output_embeddings()
        tied = out is not None and out.weight is emb
        # Tied: the matrix is used once, as the output layer; untied: the input lookup is free.
        return total - (0 if tied else emb.numel())

    @property
    def vocab_size(self) -> int:
        return int(self.module.get_output_embeddings().weight.shape[0])

    def encode(self, text: str) -> list[int]:
        """Token ids as the tokenizer produces them by default (BOS where it adds one)."""
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode_plain(self, text: str) -> list[int]:
        """Token ids without special tokens (for continuations and generated text)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    @property
    def prefix_token_id(self) -> int:
        """The token that stands for an empty context (BOS, else EOS), as lm-eval uses it."""
        tok = self.tokenizer
        for candidate in (tok.bos_token_id, tok.eos_token_id):
            if candidate is not None:
                return int(candidate)
        raise ValueError(f"model {self.name}: tokenizer has neither BOS nor EOS token")

    @property
    def eos_token_ids(self) -> list[int]:
        ids = self.module.generation_config.eos_token_id if self.module.generation_config else None
        if ids is None:
            ids = self.tokenizer.eos_token_id
        if ids is None:
            return []
        return [int(i) for i in (ids if isinstance(ids, list) else [ids])]

    def label_dtype(self) -> LoadedModel:
        """Make the weights' dtype part of this model's identity when it is not float32.

        The weights files are the same whatever dtype they are cast to on load, but the scores
        are not: a bfloat16 pass is an approximation of the float32 one. Everything stored about
        a model is keyed by ``fingerprint``, so a cast model gets its own (``<hash>-bfloat16``)
        and can never reuse, or be reused as, a float32 result; ``source`` says so in words.
        float32 keeps the plain hash, so every result stored before is still found.
        """
        name = self.dtype_name
        suffix = f"-{name}"
        if name != "float32" and not self.fingerprint.endswith(suffix):
            self.fingerprint += suffix
            self.source += f", cast to {name}"
        self.meta["dtype"] = name
        return self

    def flops_per_token(self, context_length: int = 0) -> float:
        """Forward FLOPs for one token: 2·N plus attention over ``context_length`` keys."""
        cfg = self.module.config
        cfg = getattr(cfg, "text_config", None) or cfg
        layers = int(getattr(cfg, "num_hidden_layers", 0))
        heads = int(getattr(cfg, "num_attention_heads", 0))
        head_dim = int(getattr(cfg, "head_dim", 0) or (cfg.hidden_size // max(heads, 1)))
        attention = 4.0 * layers * heads * head_dim * context_length  # QK^T and AV
        return 2.0 * self.num_parameters + attention
