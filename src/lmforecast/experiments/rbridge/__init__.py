"""rBridge (Koh et al.; METHODS.md section 2): frontier reasoning traces weighted by the
frontier's confidence, bridged from the smallest size to the largest.

``scoring`` makes the traces and scores every checkpoint on them, ``bridging`` fits the bridge,
``ranking`` ranks corpora on Patel's setting (b) axes, ``selection`` adds rBridge to setting (a),
``run`` composes them and ``result`` is what they produce (with JSON round trip).
"""

from lmforecast.experiments.rbridge.config import RBridgeConfig
from lmforecast.experiments.rbridge.result import RBridgeResult
from lmforecast.experiments.rbridge.run import run_rbridge

__all__ = ["RBridgeConfig", "RBridgeResult", "run_rbridge"]

from lmforecast.experiments import EXPERIMENTS, Experiment

EXPERIMENTS.register("rbridge")(
    Experiment(
        "rbridge",
        RBridgeConfig,
        run_rbridge,
        RBridgeResult,
        "rBridge: frontier-confidence-weighted NLL of reasoning traces, bridged to large models",
    )
)
