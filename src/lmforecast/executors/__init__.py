"""Where units of work run: in this process, in a pool of threads or of processes.

One interface (:class:`Executor`) for the testbed build, truth and experiments, so running a
sweep somewhere else (a Ray cluster) is one more implementation, not a change to its callers.
"""

from lmforecast.executors.base import (
    Executor,
    InProcessExecutor,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    make_executor,
)

__all__ = [
    "Executor",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "ThreadPoolExecutor",
    "make_executor",
]
