"""RuDE (METHODS.md section 3): do base models that discriminate rubric-compliant responses
from controlled degradations become the better models after post-training?

``pairs_set`` makes the testbed's pairs from the shipped rubrics, ``scoring`` scores them under
every final base model, ``validation`` compares RuDE with the baselines against post-trained
accuracy, ``run`` composes them and ``result`` is what they produce (with JSON round trip).
"""

from lmforecast.experiments.rude.config import RudeConfig
from lmforecast.experiments.rude.result import RudeResult
from lmforecast.experiments.rude.run import run_rude

__all__ = ["RudeConfig", "RudeResult", "run_rude"]

from lmforecast.experiments import EXPERIMENTS, Experiment

EXPERIMENTS.register("rude")(
    Experiment(
        "rude",
        RudeConfig,
        run_rude,
        RudeResult,
        "RuDE: rubric-based discrimination by base models, against post-trained accuracy",
    )
)
