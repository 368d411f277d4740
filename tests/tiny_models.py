"""Tiny real transformers checkpoints built on the spot, for fast reference tests.

Real tokenizers (a BPE trained here with ``tokenizers``) and real architectures (Llama, and
Gemma 3 with sliding-window layers shorter than the shared prefixes), saved as safetensors
directories and loaded through the same backend as any local model.
"""

from __future__ import annotations

from pathlib import Path

import torch

TEXT = [
    "Question: There are 15 trees in the grove. Workers plant trees today. After they are done,"
    " there will be 21 trees. How many trees did they plant?\nAnswer: 21 - 15 = 6. So the"
    " answer is 6.",
    "Question: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are"
    " in the parking lot?\nAnswer: 3 + 2 = 5. So the answer is 5.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n",
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.",
]


def build_tokenizer(directory: Path, add_bos: bool) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TEXT * 20, trainer)
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.save_pretrained(directory)


def build_llama(directory: Path, seed: int = 0) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=400,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(config)
    # Sharpen the output distribution so ranks and entropies are not all near-uniform.
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(8.0)
    model.save_pretrained(directory)
    build_tokenizer(directory, add_bos=False)
    return directory


def build_gemma3(directory: Path, seed: int = 0) -> Path:
    """Gemma 3 text model whose sliding window (8) is far shorter than test prefixes."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=400,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=8,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=512,
        final_logit_softcapping=30.0,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = Gemma3ForCausalLM(config)
    model.save_pretrained(directory)
    build_tokenizer(directory, add_bos=True)
    return directory
