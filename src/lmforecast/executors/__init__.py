"""Where units of work run: in this process, in a pool of threads or of processes, or on Ray.

One interface (:class:`Executor`) for scoring, truth, the testbed build and experiments, so
running a sweep somewhere else (a Ray cluster: :class:`lmforecast.executors.ray.RayExecutor`,
imported only when used) is an ``--executor`` value, not a change to its callers.
"""

from lmforecast.executors.base import (
    Executor,
    InProcessExecutor,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    make_executor,
)
from lmforecast.executors.spec import ExecutorSpec, UnitResources, parse_executor_spec
from lmforecast.executors.worker import Elsewhere, ModelRef, worker_model

__all__ = [
    "Elsewhere",
    "Executor",
    "ExecutorSpec",
    "InProcessExecutor",
    "ModelRef",
    "ProcessPoolExecutor",
    "ThreadPoolExecutor",
    "UnitResources",
    "make_executor",
    "parse_executor_spec",
    "worker_model",
]
