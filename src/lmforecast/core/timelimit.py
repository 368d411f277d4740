"""Run a call under a wall-clock limit, and stop it (not abandon it) when the limit passes.

For computations that can run away (sympy's ``simplify`` on an unlucky input). A thread
cannot be stopped from outside, so a timed-out thread would keep spinning; two mechanisms
that do stop the work are used instead:

- **main thread**, with no interval timer already running: ``SIGALRM`` (``setitimer``) raises
  an exception inside the call, as lm-eval's Minerva-math scorer does. Nothing is started.
  The exception derives from BaseException so that ``except Exception`` in the callee does
  not swallow it. A signal is only handled between bytecodes, so a single long C operation
  (a huge integer power) finishes first: callers bound such sizes before calling.
- **any other thread** (graders run in a thread pool): the call is pickled to a worker
  process (``python -m lmforecast.core.timelimit``, started once and reused; one per thread
  that needs one at the same time) and, past the limit, the worker is killed. Workers are
  plain subprocesses, not multiprocessing children, so a user's unguarded ``__main__`` is
  never re-imported; they exit when their pipe closes (this process exits). The callable
  and its arguments must pickle, and its module should import quickly (sympy functions do:
  a worker that imports torch would take seconds to start).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import IO, Any

_HEADER = struct.Struct(">Q")
WORKER_MEMORY_BYTES = 4 << 30


class TimeLimitExceeded(Exception):
    """The call ran past its limit and was stopped."""


class _Alarm(BaseException):
    """Raised by SIGALRM inside the call; BaseException so sympy's handlers let it through."""


def call_with_time_limit(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    seconds: float,
) -> Any:
    """``fn(*args, **kwargs)``, or :class:`TimeLimitExceeded` after ``seconds``.

    Exceptions raised by ``fn`` reach the caller (from a worker, as unpickled copies).
    """
    if seconds <= 0:
        raise TimeLimitExceeded("no time left")
    if _alarm_available():
        return _call_with_alarm(fn, args, dict(kwargs or {}), seconds)
    return _call_in_worker(fn, args, dict(kwargs or {}), seconds)


def _alarm_available() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


def _call_with_alarm(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
) -> Any:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise _Alarm

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:  # also when it fired just as fn returned: conservative, and rare
        raise TimeLimitExceeded(f"stopped after {seconds:g} s") from None
    finally:
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------------------------
# Worker processes


class _Worker:
    """One worker subprocess and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the directory holding lmforecast/
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lmforecast.core.timelimit"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,  # unbuffered: select() on the pipe then sees every unread byte
        )

    def call(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
    ) -> tuple[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        _write(stdin, pickle.dumps((fn, args, kwargs)))
        ready, _, _ = select.select([stdout], [], [], seconds)
        if not ready:
            raise TimeLimitExceeded(f"stopped after {seconds:g} s")
        reply = _read(stdout)
        if reply is None:
            raise RuntimeError("the time-limit worker process died")
        status, value = pickle.loads(reply)
        return status, value

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


_idle: list[_Worker] = []  # started and waiting for a call
_started: list[_Worker] = []  # all live workers, idle or busy, for the exit handler
_lock = threading.Lock()


def _call_in_worker(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
) -> Any:
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
        with _lock:
            _started.append(worker)
    try:
        status, value = worker.call(fn, args, kwargs, seconds)
    except BaseException:
        worker.kill()  # stuck, dead or interrupted mid-message: never reuse it
        with _lock:
            if worker in _started:
                _started.remove(worker)
        raise
    with _lock:
        _idle.append(worker)
    if status == "error":
        raise value
    return value


@atexit.register
def _close_workers() -> None:
    with _lock:
        workers = list(_started)
        _started.clear()
        _idle.clear()
    for worker in workers:
        worker.kill()


def _write(stream: IO[bytes], payload: bytes) -> None:
    """One message; unbuffered pipes may take it in parts."""
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        written = stream.write(data)
        data = data[written or 0 :]
    stream.flush()


def _read(stream: IO[bytes]) -> bytes | None:
    """One message, or None at end of stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    return _read_exactly(stream, size)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _serve() -> None:
    """The worker: read a pickled call, run it, write back ("ok", result) or ("error", exc).

    The protocol keeps a private copy of stdout; fd 1 then points at stderr, so anything the
    callee prints cannot corrupt a reply. Address space is capped at WORKER_MEMORY_BYTES
    (the call then fails with MemoryError, sent back like any exception).
    """
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    with contextlib.suppress(ValueError, OSError):  # a runaway also stops at a memory cap
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    requests = sys.stdin.buffer
    while (request := _read(requests)) is not None:
        try:
            fn, args, kwargs = pickle.loads(request)
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except Exception as e:
            reply = ("error", e)
        try:
            payload = pickle.dumps(reply)
        except Exception as e:  # an unpicklable result or exception
            payload = pickle.dumps(("error", RuntimeError(f"{type(e).__name__}: {e}")))
        _write(replies, payload)


if __name__ == "__main__":
    _serve()
