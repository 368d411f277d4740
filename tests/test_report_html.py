"""The HTML report from real (demo-sized) results: self-contained, every plot captioned, every
source named, headlines in words; ``--png`` through vl-convert without a browser; bad input is
one line from the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_fixtures import fixture_results, write_fixture_files

from lmforecast.cli import main
from lmforecast.report.charts import sections
from lmforecast.report.html import write_report
from lmforecast.report.load import check_result

# Charts each experiment draws from the fixtures: patel (truth, selection, compute,
# trajectories), rbridge (bridge, selection, compute), rude (correlations, breakdown), probes
# (AUROC, transfer, calibration, reliability).
EXPECTED_CHARTS = {"patel": 4, "rbridge": 3, "rude": 2, "probes": 4}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    info = write_report(fixture_results(), out)
    assert info.charts == sum(EXPECTED_CHARTS.values()) and info.bytes == out.stat().st_size
    return out.read_text()


def test_page_is_self_contained(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc=", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref=", page, re.IGNORECASE)
    assert "vegaEmbed" in page and page.count("<script") == 3  # bundle, specs, embed


def test_every_section_names_its_source_and_says_who_wins(page: str) -> None:
    for source, _ in fixture_results():
        assert f"from {source}" in page
    assert re.search(r"ranks the \d+ models with Spearman [-\d.]+ \[[-\d.]+, [-\d.]+\]", page)
    assert "matches direct evaluation" in page or "no proxy matches" in page
    assert "RuDE Spearman" in page and "mean AUROC" in page


def test_every_chart_has_a_title_and_a_two_sentence_caption() -> None:
    parts = sections([check_result(d, s) for s, d in fixture_results()])
    assert {s.key: len(s.charts) for s in parts} == EXPECTED_CHARTS
    for s in parts:
        for c in s.charts:
            assert c.title and len(re.findall(r"[.:;] ", c.caption + " ")) >= 2, c.caption
            assert c.spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
            assert "tooltip" in str(c.spec), c.name  # hover says what a mark is


def test_cli_report_writes_html_and_images(tmp_path: Path) -> None:
    files = write_fixture_files(tmp_path)
    out, images = tmp_path / "r.html", tmp_path / "png"
    main(["report", *map(str, files), "-o", str(out), "--png", str(images)])
    assert out.read_text().startswith("<!doctype html>")
    pngs, svgs = sorted(images.glob("*.png")), sorted(images.glob("*.svg"))
    assert len(pngs) == len(svgs) == sum(EXPECTED_CHARTS.values())
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000 for p in pngs)
    assert all("<svg" in p.read_text()[:200] for p in svgs)


def test_cli_bad_file_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_fixture_files(tmp_path)[2]
    bad = tmp_path / "cut.json"
    bad.write_text(good.read_text()[:100])
    with pytest.raises(SystemExit) as e:
        main(["report", str(good), str(bad), "-o", str(tmp_path / "r.html")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err.replace("\n", "") and "truncated" in err
