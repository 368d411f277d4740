"""How a sandbox run ends with the process that started it: its processes and its files.

**Processes.** A run is started with a death signal (``PR_SET_PDEATHSIG`` = ``SIGKILL``, see
:func:`die_with_parent`; in namespaces mode ``setpriv --pdeathsig``): when the thread that
started it dies, by ``SIGKILL`` or ``SIGTERM`` too, the kernel kills the run's first process,
and in namespaces mode that takes the whole PID namespace with it. A namespaced run also has a
uid of its own (:func:`fresh_uid`), so that whatever is left of it can be found and killed
(:func:`kill_uid`) when it ends normally.

**Files.** A run removes its own directory when it ends normally, but ``SIGKILL`` (or
``SIGTERM``, whose default action runs no ``finally``) of the grading process leaves it behind,
with the program's stdout and stderr (up to ``RLIMIT_FSIZE`` each). So each process keeps its
runs under one directory of its own, ``<tmp>/lmforecast-sandbox-<pid ns>.<pid>.<start>-<random>``,
and two things remove it:

- **At once**: a janitor (``sh`` in a session of its own) blocks reading a pipe whose write end
  only this process holds; at end of file, i.e. as soon as this process is gone however it
  ended, it removes the directory.
- **At the next start**, if the janitor was killed too: the first run of any later process
  sweeps directories whose owner is gone. Pid and start time name a process for its whole
  life (a pid alone is reused); a directory from another PID namespace (another container
  sharing ``/tmp``) is left alone, since its pid means nothing here.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

RUNS_PREFIX = "lmforecast-sandbox-"
_TAG = re.compile(re.escape(RUNS_PREFIX) + r"(\d+\.\d+\.\d+)-")

# Reads fd 3 (the pipe) to end of file, then removes the directory. The subshell is in the
# background so that this call returns; its stdin would be /dev/null, hence the pipe on fd 3.
_JANITOR = 'exec 3<&0; { while read -r _; do :; done <&3; rm -rf -- "$1"; } >/dev/null 2>&1 &'

UID_BASE = 1_500_000  # far above any real account; a fresh uid for every run
_PR_SET_PDEATHSIG = 1
_lock = threading.Lock()
_dirs: dict[int, Path] = {}  # pid -> its runs directory (a forked child makes its own)
_pipes: list[int] = []  # write ends of the janitors' pipes, held open for this process's life


# ---------------------------------------------------------------------------------------------
# Processes: a uid per run (everything it started is killed with it), a death signal

_uid_lock = threading.Lock()
_uid_counter = itertools.count()


def fresh_uid() -> int:
    """A uid no other run uses: the per-uid process limit and the final kill then concern this
    run alone, and a zombie left by a killed run can never count against a later one."""
    with _uid_lock:
        n = next(_uid_counter) % 4096
    return UID_BASE + (os.getpid() % 32768) * 4096 + n


def pids_of_uid(uid: int) -> list[int]:
    """Live (not zombie) processes whose real uid is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                pids.append(int(entry))
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return pids


_KILL_ALL = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass"


def kill_uid(uid: int, python: str) -> None:
    """SIGKILL every live process of ``uid``: ``kill(-1)`` run *as that uid* reaches exactly
    those, including the namespace's PID 1 (whose death takes the whole namespace with it)."""
    for _ in range(5):
        if not pids_of_uid(uid):
            return
        subprocess.run(
            [
                "setpriv",
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                python,
                "-I",
                "-S",
                "-c",
                _KILL_ALL,
            ],
            capture_output=True,
            timeout=30,
        )
        time.sleep(0.05)


@lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux only), loaded before any fork: a child must not load libraries."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` step: SIGKILL the child when the thread forking it dies. If the parent
    died before the signal was armed, nobody would send it: the child exits at once instead."""
    prctl, parent = _prctl(), os.getpid()

    def arm() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(1)

    return arm


# ---------------------------------------------------------------------------------------------
# Files: one directory per process, removed by its janitor or by the next process's sweep


def owner_tag(pid: int) -> str | None:
    """``<pid namespace>.<pid>.<start time>`` of a live process, or None (gone, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19])
        return f"{os.stat('/proc/self/ns/pid').st_ino}.{pid}.{start}"
    except (OSError, IndexError, ValueError):
        return None


def sweep_stale() -> None:
    """Remove run directories (of this user, in this PID namespace) whose owner is gone."""
    mine = owner_tag(os.getpid())
    if mine is None:
        return
    namespace = mine.split(".", 1)[0]
    for path in Path(tempfile.gettempdir()).glob(RUNS_PREFIX + "*"):
        match = _TAG.match(path.name)
        if not match or path.is_symlink():
            continue
        tag = match.group(1)
        ns, pid, _ = tag.split(".")
        try:
            if ns != namespace or path.stat().st_uid != os.geteuid():
                continue
        except OSError:
            continue
        if owner_tag(int(pid)) != tag:
            shutil.rmtree(path, ignore_errors=True)


def _start_janitor(path: Path) -> int:
    """Start the janitor of ``path``; returns the pipe's write end, to keep open."""
    read, write = os.pipe()  # not inheritable: no sandboxed program gets the write end
    try:
        subprocess.run(
            ["sh", "-c", _JANITOR, "lmforecast-sandbox-janitor", str(path)],
            stdin=read,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no signal to this process's group reaches it
            cwd="/",
            check=True,
        )
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)
    return write


def runs_dir() -> Path:
    """This process's directory for run directories (made on first use, with its janitor)."""
    pid = os.getpid()
    with _lock:
        path = _dirs.get(pid)
        if path is None or not path.is_dir():
            sweep_stale()
            tag = owner_tag(pid) or f"0.{pid}.0"
            path = Path(tempfile.mkdtemp(prefix=f"{RUNS_PREFIX}{tag}-"))
            _pipes.append(_start_janitor(path))
            _dirs[pid] = path
        return path
