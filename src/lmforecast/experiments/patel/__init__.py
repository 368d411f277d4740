"""Patel et al.'s token-level proxies in three settings (METHODS.md section 1).

``population`` knows the testbed's manifest, ``scoring`` computes every token-level signal per
(model, task), ``selection`` / ``data_selection`` / ``extrapolation`` / ``regression`` are the
settings, ``run`` composes them and ``result`` is what they produce (with JSON round trip).
"""

from lmforecast.experiments.patel.config import NAMED_PROXIES, PatelConfig
from lmforecast.experiments.patel.data_selection import data_selection
from lmforecast.experiments.patel.result import PatelResult
from lmforecast.experiments.patel.run import run_patel

__all__ = ["NAMED_PROXIES", "PatelConfig", "PatelResult", "data_selection", "run_patel"]

from lmforecast.experiments import EXPERIMENTS, Experiment

EXPERIMENTS.register("patel")(
    Experiment(
        "patel",
        PatelConfig,
        run_patel,
        PatelResult,
        "Patel et al.: token-level proxies on expert solutions in three settings",
    )
)
