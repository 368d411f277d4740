"""Run untrusted Python (model-written code and its tests) in a contained child process.

**Passed means positive evidence** that the program and every test ran to their end: the
harness of :mod:`~lmforecast.truth.sandbox_harness` prints a proof with a per-run secret only
then; exit status 0 without it (``os._exit(0)``, ``sys.exit()``, a guessed marker) is
``incomplete``. **A run dies with its parent** (``SIGKILL`` and ``SIGTERM`` too), and its
directory goes at once or at the next start (:mod:`~lmforecast.truth.sandbox_lifetime`).

What else is guaranteed depends on the machine; :func:`sandbox_mode` says which applies.

``namespaces`` (root with util-linux ``unshare``, ``setpriv``, ``prlimit``, ``mount`` and
coreutils ``timeout``):

- **Processes**: a fresh PID namespace; when it ends the kernel kills every process the program
  started, wherever they went (``setsid`` does not escape). Its PID 1 is ``timeout`` (root: the
  program cannot kill it), a wall-clock limit that holds even if the parent is frozen or died
  before the death signal was armed. Each run gets its own unprivileged uid
  (no capabilities, ``no_new_privs``, empty bounding set) with ``RLIMIT_NPROC`` = 64, so a fork
  bomb stops at 64 processes; after the run, anything left with that uid is SIGKILLed.
- **Network**: a fresh network namespace with no interfaces up: no connection leaves the box
  (not even to localhost services of the host; abstract unix sockets are per-namespace too).
- **Files**: the uid owns nothing outside its working directory, so it cannot write any file of
  the user's (it can still *read* world-readable files, e.g. installed packages). A fresh mount
  namespace puts private tmpfs over ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock`` and the
  working directory (also ``HOME``), each capped at ``Limits.tmpfs_mb`` (at most five times that
  in all, held in memory and freed when the namespace ends), and a private ``/proc``.
- **Environment**: only ``PATH``, ``HOME``, ``LANG`` and ``PYTHON*`` hygiene variables are passed;
  ``python -I`` ignores user site-packages and ``PYTHON*`` variables. No secrets are inherited.
- **Resources**: ``RLIMIT_AS`` (memory), ``RLIMIT_CPU``, ``RLIMIT_FSIZE`` (largest file; stdout
  and stderr go to files, so endless output is also stopped there), no core dumps, and a
  wall-clock timeout that SIGKILLs the process group and the namespace.
- **Output**: only the last ``output_bytes`` of stdout and stderr are read back.
- **Interpreter**: ``python -I`` of this environment when the sandbox uid can reach it, else the
  system ``python3`` (a virtualenv under ``/root`` is unreachable): standard library only.

``basic`` (not root, or the tools are missing): a new session with the same rlimits except
``RLIMIT_NPROC`` (which counts *all* the user's processes) set to the user's current count + 64,
a temporary working directory and ``HOME``, a scrubbed environment, ``python -I``, a
process-group kill on timeout, and the death signal on the program itself (processes it forks
do not die with the parent). Only ``RLIMIT_FSIZE`` bounds files: each file, not the total, and
nothing is a tmpfs. There is **no network or filesystem isolation** in this mode: the program
can write the user's files and open sockets. Run untrusted code in ``basic`` mode only inside
a container or VM.

Neither mode is a security boundary against kernel exploits; it is containment for buggy or
mischievous benchmark code, as in the HumanEval harness.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from lmforecast.truth.sandbox_harness import HARNESS, new_secret, stdin_payload, take_proof
from lmforecast.truth.sandbox_lifetime import (
    die_with_parent,
    fresh_uid,
    kill_uid,
    pids_of_uid,
    runs_dir,
)

Status = Literal["passed", "failed", "timeout", "error", "memory", "incomplete"]
Mode = Literal["namespaces", "basic"]

_MAX_WORKERS = 16
_GRACE_S = 5.0  # the in-namespace timeout fires this long after the parent's own


@dataclass(frozen=True)
class Limits:
    """Resource limits for one program run."""

    timeout_s: float = 10.0
    memory_mb: int = 1024
    nproc: int = 64
    file_size_mb: int = 16
    tmpfs_mb: int = 64  # each private tmpfs: /tmp, /var/tmp, /dev/shm, /run/lock, the cwd
    output_bytes: int = 64 * 1024


@dataclass(frozen=True)
class ExecutionResult:
    """How one program run ended. ``passed``: the program and its tests ran to their end (the
    harness's proof is in stdout, and taken out of ``stdout_tail``) and it exited with 0."""

    passed: bool
    status: Status
    stdout_tail: str
    stderr_tail: str
    seconds: float
    returncode: int | None = None


# ---------------------------------------------------------------------------------------------
# Capability probing


def _tools_present() -> bool:
    return all(shutil.which(t) for t in ("unshare", "setpriv", "prlimit", "mount", "timeout"))


@lru_cache(maxsize=1)
def sandbox_mode() -> Mode:
    """``namespaces`` when running as root with working namespaces, else ``basic``."""
    if os.name != "posix" or os.geteuid() != 0 or not _tools_present():
        return "basic"
    probe = subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "true"],
        capture_output=True,
        timeout=30,
    )
    return "namespaces" if probe.returncode == 0 else "basic"


# ---------------------------------------------------------------------------------------------
# Running

# Runs as root inside the new namespaces, before dropping to the sandbox uid ($3): private /proc
# and tmpfs over every world-writable directory; the working directory is a tmpfs of its own
# (size-capped like the others, owned by the uid), the program's files copied in from $1.
_BOOT = r"""set -e
mount -t proc proc /proc
for d in /dev/shm /run/lock /var/tmp; do
  if [ -d "$d" ]; then mount -t tmpfs -o "mode=1777,size=$2,nosuid,nodev" sandbox "$d"; fi
done
mkdir /var/tmp/.work
mount -t tmpfs -o "mode=0700,uid=$3,gid=$3,size=$2,nosuid,nodev" sandbox /var/tmp/.work
cp -R "$1"/. /var/tmp/.work/ && chown -R "$3:$3" /var/tmp/.work
mount -t tmpfs -o "mode=1777,size=$2,nosuid,nodev" sandbox /tmp
mkdir /tmp/sandbox && mount --move /var/tmp/.work /tmp/sandbox
cd /tmp/sandbox
shift 3
exec "$@"
"""

_SANDBOX_DIR = "/tmp/sandbox"


def _world_executable(path: str) -> bool:
    """Whether an unprivileged stranger can run ``path`` (every directory searchable)."""
    p = Path(path)
    try:
        if not (p.is_file() and p.stat().st_mode & 0o001):
            return False
        return all(parent.stat().st_mode & 0o001 for parent in p.parents)
    except OSError:
        return False


@lru_cache(maxsize=1)
def sandbox_python() -> str:
    """The interpreter the sandbox runs: ours if the sandbox uid can reach it, else the system's.

    A virtual environment under a private home (``/root``) is invisible to the sandbox uid, so
    there the program runs on the system ``python3`` (standard library only: fine for
    HumanEval/MBPP, and fewer packages within reach of untrusted code).
    """
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    if os.geteuid() != 0:
        return sys.executable
    for candidate in candidates:
        if _world_executable(os.path.realpath(candidate)):
            return os.path.realpath(candidate)
    raise RuntimeError("no Python interpreter the sandbox uid can execute was found")


def _env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
    }


def _read_tail(path: Path, limit: int) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - limit))
        data = f.read(limit)
    return data.decode("utf-8", errors="replace")


def _user_process_count() -> int:
    uid = os.getuid()
    return len(pids_of_uid(uid)) if os.path.isdir("/proc") else 0


def _basic_limits(limits: Limits) -> Callable[[], None]:
    """``preexec_fn`` for basic mode: die with the parent, then rlimits (no Python-level locks
    or imports in the child: a foreign call and setrlimit)."""
    nproc = _user_process_count() + limits.nproc
    cpu = int(limits.timeout_s) + 2
    mem = limits.memory_mb << 20
    fsize = limits.file_size_mb << 20
    arm = die_with_parent()

    def apply() -> None:
        arm()
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def _classify(returncode: int, stderr: str, timed_out: bool, completed: bool) -> Status:
    if timed_out or returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return "timeout"
    if returncode == 0:
        return "passed" if completed else "incomplete"
    if re.search(r"^MemoryError\b", stderr, re.MULTILINE) or "Cannot allocate memory" in stderr:
        return "memory"
    if re.search(r"^AssertionError\b", stderr, re.MULTILINE):
        return "failed"
    return "error"


def run_program(
    program: str,
    limits: Limits | None = None,
    *,
    tests: str | None = None,
    mode: Mode | None = None,
    python: str | None = None,
) -> ExecutionResult:
    """Run ``program`` (Python source), then ``tests`` in its namespace, and report how it ended.

    ``passed`` needs the harness's proof that both ran to their end and exit status 0;
    ``incomplete`` is exit status 0 without it (the program exited early); ``failed`` is a
    failed ``assert`` (a wrong answer); ``error`` any other non-zero exit (exception, syntax
    error, crash, signal, file too large); ``memory`` a ``MemoryError``; ``timeout`` the
    wall-clock or CPU limit.
    """
    limits = limits or Limits()
    mode = mode or sandbox_mode()
    python = python or (sandbox_python() if mode == "namespaces" else sys.executable)
    start = time.perf_counter()
    secret = new_secret()
    outer = Path(tempfile.mkdtemp(dir=runs_dir()))  # 0700, this user's only
    try:
        work = outer / "work"
        work.mkdir()
        (work / "main.py").write_text(program, encoding="utf-8")
        uid = fresh_uid() if mode == "namespaces" else None
        preexec: Callable[[], None] | None = None
        if uid is not None:
            cmd, cwd = _namespaced_command(python, work, uid, limits), outer
        else:
            cmd, cwd, preexec = [python, "-I", "-c", HARNESS], work, _basic_limits(limits)
        env = _env(_SANDBOX_DIR if uid is not None else str(work))
        with open(outer / "stdout", "wb") as out, open(outer / "stderr", "wb") as err:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=preexec,
            )
            returncode, timed_out = _wait(proc, stdin_payload(secret, tests), uid, limits)
        completed, stdout = take_proof(_read_tail(outer / "stdout", limits.output_bytes), secret)
        stderr = _read_tail(outer / "stderr", limits.output_bytes)
    finally:
        shutil.rmtree(outer, ignore_errors=True)
    status = _classify(returncode, stderr, timed_out, completed)
    return ExecutionResult(
        passed=status == "passed",
        status=status,
        stdout_tail=stdout,
        stderr_tail=stderr,
        seconds=time.perf_counter() - start,
        returncode=returncode,
    )


def _wait(
    proc: subprocess.Popen[bytes], payload: bytes, uid: int | None, limits: Limits
) -> tuple[int, bool]:
    """Hand the harness its secret and tests, then wait; kill on timeout and on every way out
    (an exception here, e.g. KeyboardInterrupt, must not leave the run behind)."""
    timed_out = False
    try:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the run may end before reading it all
            proc.stdin.write(payload)
            proc.stdin.close()
        try:
            returncode = proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            returncode = _stop(proc, uid)
    finally:
        if proc.poll() is None:
            _stop(proc, uid)
        if uid is not None:
            kill_uid(uid, sandbox_python())  # anything that outlived its namespace's PID 1
    return returncode, timed_out


def _namespaced_command(python: str, work: Path, uid: int, limits: Limits) -> list[str]:
    """setpriv (die with the parent) -> unshare (net, pid, mount; its child dies with it) ->
    boot script (as root) -> timeout (PID 1, root: the program cannot kill it) -> prlimit ->
    setpriv (drop to uid, die with PID 1) -> the harness."""
    cpu = int(limits.timeout_s) + 2
    return [
        "setpriv", "--pdeathsig=KILL", "--",
        "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount",
        "--propagation", "private",
        "sh", "-c", _BOOT, "sandbox-boot", str(work), f"{limits.tmpfs_mb}m", str(uid),
        "timeout", "--signal=KILL", f"{limits.timeout_s + _GRACE_S:.3f}",
        "prlimit", f"--as={limits.memory_mb << 20}", f"--cpu={cpu}",
        f"--nproc={limits.nproc}", f"--fsize={limits.file_size_mb << 20}", "--core=0", "--",
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
        "--inh-caps=-all", "--bounding-set=-all", "--pdeathsig=KILL", "--",
        python, "-I", "-c", HARNESS,
    ]  # fmt: skip


def _stop(proc: subprocess.Popen[bytes], uid: int | None) -> int:
    """Kill a run. With namespaces, the sandbox uid's processes go first, so ``unshare`` is still
    alive to reap the namespace's PID 1 (killing ``unshare`` first would orphan PID 1 to the
    host's init, which in some containers never reaps zombies); then the process group."""
    if uid is not None:
        kill_uid(uid, sandbox_python())
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def run_programs(
    programs: Sequence[str],
    limits: Limits | None = None,
    *,
    workers: int = 2,
    mode: Mode | None = None,
) -> list[ExecutionResult]:
    """Run several programs, ``workers`` at a time (each waits on a child, so threads suffice)."""
    if not programs:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, _MAX_WORKERS))) as pool:
        return list(pool.map(lambda p: run_program(p, limits, mode=mode), programs))
