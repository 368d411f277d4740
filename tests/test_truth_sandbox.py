"""The sandbox contains what model-written code can do wrong, on purpose or not."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import lmforecast
from lmforecast.truth import sandbox_lifetime
from lmforecast.truth.sandbox import (
    Limits,
    run_program,
    run_programs,
    sandbox_mode,
)
from lmforecast.truth.sandbox_harness import MARK
from lmforecast.truth.sandbox_lifetime import UID_BASE

namespaces_only = pytest.mark.skipif(
    sandbox_mode() != "namespaces", reason="isolation needs root and util-linux namespaces"
)
FAST = Limits(timeout_s=3.0)


def _sandbox_processes(owner: int | None = None) -> list[int]:
    """Live processes under any sandbox uid (there should be none between runs), or only under
    the uids of runs started by process ``owner`` (other test sessions may be running)."""
    low, high = UID_BASE, 2**32
    if owner is not None:
        low = UID_BASE + (owner % 32768) * 4096
        high = low + 4096
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if low <= uid < high and _alive(int(entry)):
                found.append(int(entry))
    return found


def test_passing_program_and_its_output() -> None:
    r = run_program("print('hello')\nassert sum([1, 2]) == 3\n", FAST)
    assert r.passed and r.status == "passed" and r.returncode == 0
    assert r.stdout_tail == "hello\n" and r.stderr_tail == ""
    assert r.seconds < 3.0


def test_failing_assert_is_failed() -> None:
    r = run_program("def f(x):\n    return x + 1\nassert f(1) == 3, 'wrong'\n", FAST)
    assert not r.passed and r.status == "failed"
    assert "AssertionError: wrong" in r.stderr_tail


def test_other_exceptions_and_syntax_errors_are_errors() -> None:
    assert run_program("raise KeyError('k')", FAST).status == "error"
    assert run_program("def f(:\n", FAST).status == "error"


def test_infinite_loop_times_out() -> None:
    start = time.perf_counter()
    r = run_program("while True:\n    pass\n", Limits(timeout_s=1.0))
    assert r.status == "timeout" and not r.passed
    assert time.perf_counter() - start < 5.0


def test_fork_bomb_is_contained() -> None:
    bomb = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    r = run_program(bomb, Limits(timeout_s=2.0))
    assert r.status == "timeout" and not r.passed
    # Nothing of it is left, and the machine still runs programs promptly.
    assert _sandbox_processes() == []
    after = run_program("print(1)", FAST)
    assert after.passed and after.seconds < 3.0


def test_runaway_child_outlives_nothing() -> None:
    """A child that leaves the process group (setsid) is still killed with the run."""
    program = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(120)\n"
        "print('parent exits')\n"
    )
    r = run_program(program, FAST)
    assert r.passed
    assert _sandbox_processes() == []


def test_huge_output_is_contained() -> None:
    r = run_program(
        "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
        Limits(timeout_s=10.0, output_bytes=4096, file_size_mb=8),
    )
    assert not r.passed and r.status in ("error", "timeout")
    assert len(r.stdout_tail) <= 4096 and set(r.stdout_tail) == {"x"}


def test_memory_hog_is_contained() -> None:
    r = run_program("x = bytearray(8 * 1024**3)\n", Limits(timeout_s=5.0, memory_mb=512))
    assert r.status == "memory" and not r.passed
    r = run_program(
        "chunks = []\nwhile True:\n    chunks.append(b'x' * 2**24)\n", Limits(memory_mb=512)
    )
    assert r.status == "memory"


def test_segfault_is_an_error() -> None:
    r = run_program("import ctypes\nctypes.string_at(0)\n", FAST)
    assert r.status == "error" and not r.passed
    assert r.returncode is not None and r.returncode != 0


@namespaces_only
def test_no_network_even_to_the_hosts_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        r = run_program(
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "print('connected')\n",
            FAST,
        )
        server.setblocking(False)  # a connection that got through would wait in the backlog
        with pytest.raises(BlockingIOError):
            server.accept()
    assert not r.passed and "connected" not in r.stdout_tail
    r2 = run_program("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n", FAST)
    assert not r2.passed and ("unreachable" in r2.stderr_tail or "refused" in r2.stderr_tail)


@namespaces_only
def test_cannot_touch_files_outside_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("original")
    os.chmod(tmp_path, 0o777)  # even a world-writable directory of the user's is out of reach
    os.chmod(target, 0o666)
    probe = Path("/etc/lmforecast-sandbox-probe")
    program = (
        "import os\n"
        "ok = []\n"
        f"for path in [{str(target)!r}, {str(tmp_path / 'new.txt')!r}, {str(probe)!r}]:\n"
        "    try:\n"
        "        with open(path, 'w') as f:\n"
        "            f.write('pwned')\n"
        "        ok.append(path)\n"
        "    except OSError as e:\n"
        "        print('blocked', type(e).__name__)\n"
        "with open('own.txt', 'w') as f:\n"
        "    f.write('fine')\n"
        "assert not ok, ok\n"
    )
    try:
        r = run_program(program, FAST)
    finally:
        probe.unlink(missing_ok=True)
    assert r.passed, r.stderr_tail
    assert r.stdout_tail.count("blocked") == 3
    assert target.read_text() == "original"
    assert not (tmp_path / "new.txt").exists()


def test_environment_secrets_are_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMFORECAST_TEST_SECRET", "s3cr3t-token")
    r = run_program(
        "import os\n"
        "print(sorted(os.environ))\n"
        "print(os.environ.get('LMFORECAST_TEST_SECRET'))\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        print(open(f'/proc/{pid}/environ').read())\n"
        "    except (OSError, ValueError):\n"
        "        pass\n",
        FAST,
    )
    assert r.passed
    assert "s3cr3t-token" not in r.stdout_tail
    assert "LMFORECAST_TEST_SECRET" not in r.stdout_tail


def test_parallel_runs_keep_their_order() -> None:
    programs = [f"import time\ntime.sleep(0.{3 - i % 3})\nassert {i} % 2 == 0\n" for i in range(6)]
    results = run_programs(programs, FAST, workers=2)
    assert [r.passed for r in results] == [i % 2 == 0 for i in range(6)]


def test_basic_mode_still_limits_time_and_reports() -> None:
    assert run_program("print(2)", FAST, mode="basic").passed
    assert run_program("while True: pass", Limits(timeout_s=1.0), mode="basic").status == "timeout"
    assert run_program("assert False", FAST, mode="basic").status == "failed"


# ---------------------------------------------------------------------------------------------
# Passed means positive evidence: the program and its tests ran to their end


@pytest.mark.parametrize(
    "program",
    [
        "import os\nos._exit(0)\n",
        "import sys\nsys.exit(0)\n",
        "exit()\n",
        "def f():\n    return 1\nraise SystemExit(0)\n",
    ],
    ids=["os._exit", "sys.exit", "exit()", "SystemExit"],
)
def test_exiting_before_the_tests_is_not_passing(program: str) -> None:
    r = run_program(program, FAST, tests="assert False, 'the tests ran'\n")
    assert not r.passed and r.status == "incomplete", r
    assert "the tests ran" not in r.stderr_tail


def test_exiting_inside_the_tests_is_not_passing() -> None:
    r = run_program("import os\ndef f():\n    os._exit(0)\n", FAST, tests="assert f() == 1\n")
    assert not r.passed and r.status == "incomplete"
    r = run_program("def f():\n    raise SystemExit(0)\n", FAST, tests="assert f() == 1\n")
    assert not r.passed and r.status == "incomplete"


def test_program_then_tests_pass_and_fail_on_their_merits() -> None:
    program = "def f(x):\n    return x + 1\nprint('defined')\n"
    ok = run_program(program, FAST, tests="assert f(1) == 2\nprint('tested')\n")
    assert ok.passed and ok.status == "passed", ok
    assert ok.stdout_tail == "defined\ntested\n"  # the proof of completion is not shown
    bad = run_program(program, FAST, tests="assert f(1) == 3, 'wrong'\n")
    assert bad.status == "failed" and "AssertionError: wrong" in bad.stderr_tail
    assert "assert f(1) == 3" in bad.stderr_tail  # the failing test line is quoted
    syntax = run_program("def f(:\n", FAST, tests="assert True\n")
    assert syntax.status == "error" and "SyntaxError" in syntax.stderr_tail


def test_a_printed_marker_without_the_runs_secret_does_not_pass() -> None:
    """The program knows the marker's format but not the run's secret: whatever it can find
    (stdin, environment, files, arguments) does not make it pass."""
    program = (
        "import os, sys\n"
        "found = [sys.stdin.read(), ' '.join(sys.argv), repr(dict(os.environ))]\n"
        "found += [open(n, errors='replace').read() for n in os.listdir() if os.path.isfile(n)]\n"
        "for p in os.listdir('/proc'):\n"
        "    try:\n"
        "        found.append(open(f'/proc/{p}/cmdline').read())\n"
        "        found.append(open(f'/proc/{p}/environ').read())\n"
        "    except OSError:\n"
        "        pass\n"
        "for guess in ['', '0' * 32] + found:\n"
        f"    line = '\\n' + {MARK!r} + guess.strip() + '\\n'\n"
        "    os.write(1, line.encode())\n"
        "    os.write(2, line.encode())\n"
        "os._exit(0)\n"
    )
    r = run_program(program, FAST, tests="assert False\n")
    assert not r.passed and r.status == "incomplete"


def test_the_tests_are_not_on_disk_for_the_program_to_read() -> None:
    r = run_program(
        "import os\nprint(sorted(os.listdir('.')))\n", FAST, tests="secret_expected = 12345\n"
    )
    assert r.passed and "12345" not in r.stdout_tail


def test_patched_builtins_and_trace_hooks_are_undone_before_the_tests() -> None:
    tests = "assert abs(f() - 3) < 1e-9\nassert len([f()]) == 1\n"
    patches = [
        "import builtins\nbuiltins.abs = lambda x: 0\n",
        "__builtins__ = dict(vars(__import__('builtins')), abs=lambda x: 0)\n",
        # A trace function that jumps over every assert of the tests.
        "import sys\n"
        "def skip(frame, event, arg):\n"
        "    if event == 'line' and frame.f_code.co_name == '<module>' and frame.f_lineno == 1:\n"
        "        frame.f_lineno = 2\n"
        "    return skip\n"
        "sys.settrace(skip)\n",
    ]
    for patch in patches:
        r = run_program(f"def f():\n    return 5\n{patch}", FAST, tests=tests)
        assert not r.passed and r.status == "failed", (patch, r)


def test_a_forked_child_cannot_vouch_for_its_parent() -> None:
    """The child runs the tests to the end, the parent exits early: not passed."""
    program = "import os\npid = os.fork()\nif pid:\n    os.waitpid(pid, 0)\n    os._exit(0)\n"
    r = run_program(program, FAST, tests="assert True\n")
    assert not r.passed and r.status == "incomplete"


# ---------------------------------------------------------------------------------------------
# A run dies with the process that started it, and leaves no directory behind

_PARENT = """
import sys
from lmforecast.truth import sandbox, sandbox_lifetime
print(sandbox_lifetime.runs_dir(), flush=True)
sandbox.run_program("import time\\nprint('started', flush=True)\\ntime.sleep(60)\\n",
                    sandbox.Limits(timeout_s=float(sys.argv[2])), mode=sys.argv[1])
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie (a zombie holds nothing; this container's init may not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _start_parent(mode: str, timeout_s: float) -> tuple[subprocess.Popen[bytes], Path]:
    """A grading process running a sleeping program; returns it once the program has started,
    with its runs directory."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, mode, str(timeout_s)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(lmforecast.__file__).parents[1])},
    )
    assert parent.stdout is not None
    runs = Path(parent.stdout.readline().decode().strip())
    assert runs.is_dir()

    def started() -> bool:
        try:
            return any("started" in p.read_text() for p in runs.glob("*/stdout"))
        except OSError:
            return False

    assert _wait_for(started, 30), "the sandboxed program never started"
    return parent, runs


@pytest.mark.parametrize(
    ("mode", "sig"),
    [
        pytest.param("namespaces", signal.SIGKILL, marks=namespaces_only, id="namespaces-SIGKILL"),
        pytest.param("namespaces", signal.SIGTERM, marks=namespaces_only, id="namespaces-SIGTERM"),
        pytest.param("basic", signal.SIGKILL, id="basic-SIGKILL"),
    ],
)
def test_a_run_dies_with_its_killed_parent_and_its_directory_goes(mode: str, sig: int) -> None:
    """A sleeping program (never stopped by the CPU limit) is gone within seconds of its
    parent's death, and the parent's run directory is removed at once by its janitor."""
    parent, runs = _start_parent(mode, 120.0)
    try:
        tree = _descendants(parent.pid)
        assert tree  # at least the sandboxed interpreter
        parent.send_signal(sig)
        parent.wait(timeout=10)
        assert _wait_for(lambda: not any(_alive(p) for p in tree), 5), [
            p for p in tree if _alive(p)
        ]
        assert _sandbox_processes(owner=parent.pid) == []
        assert _wait_for(lambda: not runs.exists(), 5), sorted(runs.rglob("*"))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@namespaces_only
def test_a_frozen_parent_still_gets_its_run_stopped() -> None:
    """The wall-clock limit holds without the parent: the namespace's PID 1 (``timeout``, out of
    the program's reach) kills the program a few seconds after ``timeout_s``."""
    parent, runs = _start_parent("namespaces", 3.0)
    try:
        tree = _descendants(parent.pid)
        parent.send_signal(signal.SIGSTOP)
        assert _wait_for(lambda: not any(_alive(p) for p in tree), 3.0 + 5.0 + 5.0), [
            p for p in tree if _alive(p)
        ]
        assert _sandbox_processes(owner=parent.pid) == []
    finally:
        parent.kill()
        parent.wait()
    assert _wait_for(lambda: not runs.exists(), 5)


def test_stale_run_directories_are_swept_by_the_next_process() -> None:
    """Backstop for a janitor that died too: a new process removes run directories whose
    owner (pid and start time, in this PID namespace) is gone, and only those."""
    tmp = Path(tempfile.gettempdir())
    mine = sandbox_lifetime.owner_tag(os.getpid())
    assert mine is not None
    ns, pid, start = mine.split(".")
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    stale = [
        tmp / f"{sandbox_lifetime.RUNS_PREFIX}{ns}.{dead_pid.pid}.1-test",  # owner exited
        tmp / f"{sandbox_lifetime.RUNS_PREFIX}{ns}.{pid}.{int(start) + 1}-test",  # pid since reused
    ]
    kept = [
        tmp / f"{sandbox_lifetime.RUNS_PREFIX}{mine}-test",  # owner alive (this process)
        tmp
        / f"{sandbox_lifetime.RUNS_PREFIX}{int(ns) + 1}.{dead_pid.pid}.1-test",  # other namespace
    ]
    try:
        for d in stale + kept:
            (d / "run" / "work").mkdir(parents=True)
            (d / "run" / "stdout").write_text("left over")
        sandbox_lifetime.sweep_stale()
        assert [d.exists() for d in stale] == [False, False]
        assert [d.exists() for d in kept] == [True, True]
    finally:
        for d in stale + kept:
            shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The working directory is a size-capped tmpfs (namespaces mode)


@namespaces_only
def test_working_directory_is_size_capped() -> None:
    program = (
        "import errno, os\n"
        "written = 0\n"
        "try:\n"
        "    for i in range(64):\n"
        "        with open(f'chunk{i}', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "        written += 1\n"
        "except OSError as e:\n"
        "    assert e.errno == errno.ENOSPC, e\n"
        "print('written', written)\n"
    )
    r = run_program(program, Limits(timeout_s=10.0, tmpfs_mb=8, file_size_mb=32))
    assert r.passed, r.stderr_tail
    assert int(r.stdout_tail.split()[-1]) < 8
