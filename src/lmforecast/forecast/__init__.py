"""Forecasting math over tables: agreement with truth, signal -> accuracy maps (among them
rBridge's bridge), trajectory extrapolation, model-selection scorers and cost accounting. Never
loads a model, never prints.
"""

from lmforecast.forecast.agreement import (
    Agreement,
    RankAgreement,
    Resample,
    agreement,
    decision_accuracy,
    kendall,
    rank_agreement,
    spearman,
)
from lmforecast.forecast.bridge import (
    BridgeEvaluation,
    BridgeFit,
    BridgeForecast,
    evaluate_bridge,
    fit_bridge,
    pair_at_equal_tokens,
)
from lmforecast.forecast.cost import CostRecord, cost_ratio, forward_flops, pareto_front
from lmforecast.forecast.errors import InsufficientData, UnknownNameError
from lmforecast.forecast.extrapolation import (
    EXTRAPOLATORS,
    ExtrapolationResult,
    PowerLawFit,
    RunForecast,
    TrainingRun,
    compute_power_law,
    evaluate_extrapolation,
    fit_power_law,
    proxy_extrapolation,
    two_step_ladder,
)
from lmforecast.forecast.regression import (
    REGRESSORS,
    RegressionEvaluation,
    evaluate_regression,
    fit_isotonic,
    fit_linear,
    fit_regression,
    fit_sigmoid,
)
from lmforecast.forecast.selection import (
    SCORERS,
    SelectionResult,
    leave_two_tasks_out,
    single_feature_scorer,
    zscore_within_task,
)

__all__ = [
    "EXTRAPOLATORS",
    "REGRESSORS",
    "SCORERS",
    "Agreement",
    "BridgeEvaluation",
    "BridgeFit",
    "BridgeForecast",
    "CostRecord",
    "ExtrapolationResult",
    "InsufficientData",
    "PowerLawFit",
    "RankAgreement",
    "RegressionEvaluation",
    "Resample",
    "RunForecast",
    "SelectionResult",
    "TrainingRun",
    "UnknownNameError",
    "agreement",
    "compute_power_law",
    "cost_ratio",
    "decision_accuracy",
    "evaluate_bridge",
    "evaluate_extrapolation",
    "evaluate_regression",
    "fit_bridge",
    "fit_isotonic",
    "fit_linear",
    "fit_power_law",
    "fit_regression",
    "fit_sigmoid",
    "forward_flops",
    "kendall",
    "leave_two_tasks_out",
    "pair_at_equal_tokens",
    "pareto_front",
    "proxy_extrapolation",
    "rank_agreement",
    "single_feature_scorer",
    "spearman",
    "two_step_ladder",
    "zscore_within_task",
]
