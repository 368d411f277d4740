"""Open an HTML report in the system's headless Chromium and say what it drew.

Used by ``tests/test_report_browser.py`` and, run as a script, to refresh the README's
screenshot from the same code path (the page's first 2,400 pixels):
``python tests/report_browser.py REPORT.html docs/report-demo.png 2400``.
Network requests other than the file itself are aborted, so a report that needed a CDN would
draw nothing and fail.
"""

from __future__ import annotations

import base64
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser")

# Count each view's marks and the screenshot's non-background pixels in the page itself: the
# browser decodes the PNG, so the test needs no image library.
COUNT_MARKS = """async () => {
  await window.__ready;
  return window.__views.map(v => v.container().querySelectorAll(
    "svg .mark-symbol path, svg .mark-rect path, svg .mark-line path, svg .mark-area path, "
    + "svg .mark-rule line, svg .mark-text text, svg .mark-tick line, svg .mark-tick rect"
  ).length);
}"""
INK = """async (data) => {
  const img = new Image(); img.src = "data:image/png;base64," + data; await img.decode();
  const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let ink = 0, colour = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) ink++;
    if (Math.max(px[i], px[i+1], px[i+2]) - Math.min(px[i], px[i+1], px[i+2]) > 40) colour++;
  }
  return [ink / (px.length / 4), colour / (px.length / 4)];
}"""


def find_browser() -> str | None:
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


@dataclass
class Rendered:
    """What the page did: errors, marks per view, share of inked and coloured pixels."""

    errors: list[str] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    ink: float = 0.0
    colour: float = 0.0
    blocked: list[str] = field(default_factory=list)


def render(
    report: Path, screenshot: Path, browser: str, width: int = 1200, height: int | None = None
) -> Rendered:
    """Load ``report`` offline, wait for every view, screenshot the full page (or its first
    ``height`` pixels), measure it."""
    from playwright.sync_api import sync_playwright

    out = Rendered()
    url = report.resolve().as_uri()
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=browser, headless=True, args=["--no-sandbox"])
        page = chrome.new_page(viewport={"width": width, "height": 900})

        def route(r: object) -> None:
            request = r.request  # type: ignore[attr-defined]
            if request.url == url or request.url.startswith("data:"):
                r.continue_()  # type: ignore[attr-defined]
            else:
                out.blocked.append(request.url)
                r.abort()  # type: ignore[attr-defined]

        page.route("**/*", route)
        page.on("pageerror", lambda e: out.errors.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: (
                out.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.goto(url, wait_until="load")
        out.marks = page.evaluate(COUNT_MARKS)
        clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
        png = page.screenshot(path=str(screenshot), full_page=True, clip=clip)  # type: ignore[arg-type]
        out.ink, out.colour = page.evaluate(INK, base64.b64encode(png).decode())
        chrome.close()
    return out


if __name__ == "__main__":
    found = find_browser()
    if not found:
        sys.exit("no chromium on PATH")
    top = int(sys.argv[3]) if len(sys.argv) > 3 else None
    result = render(Path(sys.argv[1]), Path(sys.argv[2]), found, height=top)
    print(result)
