"""In-training probes (METHODS.md section 4): evaluating probes on a checkpoint's prompt states.

``evaluate`` fits a probe (:mod:`lmforecast.signals.probes`) with splits by problem and scores
it with :mod:`lmforecast.forecast.classification`; it lives here, above both layers.
"""

from lmforecast.experiments.probes.config import ProbesConfig
from lmforecast.experiments.probes.result import ProbesResult
from lmforecast.experiments.probes.run import run_probes

__all__ = ["ProbesConfig", "ProbesResult", "run_probes"]

from lmforecast.experiments import EXPERIMENTS, Experiment

EXPERIMENTS.register("probes")(
    Experiment(
        "probes",
        ProbesConfig,
        run_probes,
        ProbesResult,
        "in-training probes: hidden states of prompts predict per-example pass@1",
    )
)
