"""What the probes experiment produced, as tables and as JSON (the input of reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from lmforecast.experiments.results import TableResult

EXPERIMENT = "probes"


@dataclass
class ProbesResult(TableResult):
    """Probe and baseline metrics per model, the transfer AUROCs and the latency."""

    EXPERIMENT: ClassVar[str] = EXPERIMENT

    evaluation: pd.DataFrame  # per (model, probe or baseline): AUROC, Brier, ECE, accuracy
    transfer: pd.DataFrame  # train checkpoint -> test checkpoint: AUROC
    latency: pd.DataFrame  # probe path vs generative evaluation: seconds, FLOPs
    # reliability diagram per final checkpoint and probe: bin, mean prediction, mean pass@1
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
