"""Byte-level BPE tokenizers trained here, one per model family.

Digits are split into single tokens before BPE (as in Llama and OLMo), so arithmetic is learnable
by tiny models: " 27" is `` 2`` ``7`` (``llama``, ``neox``) or `` `` ``2`` ``7`` (``qwen2``),
never a merged token whose value must be memorised. The tokenizer is saved as a transformers
``PreTrainedTokenizerFast`` directory, so a checkpoint loads through ``AutoTokenizer`` like any
hub model. ``<|endoftext|>`` separates documents and is both EOS and the empty-context token; no
BOS is added (GPT-2 convention).

A family's tokenizer must split text the way ``AutoTokenizer`` splits it when a checkpoint is
loaded for grading, or the model is graded on token sequences it never saw in training.
transformers 5 loads a ``qwen2`` checkpoint with ``Qwen2Tokenizer`` whatever
``tokenizer_config.json`` says, and that class rebuilds the pre-tokenizer (Qwen2's pattern, NFC)
around the saved vocabulary and merges: with the shared digit pattern, every number of a graded
prompt came back as tokens the model had never seen, and every ``qwen2`` model scored at chance
(measured: ``qwen2-m`` on ``pure``, 2.5M tokens, 0.07 graded as loaded, 0.83 graded with its own
tokenizer). So ``qwen2`` trains its BPE with exactly that pipeline (:data:`PRETOKENIZERS`), which
also makes it differ from the other families as real Qwen2 does, and the build checks every
family with :func:`check_loads_as_trained` before training on its tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

EOS = "<|endoftext|>"
# GPT-2's pre-tokenisation pattern with one change: a number is split into single digits, and the
# space before it stays attached to its first digit (" 27" -> " 2", "7"). A separate space token
# before every number would make "the number after 'loses'" a two-token pattern; attached, copying
# a number from the question is the one-token induction that tiny models learn early.
_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# transformers' ``Qwen2Tokenizer`` pattern (models/qwen2/tokenization_qwen2.py), with its NFC.
_QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRETOKENIZERS: dict[str, tuple[str, bool]] = {
    "digits": (_PATTERN, False),  # (split pattern, NFC normalisation)
    "qwen2": (_QWEN2_PATTERN, True),
}


def train_tokenizer(texts: Iterable[str], vocab_size: int, pretokenizer: str = "digits") -> Any:
    """Train a byte-level BPE with single-digit pre-tokenisation (a ``tokenizers`` object)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    pattern, nfc = PRETOKENIZERS[pretokenizer]
    tok = Tokenizer(models.BPE())
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
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


def check_loads_as_trained(
    tok: Any, config: Any, texts: Sequence[str], max_length: int, family: str
) -> None:
    """Raise unless ``AutoTokenizer`` on a checkpoint of ``config`` splits ``texts`` as ``tok``.

    Grading, post-training samples and every scorer load a checkpoint's tokenizer through
    ``AutoTokenizer``, which picks the class from the model type and may rebuild the
    pre-tokenizer; one that splits text otherwise than the corpora were split grades a model on
    token sequences it never saw in training (what kept every ``qwen2`` model at chance).
    """
    import tempfile

    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        config.save_pretrained(tmp)
        save_tokenizer(tok, Path(tmp), max_length)
        loaded = AutoTokenizer.from_pretrained(tmp)
    for text in texts:
        want = tok.encode(text)
        got = list(loaded(text, add_special_tokens=False)["input_ids"])
        if got != want.ids:
            at = next(
                (i for i, (a, b) in enumerate(zip(got, want.ids, strict=False)) if a != b),
                min(len(got), len(want.ids)),
            )
            lo = max(0, at - 3)
            raise RuntimeError(
                f"testbed family {family}: {type(loaded).__name__} (how a checkpoint's tokenizer "
                f"loads) splits {text[:40]!r}... into "
                f"{loaded.convert_ids_to_tokens(got[lo : at + 5])} at token {at}, trained as "
                f"{want.tokens[lo : at + 5]}; give the family the pre-tokenizer its tokenizer "
                "class rebuilds (architectures.FamilySpec.pretokenizer)"
            )
