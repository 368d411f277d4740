"""Model families and sizes: transformers configs, parameter counts and FLOPs per token.

Three families differ in architecture details *and* tokenizer, so cross-family model selection is
a real test: ``llama`` (RMSNorm, SwiGLU, tied embeddings, vocabulary 512), ``qwen2`` (Llama-like
with QKV bias and grouped-query attention, untied embeddings, vocabulary 768, Qwen2's own
pre-tokenizer: see :mod:`lmforecast.testbed.tokenizer`) and ``neox`` (GPT-NeoX: LayerNorm, GELU
MLP, parallel residual, partial rotary, vocabulary 384).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SizeSpec:
    """One model size of a family."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int


@dataclass(frozen=True)
class FamilySpec:
    """A model family: architecture, tokenizer vocabulary and its sizes."""

    name: str
    arch: str  # "llama" | "qwen2" | "neox"
    vocab_size: int
    sizes: tuple[SizeSpec, ...]
    pretokenizer: str = "digits"  # a key of tokenizer.PRETOKENIZERS

    def size(self, name: str) -> SizeSpec:
        for s in self.sizes:
            if s.name == name:
                return s
        raise KeyError(f"family {self.name} has no size {name!r}")


def _s(name: str, hidden: int, layers: int, heads: int, kv: int | None = None) -> SizeSpec:
    inter = max(8, (hidden * 8 // 3) // 8 * 8)
    return SizeSpec(name, hidden, layers, heads, kv or heads, inter)


FAMILIES: dict[str, FamilySpec] = {
    "llama": FamilySpec(
        "llama",
        "llama",
        512,
        (
            _s("xs", 32, 2, 2),
            _s("s", 48, 3, 2),
            _s("m", 64, 4, 2),
            _s("l", 96, 4, 3),
            _s("xxs", 16, 2, 2),  # ci only
            _s("xxs2", 24, 2, 2),  # ci only
        ),
    ),
    "qwen2": FamilySpec(
        "qwen2",
        "qwen2",
        768,
        (
            _s("s", 48, 3, 4, 2),
            _s("m", 80, 4, 4, 2),
            _s("xxs", 16, 2, 2, 1),  # ci only
        ),
        pretokenizer="qwen2",
    ),
    "neox": FamilySpec(
        "neox",
        "neox",
        384,
        (
            _s("s", 48, 3, 2),
            _s("m", 80, 4, 4),
            _s("xxs", 16, 2, 2),  # ci only
        ),
    ),
}


def build_config(family: FamilySpec, size: SizeSpec, max_length: int, eos_id: int) -> Any:
    """The transformers config of a family at a size."""
    common: dict[str, Any] = {
        "vocab_size": family.vocab_size,
        "hidden_size": size.hidden,
        "num_hidden_layers": size.layers,
        "num_attention_heads": size.heads,
        "intermediate_size": size.intermediate,
        "max_position_embeddings": max_length,
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
        "pad_token_id": eos_id,
    }
    if family.arch == "llama":
        from transformers import LlamaConfig

        return LlamaConfig(num_key_value_heads=size.kv_heads, tie_word_embeddings=True, **common)
    if family.arch == "qwen2":
        from transformers import Qwen2Config

        return Qwen2Config(num_key_value_heads=size.kv_heads, tie_word_embeddings=False, **common)
    if family.arch == "neox":
        from transformers import GPTNeoXConfig

        common["intermediate_size"] = 4 * size.hidden
        return GPTNeoXConfig(
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "partial_rotary_factor": 0.5,
            },
            use_parallel_residual=True,
            tie_word_embeddings=False,
            **common,
        )
    raise ValueError(f"unknown architecture {family.arch!r}")


def build_model(config: Any) -> Any:
    """A freshly initialised causal LM for a config (seed the RNG before calling)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_config(config)


def count_params(module: Any) -> tuple[int, int]:
    """(parameters that cost FLOPs per token, all parameters).

    The first excludes the input-embedding lookup when it is a separate matrix (a lookup costs
    nothing); with tied embeddings the shared matrix counts once, as the output layer. Same rule
    as :attr:`lmforecast.models.LoadedModel.num_parameters`.
    """
    total = sum(p.numel() for p in module.parameters())
    emb = module.get_input_embeddings().weight
    out = module.get_output_embeddings()
    tied = out is not None and out.weight is emb
    return total - (0 if tied else emb.numel()), total


def train_flops_per_token(config: Any, n_params: int, seq_len: int) -> float:
    """Training FLOPs per token: 6·N plus causal attention.

    Attention scores and the weighted sum cost 2·2·d_attn FLOPs per (query, key) pair and layer in
    the forward pass; a causal window of ``seq_len`` gives each token (seq_len+1)/2 keys on
    average; the backward pass costs twice the forward. So ``6·N + 6·L·d_attn·(seq_len+1)``.
    """
    heads = int(config.num_attention_heads)
    head_dim = int(getattr(config, "head_dim", 0) or config.hidden_size // heads)
    d_attn = heads * head_dim
    return 6.0 * n_params + 6.0 * int(config.num_hidden_layers) * d_attn * (seq_len + 1)
