"""The demo-sized report in a real browser: Debian's chromium, driven headless by Playwright
at the system browser (never ``playwright install``). Every request other than the file itself
is aborted, so a report that needed the network would draw nothing and fail here.

``make test`` installs chromium with apt-get when run as root (as on CI); elsewhere, without a
browser, this test is skipped with a message naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_browser import BROWSERS, find_browser, render
from report_fixtures import fixture_results
from test_report_html import EXPECTED_CHARTS

from lmforecast.report.html import write_report


def test_demo_report_draws_every_plot_in_chromium(tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip(f"no headless browser: none of {', '.join(BROWSERS)} on PATH "
                    "(`make test` as root installs Debian's chromium)")  # fmt: skip
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
    report = write_report(fixture_results(), tmp_path / "report.html").path
    shot = tmp_path / "report.png"
    seen = render(report, shot, browser)
    assert seen.errors == []
    assert seen.blocked == []  # nothing asked for the network
    assert len(seen.marks) == sum(EXPECTED_CHARTS.values())
    assert min(seen.marks) > 0, seen.marks  # every view drew marks
    assert shot.stat().st_size > 50_000
    assert seen.ink > 0.02 and seen.colour > 0.002, (seen.ink, seen.colour)  # not blank
