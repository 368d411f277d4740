"""Byte-level BPE tokenizers trained here, one per model family.

Digits are split into single tokens before BPE (as in Llama and OLMo), so arithmetic is learnable
by tiny models: " 27" is always `` 2`` ``7``, never a merged token whose value must be memorised.
The tokenizer is saved as a transformers ``PreTrainedTokenizerFast`` directory, so a checkpoint
loads through ``AutoTokenizer`` like any hub model. ``<|endoftext|>`` separates documents and is
both EOS and the empty-context token; no BOS is added (GPT-2 convention).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

EOS = "<|endoftext|>"
# GPT-2's pre-tokenisation pattern with one change: a number is split into single digits, and the
# space before it stays attached to its first digit (" 27" -> " 2", "7"). A separate space token
# before every number would make "the number after 'loses'" a two-token pattern; attached, copying
# a number from the question is the one-token induction that tiny models learn early.
_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """Train a byte-level BPE with single-digit pre-tokenisation (a ``tokenizers`` object)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def wrap(tok: Any, max_length: int) -> Any:
    """The transformers tokenizer around a trained ``tokenizers`` object."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=EOS,
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
    )


def save_tokenizer(tok: Any, directory: Path, max_length: int) -> None:
    """Write the tokenizer files of a checkpoint directory."""
    wrap(tok, max_length).save_pretrained(str(directory))


def load_tokenizer(directory: Path) -> Any:
    """The raw ``tokenizers`` object saved in a directory (fast batch encoding for corpora)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(directory / "tokenizer.json"))
