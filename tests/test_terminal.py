"""The terminal at 80 columns: every line fits, nothing is cut to "…", the names a user reads
or types stay whole on one line; ``--format`` writes the full tables for pipelines."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from report_fixtures import fixture_results
from rich.console import Console, RenderableType

from lmforecast import api
from lmforecast.cli import main
from lmforecast.cli.app import console, err_console
from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.patel import patel_headlines, patel_renderables
from lmforecast.report.probes import probes_renderables
from lmforecast.report.rbridge import rbridge_compact, rbridge_renderables
from lmforecast.report.rude import rude_renderables
from lmforecast.report.terminal import signals_table, tasks_table

RESULTS = {source.split("-")[0]: data for source, data in fixture_results()}

# The demo's sections, then the experiment commands' fuller views.
SECTIONS: dict[str, Callable[[dict[str, Any]], list[RenderableType]]] = {
    "patel": patel_renderables,
    "rbridge": rbridge_compact,
    "rude": lambda d: rude_renderables(d, compact=True),
    "probes": lambda d: probes_renderables(d, compact=True),
    "rbridge-full": rbridge_renderables,
    "rude-full": rude_renderables,
    "probes-full": probes_renderables,
}


def render(renderables: list[RenderableType], width: int = 80) -> str:
    out = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for r in renderables:
        out.print(r)
    return out.export_text()


def assert_fits(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line) <= width, line
    assert "…" not in text


def names_whole(renderables: list[RenderableType], text: str) -> None:
    """Every table's first-column cells appear whole inside one rendered line."""
    lines = text.splitlines()
    tables = [r for r in renderables if isinstance(r, FitTable)]
    assert tables
    for table in tables:
        for row in table.rows:
            assert any(f" {row[0]} " in line for line in lines), row[0]


@pytest.mark.parametrize("section", list(SECTIONS))
def test_demo_sections_fit_80_columns(section: str) -> None:
    made = SECTIONS[section](RESULTS[section.removesuffix("-full")])
    text = render(made)
    assert_fits(text)
    names_whole(made, text)


def test_patel_opens_each_setting_with_its_headline() -> None:
    """The three settings in order, each sentence (the one the HTML report shows too) first."""
    result = RESULTS["patel"]
    text = render(patel_renderables(result)).replace("\n", " ")
    heads = patel_headlines(result)
    assert len(heads) == 3
    at = [text.index(f"Patel ({s}) ") for s in "abc"]
    assert at == sorted(at)
    assert "top1@uniform ranks the 7 models with Spearman 0.95 [-0.06, 1.00]" in heads[0]
    assert "direct evaluation's compute" in heads[0]  # the cost
    assert "8x less compute" in heads[1] and "[1.00, 1.00] (95% CI)" in heads[1]
    assert "off by 0.057" in heads[2]
    for setting, line in zip("abc", heads, strict=True):
        start = text.index(f"Patel ({setting}) ")
        words = " ".join(line.split())
        assert " ".join(text[start:].split()).startswith(f"Patel ({setting}) "), setting
        assert words[:40] in " ".join(text[start:].split())


def test_a_name_wider_than_the_room_drops_columns_not_letters() -> None:
    name = "a-rather-long-model-name-that-must-stay-whole:checkpoint-1171"
    frame = pd.DataFrame({"model": [name], "spearman": [0.5], "other": ["x" * 30]})
    table = fit_frame("t", frame)
    text = render([table])
    assert_fits(text)
    assert name in text
    assert table.left_out(80) == ["other"]
    assert "not shown at this width: other" in text
    assert table.left_out(200) == []  # a wide terminal shows everything


def test_a_wrapping_column_wraps_instead_of_being_dropped() -> None:
    frame = pd.DataFrame({"name": ["n" * 40], "description": ["word " * 30]})
    text = render([fit_frame("t", frame, wrap=["description"])])
    assert_fits(text)
    assert "n" * 40 in text and text.count("word") == 30


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any, width: int = 80) -> str:
    monkeypatch.setattr(console, "width", width)
    monkeypatch.setattr(err_console, "width", width)
    monkeypatch.setattr(sys, "argv", ["lmforecast", *args])
    main(args)
    captured = capsys.readouterr()
    assert not captured.err
    return str(captured.out)


@pytest.mark.parametrize("command", ["tasks", "signals"])
def test_listings_fit_80_columns_with_names_whole(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = run([command], monkeypatch, capsys)
    assert_fits(text)
    names = (api.tasks_table() if command == "tasks" else api.signals_table())["name"]
    lines = text.splitlines()
    for name in names:  # e.g. arc_challenge:rc_0shot, testbed-arith:gold, norm_entropy@...
        assert any(f"│ {name} " in line for line in lines), name
    table = tasks_table(api.tasks_table()) if command == "tasks" else None
    if table is not None:
        assert "source" not in table.left_out(80)  # the description wraps, is not dropped
    else:
        assert "description" not in signals_table(api.signals_table()).left_out(80)


@pytest.mark.parametrize("command", ["tasks", "signals"])
def test_format_json_is_the_full_table(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    full = api.tasks_table() if command == "tasks" else api.signals_table()
    got = pd.DataFrame(json.loads(run([command, "--format", "json"], monkeypatch, capsys)))
    pd.testing.assert_frame_equal(got, full.reset_index(drop=True), check_dtype=False)


def test_format_csv_parses_with_pandas(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    text = run(["tasks", "--format", "csv"], monkeypatch, capsys)
    got = pd.read_csv(io.StringIO(text))
    full = api.tasks_table()
    assert list(got.columns) == list(full.columns)
    assert list(got["name"]) == list(full["name"])
    assert "…" not in text and "\x1b" not in text


def test_format_markdown_has_a_header_row(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    lines = run(["signals", "--format", "markdown"], monkeypatch, capsys).splitlines()
    full = api.signals_table()
    assert lines[0] == "| " + " | ".join(full.columns) + " |"
    assert set(lines[1]) <= set("|-:") and lines[1].count("|") == len(full.columns) + 1
    assert len(lines) == 2 + len(full)
    rows = [lines[0], *lines[2:]]
    assert all(line.startswith("| ") and line.endswith(" |") for line in rows)
    assert all(line.count(" | ") == len(full.columns) - 1 for line in rows)  # no stray "|"


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "--format", "xml"],
        ["signals", "--format", "JSON"],
        ["experiment", "patel", "--no-build", "--format", "csv"],  # several tables: no one CSV
    ],
)
def test_unknown_format_is_one_line(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(err_console, "width", 300)
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2
    assert len(err.splitlines()) == 1 and "--format" in err and "Traceback" not in err


def test_result_formats_hold_every_table() -> None:
    from lmforecast.report.formats import result_text

    data = RESULTS["patel"]
    again = json.loads(result_text(data, "json"))
    assert again.keys() == data.keys()
    assert again["selection"][0].keys() == data["selection"][0].keys()
    md = result_text(data, "markdown")
    for key in ("selection", "selection_bootstrap", "data_selection", "regression", "signals"):
        assert f"## {key}\n\n| " in md
