"""The harness inside every sandbox run: the program, then its tests, then a proof of completion.

Exit status 0 is no evidence that tests ran: ``os._exit(0)``, ``sys.exit()`` or ``SystemExit``
before (or inside) the tests also give 0. So ``passed`` needs positive evidence: the harness
prints :data:`MARK` followed by a per-run secret only after the program *and every test* ran to
their end, and exits at once with ``os._exit(0)`` (no atexit handler or thread runs after it).

Why the program cannot forge the proof in practice:

- The secret and the tests arrive on stdin, which the harness reads to the end and replaces with
  ``/dev/null`` before any program code runs. They are never in a file, an argument or the
  environment (``/proc/self/environ`` keeps the original environment even after ``unsetenv``).
- Program and tests are compiled apart: no text of the program (an open quote, a backslash, an
  ``if False:``) can swallow or reorder the tests.
- Everything the harness uses after the program ran (``os.write``, ``os._exit``, ``exec``, the
  builtins dictionary, ...) is bound before it ran. Between program and tests the harness puts
  back the builtins as they were (and ``__builtins__`` of the namespace) and removes trace and
  profile hooks (a trace function can jump over ``assert`` lines).
- Only the process the harness started may print the proof: a forked child that ran the tests
  cannot vouch for a parent that exited early.

What it does not stop: code that deliberately inspects the interpreter (walks frames or reads its
own memory for the secret), patches standard-library modules the tests import, or returns a
wrong answer that fools a weak test (an object whose ``__eq__`` is always true). Those run the
tests; they do not skip them.
"""

from __future__ import annotations

import secrets

MARK = "lmforecast-sandbox: ran to the end "

_SOURCE = r"""
import builtins, linecache, os, sys, traceback, types


def _run():
    data = b""
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        data += chunk
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    secret, _, tests = data.partition(b"\n")
    proof = b"\n" + MARK + secret + b"\n"
    del data, secret
    write, exit_, getpid, pid = os.write, os._exit, os.getpid, os.getpid()
    compile_, exec_, show, cache = compile, exec, traceback.print_exception, linecache.cache
    settrace, setprofile, names = sys.settrace, sys.setprofile, builtins.__dict__
    saved, exit_exc, base_exc = dict(names), SystemExit, BaseException
    out, err = sys.stdout, sys.stderr
    main = types.ModuleType("__main__")
    main.__file__ = path = os.path.abspath("main.py")
    main.__builtins__ = builtins
    space = main.__dict__
    sys.modules["__main__"] = main
    sys.argv[:] = ["main.py"]
    with open(path, "rb") as f:
        source = f.read()
    try:
        exec_(compile_(source, path, "exec", dont_inherit=True), space)
        settrace(None)
        setprofile(None)
        for name in [name for name in names if name not in saved]:
            del names[name]
        names.update(saved)
        space["__builtins__"] = builtins
        if tests:
            lines = tests.decode("utf-8", "replace").splitlines(True)
            cache["<tests>"] = (len(tests), None, lines, "<tests>")
            exec_(compile_(tests, "<tests>", "exec", dont_inherit=True), space)
    except exit_exc:
        raise
    except base_exc as e:
        try:
            show(e.__class__, e, e.__traceback__.tb_next, file=err)
            err.flush()
        except base_exc:
            write(2, b"\n" + e.__class__.__name__.encode() + b"\n")
        exit_(1)
    if getpid() != pid:
        exit_(0)
    for stream in (out, err):
        try:
            stream.flush()
        except base_exc:
            pass
    write(1, proof)
    exit_(0)


_run()
"""

HARNESS = f"MARK = {MARK.encode()!r}\n{_SOURCE}"
"""The harness, for ``python -I -c``; it runs ``main.py`` from its working directory."""


def new_secret() -> str:
    """A fresh secret for one run (128 bits: not guessable, not reused)."""
    return secrets.token_hex(16)


def stdin_payload(secret: str, tests: str | None) -> bytes:
    """What the harness reads from stdin before the program runs: the secret, then the tests."""
    return f"{secret}\n{tests or ''}".encode()


def take_proof(stdout: str, secret: str) -> tuple[bool, str]:
    """Whether ``stdout`` holds this run's proof of completion, and ``stdout`` without it."""
    proof = f"\n{MARK}{secret}\n"
    at = stdout.rfind(proof)
    if at < 0:
        return False, stdout
    return True, stdout[:at] + stdout[at + len(proof) :]
