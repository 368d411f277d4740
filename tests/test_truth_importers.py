"""Importers on realistic lm-eval / OLMES / CSV files, and their errors on malformed ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lmforecast.core.errors import UserError
from lmforecast.store import Store
from lmforecast.truth.importers import KIND, detect, import_file

DATA = Path(__file__).parent / "data" / "truth_import"
LM_EVAL_RESULTS = DATA / "lm_eval" / "results_2025-03-08T02-22-56.123456.json"
LM_EVAL_SAMPLES = DATA / "lm_eval" / "samples_gsm8k_2025-03-08T02-22-56.123456.jsonl"
OLMES_METRICS = DATA / "olmes" / "task-000-gsm8k-metrics.json"
OLMES_ALL = DATA / "olmes" / "metrics-all.jsonl"
OLMES_PREDICTIONS = DATA / "olmes" / "task-000-gsm8k-predictions.jsonl"
CSV = DATA / "results.csv"


def as_dict(table: object) -> dict[tuple[str, str, str], float]:
    rows = table.to_pylist()  # type: ignore[attr-defined]
    return {(r["model"], r["task"], r["metric"]): r["value"] for r in rows}


def test_detects_every_fixture() -> None:
    assert detect(LM_EVAL_RESULTS) == ("lm-eval", "aggregate")
    assert detect(LM_EVAL_SAMPLES) == ("lm-eval", "examples")
    assert detect(OLMES_METRICS) == ("olmes", "aggregate")
    assert detect(OLMES_ALL) == ("olmes", "aggregate")
    assert detect(OLMES_PREDICTIONS) == ("olmes", "examples")
    assert detect(CSV) == ("csv", "aggregate")


def test_lm_eval_results() -> None:
    r = import_file(LM_EVAL_RESULTS)
    values = as_dict(r.table)
    model = "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert values[(model, "gsm8k", "exact_match,strict-match")] == 0.5
    assert values[(model, "gsm8k", "exact_match,flexible-extract")] == 0.75
    assert (model, "gsm8k", "alias") not in values
    assert len(values) == 4  # two metrics and their stderrs
    assert import_file(LM_EVAL_RESULTS, model="mine").models == ["mine"]


def test_lm_eval_samples_take_the_model_from_the_results_file_beside_them() -> None:
    r = import_file(LM_EVAL_SAMPLES)
    assert r.shape == "examples" and r.tasks == ["gsm8k"]
    assert r.models == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    rows = r.table.to_pylist()
    strict = [row for row in rows if row["metric"] == "exact_match,strict-match"]
    assert [row["doc_id"] for row in strict] == ["0", "1", "2", "3"]
    assert [row["correct"] for row in strict] == [True, True, False, False]
    # The per-sample file agrees with the aggregate file it was written with.
    flexible = [row["value"] for row in rows if row["metric"] == "exact_match,flexible-extract"]
    aggregate = as_dict(import_file(LM_EVAL_RESULTS).table)
    key = ("HuggingFaceTB/SmolLM2-135M-Instruct", "gsm8k", "exact_match,flexible-extract")
    assert sum(flexible) / len(flexible) == pytest.approx(aggregate[key])


def test_lm_eval_samples_alone_need_a_model(tmp_path: Path) -> None:
    lonely = tmp_path / LM_EVAL_SAMPLES.name
    shutil.copy(LM_EVAL_SAMPLES, lonely)
    with pytest.raises(UserError, match="pass --model"):
        import_file(lonely)
    assert import_file(lonely, model="m").models == ["m"]


def test_olmes_metrics_and_predictions() -> None:
    metrics = as_dict(import_file(OLMES_METRICS).table)
    assert metrics[("smollm2-135m", "gsm8k", "primary_score")] == 0.75
    assert metrics[("smollm2-135m", "gsm8k", "extra_metrics.num_tokens")] == 61.25
    everything = as_dict(import_file(OLMES_ALL).table)
    assert everything[("smollm2-135m", "arc_easy", "acc_per_char")] == 0.575
    preds = import_file(OLMES_PREDICTIONS)
    assert preds.models == ["smollm2-135m"] and preds.tasks == ["gsm8k"]
    em = [row for row in preds.table.to_pylist() if row["metric"] == "exact_match"]
    assert (
        sum(row["correct"] for row in em) / len(em)
        == metrics[("smollm2-135m", "gsm8k", "exact_match")]
    )
    assert "model_answer" not in {row["metric"] for row in preds.table.to_pylist()}


def test_csv_and_overrides() -> None:
    r = import_file(CSV)
    assert as_dict(r.table)[("smollm2-135m", "humaneval:gold", "pass@1")] == 0.0305
    assert r.models == ["gemma3-270m", "smollm2-135m"]
    assert import_file(CSV, task="t").tasks == ["t"]


def test_store_round_trip_and_query(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    a = import_file(CSV, store=store)
    b = import_file(LM_EVAL_SAMPLES, store=store)
    assert a.key and b.key and a.key != b.key
    assert store.read_meta(KIND, a.key)["rows"] == 3  # type: ignore[index]
    got = store.query(
        f"SELECT metric, value FROM {KIND} WHERE model = 'gemma3-270m' AND entry_key = ?", [a.key]
    ).to_pylist()
    assert got == [{"metric": "accuracy", "value": 0.015}]
    assert import_file(CSV, store=store).key == a.key  # same file, same key


# ---------------------------------------------------------------------------------------------
# Malformed files: the error names the file, the line or field, and what was expected


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_unknown_and_missing_columns(tmp_path: Path) -> None:
    bad = write(tmp_path, "a.csv", "model,task,metric,value,notes\nm,t,acc,0.5,x\n")
    with pytest.raises(UserError, match=r"a\.csv:1: unknown column 'notes'"):
        import_file(bad)
    bad = write(tmp_path, "b.csv", "model,task,value\nm,t,0.5\n")
    with pytest.raises(UserError, match="missing column 'metric'"):
        import_file(bad)


def test_csv_non_numeric_value_names_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "c.csv", "model,task,metric,value\nm,t,acc,0.5\nm,t,acc_norm,high\n")
    with pytest.raises(UserError, match=r"c\.csv:3: value 'high' is not a number"):
        import_file(bad)
    bad = write(tmp_path, "d.csv", "model,task,metric,value\nm,,acc,0.5\n")
    with pytest.raises(UserError, match=r"d\.csv:2: column 'task' is empty"):
        import_file(bad)


def test_lm_eval_results_bad_value(tmp_path: Path) -> None:
    data = json.loads(LM_EVAL_RESULTS.read_text())
    data["results"]["gsm8k"]["exact_match,strict-match"] = [0.25]
    bad = write(tmp_path, "results_x.json", json.dumps(data))
    with pytest.raises(
        UserError, match=r"'results\.gsm8k\.exact_match,strict-match': expected a number"
    ):
        import_file(bad)


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    lines = LM_EVAL_SAMPLES.read_text().splitlines()
    lines[2] = lines[2][:-5]
    bad = write(tmp_path, "samples_gsm8k_2025-01-01T00-00-00.000000.jsonl", "\n".join(lines))
    with pytest.raises(UserError, match=r"\.jsonl:3: not valid JSON"):
        import_file(bad, model="m")


def test_missing_field_is_named(tmp_path: Path) -> None:
    records = [json.loads(x) for x in OLMES_PREDICTIONS.read_text().splitlines()]
    del records[1]["metrics"]
    bad = write(tmp_path, "task-000-gsm8k-predictions.jsonl", "\n".join(map(json.dumps, records)))
    with pytest.raises(UserError, match=r"predictions\.jsonl:2: field 'metrics' is missing"):
        import_file(bad, model="m")


def test_metric_value_of_wrong_type_is_named(tmp_path: Path) -> None:
    records = [json.loads(x) for x in LM_EVAL_SAMPLES.read_text().splitlines()]
    records[0]["exact_match"] = "yes"
    bad = write(
        tmp_path,
        "samples_gsm8k_2025-01-01T00-00-00.000000.jsonl",
        "\n".join(map(json.dumps, records)),
    )
    with pytest.raises(UserError, match=r":1: field 'exact_match' should be"):
        import_file(bad, model="m")


def test_unrecognised_files_and_wrong_format(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a recognised result file"):
        import_file(write(tmp_path, "x.json", '{"hello": 1}'))
    with pytest.raises(UserError, match="no such file"):
        import_file(tmp_path / "missing.csv")
    with pytest.raises(UserError, match="looks like csv"):
        import_file(CSV, "olmes")
    with pytest.raises(UserError, match="--format"):
        import_file(CSV, "excel")  # type: ignore[arg-type]


def test_import_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import lmforecast.cli.truth  # noqa: F401  (registers the commands until the CLI imports it)
    from lmforecast.cli.app import app

    runner = CliRunner()
    ok = runner.invoke(app, ["import", str(CSV), "--store-dir", str(tmp_path / "s")])
    assert ok.exit_code == 0, ok.output
    assert "imported 3 aggregate rows as csv" in ok.output and "gemma3-270m" in ok.output
    bad = write(tmp_path, "bad.csv", "model,task,metric,score\n")
    failed = runner.invoke(app, ["import", str(bad), "--store-dir", str(tmp_path / "s")])
    assert isinstance(failed.exception, UserError) and "unknown column 'score'" in str(
        failed.exception
    )
