"""Jobs as Ray tasks: a sweep on a cluster of machines, behind the same :class:`Executor`.

Each job is one Ray task holding declared :class:`UnitResources`. Ray runs a task again when
its worker or node dies (``max_retries``) and when it raises one of ``retry_exceptions``;
results are yielded as tasks finish (``ray.wait``). An ``initializer`` runs once per Ray worker
process, before its first job (Ray keeps worker processes between tasks). Arguments shared by
many jobs (a task's requests) go to the object store once, not once per job.

A unit that no node of the cluster can ever hold (a GPU on a CPU-only cluster) would wait
forever in Ray's queue: after ``unschedulable_timeout_s`` without any node that fits it, the
sweep cancels its remaining tasks and raises :class:`UnschedulableError` (one line).

``ray`` is imported on first use, so lmforecast imports without it; a missing ``ray`` is a
one-line :class:`UserError` saying what to install. Workers import lmforecast from their own
Python environment: on a cluster it must be installed on every node, and whatever the jobs read
or write (the store, model directories) must be on a filesystem every node sees.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lmforecast.core.errors import UserError
from lmforecast.executors.base import Executor, Job
from lmforecast.executors.shared import check_shared, mark_shared
from lmforecast.executors.spec import ExecutorSpec, UnitResources

R = TypeVar("R")

INSTALL = "pip install 'lmforecast[ray]'"
_SCALARS = (str, bytes, int, float, bool, type(None))


class UnschedulableError(UserError):
    """No node of the cluster has the resources a unit declares."""


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"--executor ray needs the Ray extra: {INSTALL}") from None
    return ray


@dataclass(frozen=True)
class _Setup:
    """What a worker process does before a job: the initializer (once per process) and a
    check that each shared directory is the driver's (once per process and directory)."""

    initializer: Callable[..., None] | None
    initargs: tuple[Any, ...]
    shared: tuple[tuple[str, str], ...]  # (directory, token)


_DONE: set[str] = set()  # what this worker process has already set up


def _run_job(setup: _Setup, fn: Callable[..., R], *args: Any) -> R:
    """The body of every Ray task (top-level: Ray pickles it by reference)."""
    if setup.initializer is not None:
        key = f"init:{setup.initializer.__module__}.{setup.initializer.__qualname__}"
        key += repr(setup.initargs)
        if key not in _DONE:
            setup.initializer(*setup.initargs)
            _DONE.add(key)
    for directory, token in setup.shared:
        if f"shared:{directory}:{token}" not in _DONE:
            check_shared(directory, token)
            _DONE.add(f"shared:{directory}:{token}")
    return fn(*args)


def _connect(ray: Any, address: str | None, local_cpus: int | None) -> bool:
    """Join ``address`` (or RAY_ADDRESS), else start a local instance; True if we started it.

    A process keeps one connection: a second executor reuses it (starting Ray takes seconds).
    """
    if ray.is_initialized():
        connected = ray.get_runtime_context().gcs_address
        named = address not in (None, "auto") and not str(address).startswith("ray://")
        if named and address != connected:
            raise UserError(
                f"--executor ray={address}: this process is already connected to the Ray "
                f"cluster at {connected} (one per process)"
            )
        return False
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        options.update(include_dashboard=False, num_cpus=local_cpus)
    try:
        ray.init(address=address, **options)
    except ConnectionError as e:
        raise UserError(f"--executor ray={address}: cannot connect to Ray ({e})") from None
    return address is None


class RayExecutor(Executor):
    """Jobs as Ray tasks on the cluster at ``address`` (None: a local Ray instance)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        resources: UnitResources | None = None,
        max_retries: int = 3,
        retry_exceptions: tuple[type[BaseException], ...] = (),
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        unschedulable_timeout_s: float = 60.0,
        shared_dirs: Sequence[str | os.PathLike[str]] = (),
        local_cpus: int | None = None,
    ) -> None:
        self.ray = import_ray()
        self.address = address
        self.resources = resources or UnitResources()
        self.max_retries = max_retries
        self.retry_exceptions = retry_exceptions
        self.unschedulable_timeout_s = unschedulable_timeout_s
        shared = tuple((str(d), mark_shared(d)) for d in shared_dirs)
        self._setup = _Setup(initializer, initargs, shared)
        self.started_local = _connect(self.ray, address, local_cpus)

    @classmethod
    def from_spec(cls, spec: ExecutorSpec, **kwargs: Any) -> RayExecutor:
        return cls(
            spec.address,
            resources=spec.resources,
            max_retries=spec.max_retries,
            unschedulable_timeout_s=spec.timeout_s,
            **kwargs,
        )

    def _remote(self, fn: Callable[..., Any]) -> Any:
        options: dict[str, Any] = {
            **self.resources.ray_options(),
            "max_retries": self.max_retries,
            "name": getattr(fn, "__qualname__", "job"),
        }
        if self.retry_exceptions:
            options["retry_exceptions"] = list(self.retry_exceptions)
        return self.ray.remote(_run_job).options(**options)

    def _share(self, jobs: Sequence[Job]) -> list[list[Any]]:
        """Each job's arguments, every non-scalar one put into the object store once."""
        refs: dict[int, Any] = {}
        out = []
        for job in jobs:
            args = []
            for arg in job:
                if isinstance(arg, _SCALARS):
                    args.append(arg)
                else:
                    if id(arg) not in refs:
                        refs[id(arg)] = self.ray.put(arg)
                    args.append(refs[id(arg)])
            out.append(args)
        return out

    def imap_unordered(self, fn: Callable[..., R], jobs: Sequence[Job]) -> Iterator[tuple[int, R]]:
        remote = self._remote(fn)
        index = {
            remote.remote(self._setup, fn, *args): i for i, args in enumerate(self._share(jobs))
        }
        pending = list(index)
        waiting_since: float | None = None
        poll = max(0.05, min(1.0, self.unschedulable_timeout_s / 10))
        try:
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1, timeout=poll)
                if done:
                    waiting_since = None
                    yield index[done[0]], self._get(done[0])
                    continue
                problem = self._unschedulable()
                if problem is None:
                    waiting_since = None
                    continue
                waiting_since = waiting_since or time.monotonic()
                waited = time.monotonic() - waiting_since
                if waited >= self.unschedulable_timeout_s:
                    raise UnschedulableError(
                        f"{problem}; waited {waited:.0f} s, {len(pending)} unit(s) cancelled "
                        "(ask for less per unit in --executor, e.g. gpus=0, or add such a node)"
                    )
        finally:
            for ref in pending:
                self.ray.cancel(ref)

    def _unschedulable(self) -> str | None:
        """Why no node of the cluster can ever run a unit, or None when one can."""
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        if any(self.resources.fits(n.get("Resources", {})) for n in nodes):
            return None
        have = sorted({_node_words(n.get("Resources", {})) for n in nodes})
        return (
            f"no node of the Ray cluster has {self.resources.describe()} for one unit "
            f"({len(nodes)} node(s): {'; '.join(have) or 'none alive'})"
        )

    def _get(self, ref: Any) -> Any:
        """A task's value; its own exception re-raised as itself (a UserError stays one line)."""
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, BaseException):
                if not isinstance(cause, UserError):  # a bug: keep where it happened
                    cause.add_note(f"raised in a Ray task; its traceback there:\n{e}")
                raise cause from None
            raise
        except exceptions.RayError as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RuntimeError(
                f"a Ray unit failed after {self.max_retries} retries: {type(e).__name__}: {first}"
            ) from None


def _node_words(resources: dict[str, float]) -> str:
    parts = [f"{resources.get('CPU', 0):g} CPU"]
    if resources.get("GPU"):
        parts.append(f"{resources['GPU']:g} GPU")
    parts.append(f"{resources.get('memory', 0) / 2**30:.1f} GiB")
    return ", ".join(parts)


def node_name() -> str:
    """This machine's host name (what messages about a node show)."""
    return socket.gethostname()
