"""The ``submodel`` probe: a frozen copy of a reference checkpoint's last ``k`` blocks, and a
small trained head on what they output.

Liu et al. (2026) report that such probes keep their AUROC across checkpoints despite weight
drift. Our reading, and what is built here: the blocks are copied from the checkpoint the probe
is trained on (the *reference*) and frozen. Any checkpoint's per-token states of layer
``L - k`` (transformers numbering: the input of block ``L - k``) go through those frozen blocks
and the reference's final norm, so the head always sees the reference's layer-``L`` space, even
when the states come from a later checkpoint (:func:`.evaluate.transfer`). On the reference
itself this reproduces its own layer-``L`` states (to float16 rounding of the stored inputs;
tested).

How the blocks run: the stored per-token states of each prompt are right-padded into a batch,
positions are ``0 .. n-1`` as in the original pass, the mask comes from transformers'
``create_causal_mask`` and the rotary embeddings from the body's ``rotary_emb``; each decoder
layer is called as ``layer(x, attention_mask=..., position_embeddings=..., position_ids=...)``,
as transformers 5's Llama-family bodies (Llama, Qwen2/3, Mistral, OLMo 2/3) call them. Bodies
without ``rotary_emb``/``norm``/``layers``, or with sliding-window blocks among the last ``k``
(Gemma 2/3), are refused with an error rather than run with a wrong mask.

Since the blocks are frozen, their output is computed once per fit or predict; the head is then
a ``logreg``, ``mlp`` or ``attention`` probe (which one follows from the type of
``SubmodelOptions.head``) on features at layer ``L`` built from the blocks' output.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers.masking_utils import create_causal_mask

from lmforecast.engine.features import STORAGE_DTYPE, PromptFeatures, num_hidden_layers
from lmforecast.models.base import LoadedModel
from lmforecast.signals.probes.probes import (
    PROBES,
    FloatArray,
    LogRegOptions,
    LogRegProbe,
    Probe,
    ProbeInput,
)
from lmforecast.signals.probes.torch_probes import (
    AttentionOptions,
    AttentionProbe,
    MLPOptions,
    MLPProbe,
    pad_tokens,
)

HeadOptions = LogRegOptions | MLPOptions | AttentionOptions


@dataclass(frozen=True)
class SubmodelOptions:
    """``k`` frozen blocks; ``head`` the trained head's options (its type picks the head; its
    layer choice refers to layer ``L``, the only one the blocks produce); ``batch_size`` prompts
    per frozen forward pass."""

    k: int = 1
    head: HeadOptions = field(default_factory=lambda: LogRegOptions(pooling=("last", "mean")))
    batch_size: int = 8


class FrozenBlocks:
    """A frozen float32 copy of the last ``k`` blocks and the final norm of ``model``."""

    def __init__(self, model: LoadedModel, k: int) -> None:
        body = model.module.base_model
        missing = [a for a in ("layers", "norm", "rotary_emb", "config") if not hasattr(body, a)]
        if missing:
            raise ValueError(
                f"submodel probe: {model.name}'s body has no {', '.join(missing)}; only "
                "Llama-family bodies are supported"
            )
        self.num_layers = num_hidden_layers(model)
        if not 1 <= k <= self.num_layers:
            raise ValueError(f"submodel probe: k={k} must be in 1..{self.num_layers}")
        cfg = body.config
        types = getattr(cfg, "layer_types", None) or []
        if any(t != "full_attention" for t in types[self.num_layers - k :]):
            raise ValueError("submodel probe: sliding-window blocks are not supported")
        self.k = k
        self.input_layer = self.num_layers - k
        self.config = copy.deepcopy(cfg)
        self.device = model.device  # the copy runs where the model runs; outputs come back
        self.layers = copy.deepcopy(body.layers[self.input_layer : self.num_layers]).float()
        self.norm = copy.deepcopy(body.norm).float()
        self.rotary = copy.deepcopy(body.rotary_emb).float()
        for module in (self.layers, self.norm, self.rotary):
            module.eval()
            module.requires_grad_(False)

    def __call__(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[b, T, h]`` states of layer ``L - k`` (right-padded, ``mask`` ``[b, T]``) ->
        the states of layer ``L``."""
        with torch.inference_mode():
            positions = (
                torch.arange(states.shape[1], device=states.device)
                .unsqueeze(0)
                .expand(states.shape[0], -1)
            )
            embeddings = self.rotary(states, position_ids=positions)
            causal = create_causal_mask(
                config=self.config,
                inputs_embeds=states,
                attention_mask=mask.long(),
                past_key_values=None,
                position_ids=positions,
            )
            x = states
            for layer in self.layers:
                out = layer(
                    x, attention_mask=causal, position_embeddings=embeddings, position_ids=positions
                )
                x = out[0] if isinstance(out, tuple) else out
            return self.norm(x)

    def transform(
        self, features: PromptFeatures, batch_size: int, keep_tokens: bool
    ) -> PromptFeatures:
        """Features at layer ``L`` (the reference's space) from ``features``' layer ``L - k``."""
        if features.num_layers != self.num_layers:
            raise ValueError(
                f"submodel probe: features of a {features.num_layers}-block model, blocks of a "
                f"{self.num_layers}-block one"
            )
        tokens = features.token_states(self.input_layer)
        n, h = len(tokens), features.hidden_size
        last = np.zeros((n, 1, h), dtype=STORAGE_DTYPE)
        mean = np.zeros((n, 1, h), dtype=STORAGE_DTYPE)
        kept: list[npt.NDArray[Any]] = []
        for start in range(0, n, batch_size):
            rows = list(range(start, min(start + batch_size, n)))
            states, mask = pad_tokens([tokens[i] for i in rows], max(len(t) for t in tokens))
            out = self(states.to(self.device), mask.to(self.device)).float().cpu()
            for j, i in enumerate(rows):
                s = out[j, : len(tokens[i])]
                last[i, 0] = s[-1].numpy()
                mean[i, 0] = s.mean(0).numpy()
                if keep_tokens:
                    kept.append(s.unsqueeze(1).numpy().astype(STORAGE_DTYPE))
        layers = (self.num_layers,)
        n_tokens = np.asarray(features.n_tokens, dtype=np.int64)
        return PromptFeatures(
            layers, self.num_layers, last, mean, n_tokens, tuple(kept) if keep_tokens else None
        )


def _head(options: HeadOptions) -> Probe:
    if isinstance(options, AttentionOptions):
        return AttentionProbe(options)
    if isinstance(options, MLPOptions):
        return MLPProbe(options)
    return LogRegProbe(options)


@PROBES.register("submodel")
class SubmodelProbe:
    """Frozen last ``k`` blocks of the reference ``model``, then a trained head."""

    def __init__(self, model: LoadedModel, options: SubmodelOptions | None = None) -> None:
        self.options = options or SubmodelOptions()
        self.blocks = FrozenBlocks(model, self.options.k)
        self.head = _head(self.options.head)

    def _features(self, x: ProbeInput) -> PromptFeatures:
        if not isinstance(x, PromptFeatures):
            raise TypeError("the submodel probe reads PromptFeatures with per-token states")
        keep = isinstance(self.options.head, AttentionOptions)
        return self.blocks.transform(x, self.options.batch_size, keep)

    def fit(self, x: ProbeInput, y: FloatArray, groups: npt.NDArray[Any]) -> SubmodelProbe:
        self.head.fit(self._features(x), y, groups)
        return self

    def predict_proba(self, x: ProbeInput) -> FloatArray:
        return self.head.predict_proba(self._features(x))
