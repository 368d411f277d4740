"""lmforecast's engine as an lm-evaluation-harness model (``--model lmforecast``).

:class:`LMForecastLM` implements lm-eval's model contract (``loglikelihood``,
``loglikelihood_rolling``, ``generate_until``) on the streaming engine, so any lm-eval task's
log-likelihood requests get prefix sharing (a few-shot prompt runs once for all its requests)
and bounded memory (no full-vocabulary log-softmax held), with per-request sums accumulated in
float64. lm-eval 0.4.13's CLI only knows its built-in models, so :func:`register` adds this one
to its registry (``lmforecast lm-eval ...`` calls it first); later releases read the
``lm_eval.models`` entry point declared in ``pyproject.toml``.

lm-eval is an optional extra: importing this module without it is a one-line
:class:`UserError` naming the install command.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import torch

from lmforecast.core.errors import UserError
from lmforecast.core.records import Request
from lmforecast.engine import EncodedRequest, RequestScore, ScoreConfig
from lmforecast.engine.backend import TransformersBackend
from lmforecast.engine.generate import GenerationConfig
from lmforecast.integrations.lm_eval_args import (
    INSTALL_HINT,
    engine_config,
    generation_settings,
    load_device,
    load_dtype,
    rolling_windows,
)
from lmforecast.models import LoadOptions, load_model
from lmforecast.models.base import LoadedModel

try:
    from lm_eval.api.model import LM
except ModuleNotFoundError as e:  # pragma: no cover - exercised in a subprocess test
    if not (e.name or "").startswith("lm_eval"):
        raise
    raise UserError(f"lm-eval is not installed: {INSTALL_HINT}") from None

__all__ = ["MODEL_NAME", "LMForecastLM", "register", "rolling_windows"]

MODEL_NAME = "lmforecast"
log = logging.getLogger(__name__)


def _args(request: Any) -> tuple[Any, ...]:
    return tuple(request.args) if hasattr(request, "args") else tuple(request)


class LMForecastLM(LM):
    """An lm-eval model backed by a :class:`LoadedModel` and the scoring engine.

    ``pretrained`` is anything ``lmforecast.models.load_model`` accepts (an alias such as
    ``smollm2-135m``, a local transformers directory, a ``.gguf`` file, a hub id) or an already
    loaded model. ``batch_size`` (suffix rows per forward pass; ``auto`` takes
    ``max_batch_size``), ``device`` and ``dtype`` are lm-eval's; ``prefix_sharing``,
    ``min_prefix_tokens``, ``unit_size`` and ``vocab_chunk_elements`` are the engine's.
    """

    def __init__(
        self,
        pretrained: str | LoadedModel,
        config: ScoreConfig | None = None,
        *,
        dtype: str | None = None,
        device: str | None = None,
        batch_size: int | str | None = None,
        max_batch_size: int | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        **engine_options: Any,
    ) -> None:
        super().__init__()
        self.config = engine_config(config, batch_size, max_batch_size, engine_options)
        if isinstance(pretrained, LoadedModel):
            self.model = pretrained
        else:
            self.model = self._load(str(pretrained), dtype, device, trust_remote_code, revision)
        self.backend = TransformersBackend(self.model, self.config)
        self.engine = self.backend.engine  # rolling windows are scored pre-tokenised
        self._device = self.model.device

    @staticmethod
    def _load(
        spec: str, dtype: Any, device: str | None, trust_remote_code: bool, revision: str | None
    ) -> LoadedModel:
        where, warning = load_device(device, torch.cuda.is_available())
        if warning:
            log.warning(warning)
        options = LoadOptions(
            dtype=load_dtype(dtype),  # type: ignore[arg-type]
            device=where,
            trust_remote_code=bool(trust_remote_code),
            revision=revision,
        )
        return load_model(spec, options)

    @property
    def tokenizer_name(self) -> str:
        """Keys lm-eval's request cache for chat-templated prompts."""
        return str(getattr(self.model.tokenizer, "name_or_path", self.model.name)).replace(
            "/", "__"
        )

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """The tokenizer's own chat template (``--apply_chat_template``)."""
        return str(
            self.model.tokenizer.apply_chat_template(
                chat_history, tokenize=False, add_generation_prompt=add_generation_prompt
            )
        )

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        if chat_template is False:
            return None
        if isinstance(chat_template, str):
            return chat_template
        return getattr(self.model.tokenizer, "chat_template", None)

    # -- the three request types ------------------------------------------------------------
    def _score(self, requests: Sequence[Request], disable_tqdm: bool) -> list[RequestScore]:
        with _progress(len(requests), disable_tqdm or self.rank != 0) as bar:
            scores = self.engine.score(requests, lambda n, _tokens: bar.update(n))
        _warn_truncated(scores)
        return scores

    def loglikelihood(
        self, requests: Sequence[Any], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """(sum log p(continuation | context), is greedy) per request, in input order."""
        pairs = [_args(r)[:2] for r in requests]
        reqs = [Request(i, str(i), c, x) for i, (c, x) in enumerate(pairs)]
        out = [(s.logprob_sum, s.is_greedy) for s in self._score(reqs, disable_tqdm)]
        for pair, result in zip(pairs, out, strict=True):
            self.cache_hook.add_partial("loglikelihood", pair, result)
        return out

    def loglikelihood_rolling(
        self, requests: Sequence[Any], disable_tqdm: bool = False
    ) -> list[float]:
        """Total log-likelihood of each string, in windows no longer than the context window."""
        encoded: list[EncodedRequest] = []
        owner: list[int] = []
        texts = [_args(r)[0] for r in requests]
        for i, text in enumerate(texts):
            tokens = self.model.encode_plain(text)
            for seq, targets in rolling_windows(
                tokens, self.model.prefix_token_id, self.model.max_length
            ):
                encoded.append(EncodedRequest(len(encoded), tuple(seq[:-1]), tuple(targets), 0))
                owner.append(i)
        totals = [0.0] * len(requests)
        with _progress(len(encoded), disable_tqdm or self.rank != 0) as bar:
            scores = self.engine.score_encoded(encoded, lambda n, _tokens: bar.update(n))
        for e, s in zip(encoded, scores, strict=True):
            totals[owner[e.index]] += s.logprob_sum
        for text, total in zip(texts, totals, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", (text,), total)
        return totals

    def generate_until(self, requests: Sequence[Any], disable_tqdm: bool = False) -> list[str]:
        """Continuations cut at ``until``, greedy unless ``do_sample``; requests that share
        generation settings are decoded together, in batches of the engine's batch size."""
        args = [_args(r)[:2] for r in requests]
        settings = [generation_settings(kw) for _, kw in args]
        outputs = [""] * len(args)

        def key(i: int) -> str:
            return repr(sorted(settings[i].items()))

        for _, group in groupby(sorted(range(len(args)), key=key), key=key):
            members = list(group)
            config = GenerationConfig(batch_size=self.config.batch_size, **settings[members[0]])
            generations = self.backend.generate([args[i][0] for i in members], config)
            for i, samples in zip(members, generations, strict=True):
                outputs[i] = samples[0].text
                self.cache_hook.add_partial("generate_until", args[i], outputs[i])
        return outputs


def _progress(total: int, disable: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, disable=disable, desc="lmforecast requests")


def _warn_truncated(scores: Sequence[RequestScore]) -> None:
    cut = [s for s in scores if s.truncated]
    if cut:
        log.warning(
            "%d of %d requests were longer than the context window and kept their end (lm-eval's"
            " left truncation; at most %d context tokens dropped)",
            len(cut),
            len(scores),
            max(s.truncated for s in cut),
        )


def register() -> None:
    """Make ``--model lmforecast`` known to lm-eval's registry (idempotent).

    ``lm_eval.models`` is imported first: it fills the registry with lm-eval's built-in model
    names, and ``get_model`` imports it only while the registry is empty, so registering into
    an empty registry would hide ``hf`` and every other built-in model.
    """
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    if MODEL_NAME in model_registry:
        taken = model_registry.get(MODEL_NAME)
        if taken is LMForecastLM:
            return
        raise UserError(f"lm-eval model name {MODEL_NAME!r} is already taken by {taken!r}")
    model_registry.register(MODEL_NAME, target=LMForecastLM)
