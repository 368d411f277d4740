"""Build presets: which runs, how long, how much post-training and ground truth.

``ci`` is the smallest population that still has every kind of thing (2 families, 2 sizes, 3
recipes, 6 checkpoints per run, post-trained models, ground truth) *and* accuracies that differ
across recipes: it builds in about three minutes and is what the tests and the demo use.

``full`` is the real population: every corpus recipe at every size of the ``llama`` family
(12 x 4), plus the ``qwen2`` and ``neox`` families at two sizes on three recipes each: 60 runs
of 2.5M tokens, 10 log-spaced checkpoints per run from 1/128 of the run (four inside the first
1/18, the run going on to 18x that; an early checkpoint costs under 1/100 of a finished run, the
compute at which the corpus-ranking target is set), each final model post-trained twice (SFT,
RL).

Each preset also builds a *frontier* outside its population (:class:`FrontierSpec`): the model
whose reasoning traces rBridge weighs. It is recorded in the manifest with ``role = frontier``
and never counted as a member of the population.

Why 2.5M tokens in batches of 8 at lr 3e-3: measured here, ``llama-m`` on ``pure`` trained on 1M
tokens in 488 steps of 16 rows at lr 1e-2 stayed at chance (it learned the solution format but
never copied from the question); the same model on 3M tokens in batches of 8 at lr 3e-3 crossed
the copying transition near 1.5M tokens and ended at 1.00 / 0.87 / 0.39 (arith / list / trace).
Optimiser steps, not tokens, were the bottleneck; 2.5M tokens keeps the build within budget and
leaves the smaller sizes and generic-heavy recipes on the near side of the transition, which is
the spread the forecasts need.

Ground-truth cost plan: generation dominates, so intermediate checkpoints are graded greedily on
the first ``mid.greedy_docs`` held-out problems per task; final base models and post-trained
models are graded greedily on all 500 and sampled (4 samples, temperature 0.8) on the first
``final.sample_docs`` for per-example pass@1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from lmforecast.core.errors import UserError
from lmforecast.testbed.groundtruth import EvalPlan
from lmforecast.testbed.posttrain import PostTrainConfig
from lmforecast.testbed.train import TrainConfig


@dataclass(frozen=True)
class RunSpec:
    """One pretraining run of the grid."""

    family: str
    size: str
    recipe: str
    role: str = "population"  # or "frontier": built for rBridge's traces, outside the population

    @property
    def run_id(self) -> str:
        stem = f"{self.family}-{self.size}-{self.recipe}"
        return stem if self.role == "population" else f"{self.role}-{stem}"


@dataclass(frozen=True)
class FrontierSpec:
    """The model rBridge's reasoning traces come from: larger and longer-trained than anything
    in the population it forecasts, and post-trained (its SFT model writes the traces), so the
    proxies are weighed by a stronger model's confidence, as in the paper, and never by their
    own population's."""

    family: str
    size: str
    recipe: str
    tokens_factor: float  # its pretraining tokens, as a multiple of the population's

    @property
    def run(self) -> RunSpec:
        return RunSpec(self.family, self.size, self.recipe, role="frontier")


@dataclass(frozen=True)
class Preset:
    """Everything that decides a population (with the seed); hashed into its fingerprint."""

    name: str
    runs: tuple[RunSpec, ...]
    train: TrainConfig
    post: PostTrainConfig
    mid: EvalPlan  # ground truth of intermediate checkpoints
    final: EvalPlan  # ground truth of final base and post-trained models
    frontier: FrontierSpec | None = None
    max_length: int = 256
    workers: int = 2
    tokenizer_problems: int = 1500

    def spec(self) -> dict[str, Any]:
        """JSON-able description (the fingerprint's input)."""
        return asdict(self)

    def all_runs(self) -> tuple[RunSpec, ...]:
        """The population's runs, then the frontier's (if any)."""
        return self.runs + ((self.frontier.run,) if self.frontier else ())

    def train_config(self, run: RunSpec) -> TrainConfig:
        """The pretraining schedule of a run: the frontier trains ``tokens_factor`` longer."""
        if run.role == "frontier" and self.frontier is not None:
            tokens = round(self.train.tokens * self.frontier.tokens_factor)
            return replace(self.train, tokens=tokens)
        return self.train


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
                "llama": (("xs", "m"), ("pure", "noisy30", "generic80")),
                "qwen2": (("xxs",), ("clean",)),
            }
        ),
        # llama-m crosses the copying transition within 1.2M tokens (measured: 0.91 / 0.36 /
        # 0.39 on pure), so even the smallest population has accuracies that order recipes.
        train=TrainConfig(
            tokens=1_200_000, batch_size=8, lr=3e-3, n_checkpoints=6, first_checkpoint=1 / 32
        ),
        post=PostTrainConfig(
            sft_steps=8, sft_batch=8, rl_prompts=4, rl_samples=2, rl_epochs=1, rl_batch=8
        ),
        mid=EvalPlan(greedy_docs=24, generic_docs=16),
        final=EvalPlan(greedy_docs=48, sample_docs=8, n_samples=2, generic_docs=16),
        # The largest ci size, twice as long on a recipe no ci llama run uses: the cheapest
        # model that is stronger than every proxy (a larger size would double the ci build).
        frontier=FrontierSpec("llama", "m", "clean", tokens_factor=2.0),
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
            tokens=2_500_000, batch_size=8, lr=3e-3, n_checkpoints=10, first_checkpoint=1 / 128
        ),
        post=PostTrainConfig(sft_steps=80, sft_batch=16, rl_prompts=32, rl_samples=4),
        mid=EvalPlan(greedy_docs=50, generic_docs=100),
        final=EvalPlan(greedy_docs=500, sample_docs=50, n_samples=4, generic_docs=200),
        # A size above the population's largest, trained twice as long on the clean recipe.
        frontier=FrontierSpec("llama", "l", "clean", tokens_factor=2.0),
    ),
}


def get_preset(name: str) -> Preset:
    """A preset by name, with a one-line error for unknown names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown testbed preset {name!r}; known: {', '.join(PRESETS)}") from None
