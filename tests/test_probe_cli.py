"""`lmforecast probe train|predict` and the saved probe file: round trip, refusals, and a real
run on a `ci` checkpoint (labels through Truth, features from one pass)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_probes_lib import as_features, planted

from lmforecast.cli import main
from lmforecast.cli.app import console
from lmforecast.signals.probes.probes import LogRegProbe
from lmforecast.signals.probes.saved import (
    MAGIC,
    ProbeFileError,
    ProbeSpecs,
    SavedProbe,
    load_probe,
    save_probe,
)


def _specs(**over: object) -> ProbeSpecs:
    base = dict(
        architecture="logreg", model="m", fingerprint="f", tasks=("t",), layers=(3,),
        num_layers=4, hidden_size=6, keep_tokens=False, labels={"n_samples": 8},
    )  # fmt: skip
    return ProbeSpecs(**{**base, **over})  # type: ignore[arg-type]


def test_a_saved_probe_predicts_exactly_what_it_did(tmp_path: Path) -> None:
    x, y, _, groups = planted()
    features = as_features(x)
    probe = LogRegProbe().fit(features, y, groups)
    path = save_probe(SavedProbe(_specs(), probe), tmp_path / "p.probe")
    loaded = load_probe(path)
    assert loaded.specs == _specs()
    np.testing.assert_array_equal(loaded.predict(features), probe.predict_proba(features))
    assert not (tmp_path / "p.probe.partial").exists()


def test_a_probe_refuses_features_of_another_shape(tmp_path: Path) -> None:
    x, y, _, groups = planted()
    saved = SavedProbe(_specs(num_layers=8), LogRegProbe().fit(as_features(x), y, groups))
    with pytest.raises(ProbeFileError, match=r"8-block model of width 6.*has 4 blocks"):
        saved.predict(as_features(x), "p.probe")
    with pytest.raises(ProbeFileError, match="needs per-token states"):
        SavedProbe(_specs(keep_tokens=True, architecture="attention"), saved.probe).predict(
            as_features(x)
        )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 a zip", "not an lmforecast probe file"),
        (MAGIC + b'{"format": 99, "specs": {}}\n', "format 99; this version reads format 1"),
        (MAGIC + b"{not json\n", "unreadable probe header"),
    ],
)
def test_bad_probe_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.probe"
    path.write_bytes(content)
    with pytest.raises(ProbeFileError, match=message) as e:
        load_probe(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_a_truncated_probe_body_is_refused(tmp_path: Path) -> None:
    x, y, _, groups = planted()
    path = save_probe(
        SavedProbe(_specs(), LogRegProbe().fit(as_features(x), y, groups)), tmp_path / "p.probe"
    )
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ProbeFileError, match="truncated or corrupt"):
        load_probe(path)
    with pytest.raises(ProbeFileError, match="no such probe file"):
        load_probe(tmp_path / "missing.probe")


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["lmforecast", *args])
    monkeypatch.setattr(console, "width", 300)
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_train_then_predict_on_a_ci_checkpoint(
    ci_build: tuple[Path, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, manifest = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    runs = manifest[(manifest["recipe"] == "pure") & (manifest["size"] == "m")]
    base = runs[runs["stage"] == "base"].sort_values("step")
    final, earlier = str(base["path"].iloc[-1]), str(base["path"].iloc[-2])
    probe = tmp_path / "pure.probe"
    tasks = ["--task", "testbed-arith:gold", "--task", "testbed-trace:gold"]
    args = ["probe", "train", "--model", final, *tasks, "--limit", "16", "-o", str(probe)]
    assert _cli(args, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "out-of-fold AUROC" in out and "problem-only" in out and probe.exists()
    specs = load_probe(probe).specs
    assert specs.tasks == ("testbed-arith:gold", "testbed-trace:gold")
    assert specs.labels["problems"] == 32 and specs.training["n"] == 32

    table = tmp_path / "pred.csv"
    args = ["probe", "predict", "--probe", str(probe), "--model", earlier, *tasks]
    args += ["--limit", "16", "--truth", "--output", str(table)]
    assert _cli(args, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "graded samples per problem: AUROC" in out
    rows = pd.read_csv(table)
    assert len(rows) == 32 and rows["predicted"].between(0, 1).all()
    assert rows["true"].isin(np.arange(9) / 8).all()  # shares of 8 graded samples

    # A generative task is required, and a probe reads only its own kind of model.
    assert _cli([*args[:6], "--task", "arc_easy:rc", "--limit", "4"], monkeypatch) == 2
    assert "scored, not generated" in capsys.readouterr().err
    bad = tmp_path / "bad.probe"
    bad.write_text("hello")
    assert (
        _cli(["probe", "predict", "--probe", str(bad), "--model", earlier, *tasks], monkeypatch)
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "not an lmforecast probe file" in err and len(err.splitlines()) == 1
