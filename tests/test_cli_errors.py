"""Bad command lines and bad places: typer's usage block or one line, never a traceback.

Every command runs ``--help`` and one invalid option through the real entry point
(:func:`lmforecast.cli.main`); the console script itself is run once as a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_task_file

from lmforecast import api
from lmforecast.cli import main
from lmforecast.cli.app import console, err_console

COMMANDS = [
    ["demo"],
    ["score"],
    ["show"],
    ["tasks"],
    ["signals"],
    ["truth"],
    ["import"],
    ["forecast"],
    ["experiment", "patel"],
    ["experiment", "probes"],
    ["probe", "train"],
    ["probe", "predict"],
    ["testbed", "build"],
    ["testbed", "show"],
    ["store", "check"],
]


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(console, "width", 300)
    monkeypatch.setattr(err_console, "width", 300)
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_and_an_invalid_option(command: list[str], monkeypatch, capsys) -> None:
    code, out, err = run([*command, "--help"], monkeypatch, capsys)
    assert code == 0 and "Usage:" in out and "Traceback" not in out + err
    code, out, err = run([*command, "--no-such-option"], monkeypatch, capsys)
    assert code == 2, err
    assert "Usage:" in err and "No such option" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, says",
    [
        ([], "Usage:"),
        (["nosuchcmd"], "No such command"),
        (["score", "--model", "m"], "--task is required"),
        (["truth", "--model", "m", "--task", "t", "--samples", "0"], "--samples"),
        (["truth", "--model", "m", "--task", "t", "--temperature", "-1"], "--temperature"),
        (["truth", "--model", "m", "--task", "t", "--top-p", "2"], "--top-p"),
        (["score", "--model", "m", "--task", "t", "--batch-size", "0"], "--batch-size"),
        (["score", "--model", "m", "--task", "t", "--limit", "-1"], "--limit"),
        (["score", "--model", "m", "--task", "t", "--limit", "0"], "--limit"),
        (["experiment", "patel", "--docs-per-task", "0"], "--docs-per-task"),
    ],
)
def test_usage_errors_at_parse_time(args: list[str], says: str, monkeypatch, capsys) -> None:
    code, out, err = run(args, monkeypatch, capsys)
    assert code == 2
    assert says in out + err and "Traceback" not in out + err


def test_console_script_usage_error_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lmforecast", "score", "--bogus"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "No such option" in proc.stderr and "Traceback" not in proc.stderr


def one_line_error(args: list[str], monkeypatch, capsys, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    got, _, err = run(args, monkeypatch, capsys)
    assert got == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_task_file(tmp_path / "t.jsonl", 4)


def test_bad_destinations_are_found_before_any_compute(
    task_file: Path, tmp_path: Path, lmf_home: Path, monkeypatch, capsys
) -> None:
    """The model spec is bogus: reaching the model would be a different error, so each message
    proves the destination was checked first."""
    base = ["score", "--model", "/nonexistent/model", "--task", str(task_file)]
    err = one_line_error([*base, "--output", str(tmp_path / "x.csv")], monkeypatch, capsys)
    assert "x.csv: expected a .parquet or .jsonl" in err
    err = one_line_error([*base, "--output", "/proc/lmforecast.parquet"], monkeypatch, capsys)
    assert "/proc" in err and "cannot write there" in err
    err = one_line_error([*base, "--store-dir", "/proc/lmforecast-store"], monkeypatch, capsys)
    assert "--store-dir /proc/lmforecast-store" in err
    err = one_line_error(
        [
            "experiment",
            "patel",
            "--preset",
            "ci",
            "--no-build",
            "--output",
            str(tmp_path / "r.txt"),
        ],
        monkeypatch,
        capsys,
    )
    assert "r.txt: expected a .json" in err


def test_unwritable_data_home_is_one_line(task_file: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LMFORECAST_HOME", "/proc/lmforecast-home")
    err = one_line_error(["show"], monkeypatch, capsys, code=1)
    assert "/proc/lmforecast-home" in err


def _tables(tmp_path: Path, signals: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    s, t = tmp_path / "s.csv", tmp_path / "t.csv"
    signals.to_csv(s, index=False)
    truth.to_csv(t, index=False)
    return ["forecast", "--signals", str(s), "--truth", str(t)]


def test_forecast_splits_metrics_and_refuses_what_it_cannot_rank(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    models = ["a", "b", "c", "d"]
    signals = pd.DataFrame({"model": models, "task": "t", "sig": [1.0, 2.0, 3.0, 4.0]})
    truth = pd.DataFrame(
        {
            "model": models * 2,
            "task": "t",
            "metric": ["acc"] * 4 + ["f1"] * 4,
            "value": [0.1, 0.2, 0.3, 0.4, 0.4, 0.3, 0.2, 0.1],
        }
    )
    code, out, err = run(_tables(tmp_path, signals, truth), monkeypatch, capsys)
    assert code == 0, err
    assert "signals vs ground truth: acc" in out and "signals vs ground truth: f1" in out
    table = api.forecast(signals, truth)
    assert list(table["metric"]) == ["acc", "f1"] and list(table["models"]) == [4, 4]
    assert list(table["spearman"]) == [1.0, -1.0]  # never pooled into one ranking
    pooled = truth.drop(columns="metric")
    err = one_line_error(_tables(tmp_path, signals, pooled), monkeypatch, capsys)
    assert "several values for one (model, task)" in err
    one = truth[(truth["metric"] == "acc") & (truth["model"] == "a")]
    err = one_line_error(_tables(tmp_path, signals, one), monkeypatch, capsys)
    assert "ranking needs at least 2" in err
    text = signals.assign(sig=["x", "y", "z", "w"])
    err = one_line_error(_tables(tmp_path, text, truth), monkeypatch, capsys)
    assert "column(s) sig are not numeric" in err
    flat = truth.assign(value=0.5)
    err = one_line_error(_tables(tmp_path, signals, flat), monkeypatch, capsys)
    assert "nothing to rank" in err


def test_ctrl_c_during_score_says_rerun_to_resume(tiny_llama_dir: Path, tmp_path: Path) -> None:
    rows = [{"context": "word " * 40, "continuation": f" {i} " * 30} for i in range(3000)]
    task = tmp_path / "big.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "LMFORECAST_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lmforecast",
            "score",
            "--model",
            str(tiny_llama_dir),
            "--task",
            str(task),
            "--batch-size",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell's background job (``make test &``) starts with SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler: give the child a terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    store = tmp_path / "home" / "store" / "scores"
    while time.monotonic() < deadline and not any(store.glob("*/*.parquet")):
        time.sleep(0.2)  # wait until scoring has really started (a shard is stored)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "rerun to resume" in err and "Traceback" not in err


@pytest.mark.slow
def test_failed_model_cache_write_leaves_no_temp_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing the dequantised GGUF copy: one clear error, no half copy."""
    import errno

    import transformers

    from lmforecast.core.errors import ModelLoadError
    from lmforecast.models import load_model

    monkeypatch.setenv("LMFORECAST_HOME", str(tmp_path))

    def disk_full(self: object, save_directory: str, *args: object, **kwargs: object) -> None:
        Path(save_directory).mkdir(parents=True, exist_ok=True)
        (Path(save_directory) / "model.safetensors").write_bytes(b"half written")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", disk_full)
    with pytest.raises(ModelLoadError, match="No space left on device"):
        load_model("smollm2-135m")
    assert (tmp_path / "models").is_dir()  # the copy was begun there...
    assert not list((tmp_path / "models").iterdir())  # ...and nothing half-written is left


def test_show_survives_a_meta_json_without_names(
    tiny_llama_dir: Path, task_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    store = tmp_path / "store"
    args = ["score", "--model", str(tiny_llama_dir), "--task", str(task_file)]
    assert run([*args, "--store-dir", str(store)], monkeypatch, capsys)[0] == 0
    (meta,) = store.glob("scores/*/meta.json")
    meta.write_text('{"units": 1}')  # valid JSON, but no model or task
    code, out, err = run(["show", "--store-dir", str(store)], monkeypatch, capsys)
    assert code == 0 and "Traceback" not in err
    assert "?" in out and "4" in out  # the entry is listed, its 4 requests counted
