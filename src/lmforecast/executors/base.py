"""The executor interface, its local implementations and the factory for all of them.

An executor runs ``fn(*args)`` for each job and yields ``(job index, result)`` as jobs finish
(:meth:`Executor.imap_unordered`), or the results in job order (:meth:`Executor.map`). It is a
context manager so one pool can serve several batches (the testbed builds corpora, then runs,
with the same workers). Process workers are *spawned*, not forked: a fresh interpreter sees the
environment as it is now and no torch thread pool is copied half-initialised; ``fn`` and its
arguments must therefore be picklable (top-level functions).

>>> with make_executor(2, kind="thread") as ex:
...     ex.map(pow, [(2, 3), (3, 2)])
[8, 9]
>>> with make_executor(1) as ex:
...     sorted(ex.imap_unordered(abs, [(-1,), (2,)]))
[(0, 1), (1, 2)]
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import get_context
from types import TracebackType
from typing import Any, Literal, TypeVar

from lmforecast.executors.spec import ExecutorSpec, parse_executor_spec

R = TypeVar("R")
Job = tuple[Any, ...]


class Executor(ABC):
    """Runs jobs; a context manager that owns its workers (if any)."""

    @abstractmethod
    def imap_unordered(self, fn: Callable[..., R], jobs: Sequence[Job]) -> Iterator[tuple[int, R]]:
        """``(index, fn(*jobs[index]))`` in completion order; a job's exception propagates."""

    def map(self, fn: Callable[..., R], jobs: Sequence[Job]) -> list[R]:
        """``fn(*job)`` for every job, in job order."""
        results: dict[int, R] = dict(self.imap_unordered(fn, jobs))
        return [results[i] for i in range(len(jobs))]

    def close(self) -> None:  # noqa: B027 - a no-op by default; pools override
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Jobs one after another in this process (debuggable; no pickling)."""

    def imap_unordered(self, fn: Callable[..., R], jobs: Sequence[Job]) -> Iterator[tuple[int, R]]:
        for i, job in enumerate(jobs):
            yield i, fn(*job)


class _PoolExecutor(Executor):
    def __init__(self, pool: cf.Executor) -> None:
        self._pool = pool

    def imap_unordered(self, fn: Callable[..., R], jobs: Sequence[Job]) -> Iterator[tuple[int, R]]:
        futures = {self._pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        try:
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ThreadPoolExecutor(_PoolExecutor):
    """Threads: for jobs that wait (sandboxed programs, I/O) rather than compute in Python."""

    def __init__(self, workers: int) -> None:
        super().__init__(cf.ThreadPoolExecutor(max_workers=max(1, workers)))


class ProcessPoolExecutor(_PoolExecutor):
    """Spawned worker processes, each set up once by ``initializer(*initargs)``."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(
            cf.ProcessPoolExecutor(
                max(1, workers),
                mp_context=get_context("spawn"),
                initializer=initializer,
                initargs=initargs,
            )
        )


def make_executor(
    workers: int,
    kind: Literal["process", "thread"] = "process",
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    spec: str | ExecutorSpec | None = None,
    shared_dirs: Sequence[str | os.PathLike[str]] = (),
    retry_exceptions: tuple[type[BaseException], ...] = (),
) -> Executor:
    """Where the jobs run: ``spec`` (``--executor``, see :mod:`lmforecast.executors.spec`).

    ``local`` (the default): in process for one worker, else a pool of ``kind`` with
    ``workers`` workers. ``ray[=ADDRESS]``: one Ray task per job (``workers`` is then Ray's
    business); ``shared_dirs`` are checked to be the driver's on every node before a job runs,
    and a job raising one of ``retry_exceptions`` is run again (up to the spec's retries).
    """
    parsed = parse_executor_spec(spec)
    if parsed.kind == "ray":
        from lmforecast.executors.ray import RayExecutor

        return RayExecutor.from_spec(
            parsed,
            initializer=initializer,
            initargs=initargs,
            shared_dirs=shared_dirs,
            retry_exceptions=retry_exceptions,
        )
    if workers <= 1:
        return InProcessExecutor()
    if kind == "thread":
        return ThreadPoolExecutor(workers)
    return ProcessPoolExecutor(workers, initializer, initargs)
