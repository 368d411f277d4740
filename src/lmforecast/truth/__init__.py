"""Ground truth: what a model really scores on a task (the expensive thing forecasts predict).

- :func:`generate`: batched greedy or sampled generation with a KV cache and stop sequences.
- :func:`run_truth`: generate, grade, aggregate (accuracy, pass@k with intervals) and record the
  cost, stored per sample and resumable; :func:`mc_truth` grades multiple-choice tasks from the
  engine's per-request log-likelihoods.
- :func:`run_program` / :func:`run_programs`: the sandbox for model-written code.
- :func:`pass_at_k`, :func:`aggregate_pass_at_k`: the unbiased estimator and its task mean.
- :func:`import_file`: lm-eval, OLMES and CSV results as ground truth.

Graders, one module per family, are in :mod:`lmforecast.truth.graders`.
"""

from lmforecast.engine.generate import Generation, GenerationConfig, generate
from lmforecast.truth.graders import (
    GRADERS,
    ChoiceGrade,
    GradeResult,
    get_grader,
    grade_choice,
    register_grader,
)
from lmforecast.truth.importers import ImportResult, import_file
from lmforecast.truth.multiple_choice import MCTruthResult, mc_truth
from lmforecast.truth.passk import Estimate, aggregate_pass_at_k, pass_at_k, wilson_interval
from lmforecast.truth.run import TruthProgress, TruthResult, run_truth
from lmforecast.truth.sandbox import (
    ExecutionResult,
    Limits,
    run_program,
    run_programs,
    sandbox_mode,
)

__all__ = [
    "GRADERS",
    "ChoiceGrade",
    "Estimate",
    "ExecutionResult",
    "Generation",
    "GenerationConfig",
    "GradeResult",
    "ImportResult",
    "Limits",
    "MCTruthResult",
    "TruthProgress",
    "TruthResult",
    "aggregate_pass_at_k",
    "generate",
    "get_grader",
    "grade_choice",
    "import_file",
    "mc_truth",
    "pass_at_k",
    "register_grader",
    "run_program",
    "run_programs",
    "run_truth",
    "sandbox_mode",
    "wilson_interval",
]
