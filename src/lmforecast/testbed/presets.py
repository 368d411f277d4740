"""Build presets: which runs, how long, how much post-training and ground truth.

``ci`` is the smallest population that still has every kind of thing (2 families, 2 sizes, 3
recipes, 4 checkpoints per run, post-trained models, ground truth): it builds in about a minute
and is what the tests and the demo use. ``full`` is the real population: every corpus recipe at
every size of the ``llama`` family (12 x 4), plus the ``qwen2`` and ``neox`` families at two sizes
on three recipes each: 60 runs of 1M tokens, 10 log-spaced checkpoints per run (three inside
the first 1/18, the run going on to 18x that), each final model post-trained twice (SFT, RL).

Ground-truth cost plan: generation dominates, so intermediate checkpoints are graded greedily on
the first ``mid.greedy_docs`` held-out problems per task; final base models and post-trained
models are graded greedily on all 500 and sampled (4 samples, temperature 0.8) on the first
``final.sample_docs`` for per-example pass@1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lmforecast.errors import UserError
from lmforecast.testbed.groundtruth import EvalPlan
from lmforecast.testbed.posttrain import PostTrainConfig
from lmforecast.testbed.train import TrainConfig


@dataclass(frozen=True)
class RunSpec:
    """One pretraining run of the grid."""

    family: str
    size: str
    recipe: str

    @property
    def run_id(self) -> str:
        return f"{self.family}-{self.size}-{self.recipe}"


@dataclass(frozen=True)
class Preset:
    """Everything that decides a population (with the seed); hashed into its fingerprint."""

    name: str
    runs: tuple[RunSpec, ...]
    train: TrainConfig
    post: PostTrainConfig
    mid: EvalPlan  # ground truth of intermediate checkpoints
    final: EvalPlan  # ground truth of final base and post-trained models
    max_length: int = 256
    workers: int = 2
    tokenizer_problems: int = 1500

    def spec(self) -> dict[str, Any]:
        """JSON-able description (the fingerprint's input)."""
        return asdict(self)


def _grid(families: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> tuple[RunSpec, ...]:
    return tuple(
        RunSpec(family, size, recipe)
        for family, (sizes, recipes) in families.items()
        for recipe in recipes
        for size in sizes
    )


ALL_RECIPES = (
    "clean",
    "pure",
    "generic50",
    "generic80",
    "generic95",
    "noisy15",
    "noisy30",
    "noisy60",
    "answer-only",
    "alt-format",
    "mixed-format",
    "arith-heavy",
)

PRESETS: dict[str, Preset] = {
    "ci": Preset(
        name="ci",
        runs=_grid(
            {
                "llama": (("xxs", "xs"), ("clean", "generic80", "noisy30")),
                "qwen2": (("xxs",), ("clean",)),
            }
        ),
        train=TrainConfig(
            tokens=40_000, batch_size=8, lr=1e-2, n_checkpoints=4, first_checkpoint=1 / 8
        ),
        post=PostTrainConfig(
            sft_steps=8, sft_batch=8, rl_prompts=4, rl_samples=2, rl_epochs=1, rl_batch=8
        ),
        mid=EvalPlan(greedy_docs=12, generic_docs=16),
        final=EvalPlan(greedy_docs=24, sample_docs=8, n_samples=2, generic_docs=16),
    ),
    "full": Preset(
        name="full",
        runs=_grid(
            {
                "llama": (("xxs2", "xs", "s", "m"), ALL_RECIPES),
                "qwen2": (("s", "m"), ("clean", "generic80", "noisy30")),
                "neox": (("s", "m"), ("clean", "generic80", "noisy30")),
            }
        ),
        train=TrainConfig(
            tokens=1_000_000, batch_size=16, lr=1e-2, n_checkpoints=10, first_checkpoint=1 / 64
        ),
        post=PostTrainConfig(sft_steps=80, sft_batch=16, rl_prompts=32, rl_samples=4),
        mid=EvalPlan(greedy_docs=50, generic_docs=100),
        final=EvalPlan(greedy_docs=500, sample_docs=50, n_samples=4, generic_docs=200),
    ),
}


def get_preset(name: str) -> Preset:
    """A preset by name, with a one-line error for unknown names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown testbed preset {name!r}; known: {', '.join(PRESETS)}") from None
