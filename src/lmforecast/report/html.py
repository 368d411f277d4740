"""The self-contained HTML report: one file, every script inline, opens with no network.

Vega, Vega-Lite and vega-embed come from vl-convert's bundled JavaScript (no CDN), written once
into the page; each chart's spec sits in one JSON block and is embedded into its own container.
The page records every view in ``window.__views`` and a promise ``window.__ready`` that settles
when all have rendered, so a browser test can wait for the drawing, not guess a delay.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lmforecast.core.paths import data_home
from lmforecast.report.charts import Section, sections
from lmforecast.report.load import ResultFile, check_result
from lmforecast.report.tables import html_table

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.7em;margin-bottom:.2em} h2{margin-top:2.2em;border-bottom:1px solid #ddd}
.headline{font-size:1.08em;margin:.3em 0} .source{color:#777;font-size:.85em}
.top li{margin:.3em 0} figure{margin:1.5em 0} figcaption{color:#444;max-width:760px}
figcaption b{display:block;color:#222;margin-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left} details{margin:.4em 0}
summary{cursor:pointer;color:#245}
"""

EMBED = """
window.__views = [];
(function () {
  const specs = JSON.parse(document.getElementById("lmf-specs").textContent);
  window.__ready = Promise.all(specs.map(function (c) {
    return vegaEmbed("#" + c.id, c.spec, {actions: false, renderer: "svg"})
      .then(function (r) { window.__views.push(r.view); return r.view.runAsync(); });
  }));
})();
"""


@dataclass(frozen=True)
class ReportInfo:
    """What was written: where, how large, how long it took, from which sources."""

    path: Path
    bytes: int
    seconds: float
    charts: int
    sources: tuple[str, ...]
    images: tuple[Path, ...] = ()


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vl-convert's Vega + Vega-Lite + vega-embed bundle (about 0.9 MB), cached on disk per
    vl-convert version: building it takes seconds."""
    import vl_convert as vlc

    version = f"{vlc.get_vega_version()}-{vlc.get_vegalite_versions()[-1]}"
    cache = data_home() / "report" / f"vega-bundle-{version}.js"
    if cache.exists():
        return cache.read_text()
    bundle: str = vlc.javascript_bundle()  # type: ignore[call-arg]  # the stub wants a snippet
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(bundle)
    tmp.replace(cache)
    return bundle


def _script(code: str, kind: str = "", ident: str = "") -> str:
    """An inline script whose text cannot close its own tag early: ``</script`` written as
    ``<\\/script`` (the same text inside a JS or JSON string, where it can only occur)."""
    attrs = (f' type="{kind}"' if kind else "") + (f' id="{ident}"' if ident else "")
    safe = re.sub("</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return f"<script{attrs}>{safe}</script>"


def render_html(parts: Sequence[Section], title: str = "lmforecast report") -> str:
    """The whole page: headlines of every section first, then each section's charts."""
    specs: list[dict[str, object]] = []
    body = [f"<h1>{html.escape(title)}</h1>", '<ul class="top">']
    for s in parts:
        for line in s.headlines[:1]:
            body.append(f"<li><b>{html.escape(s.title)}</b>: {html.escape(line)}</li>")
    body.append("</ul>")
    for s in parts:
        body.append(f'<h2 id="{s.key}">{html.escape(s.title)}</h2>')
        body.append(f'<div class="source">from {html.escape(s.source)}</div>')
        body += [f'<p class="headline">{html.escape(line)}</p>' for line in s.headlines]
        for c in s.charts:
            ident = f"chart-{len(specs)}"
            specs.append({"id": ident, "spec": c.spec})
            body.append(
                f'<figure><div id="{ident}" class="chart"></div><figcaption>'
                f"<b>{html.escape(c.title)}</b>{html.escape(c.caption)}</figcaption></figure>"
            )
        for t in s.tables:
            table = html_table(t.frame)
            if t.full:
                body.append(f"<details><summary>{html.escape(t.title)}</summary>{table}</details>")
            else:
                body.append(f"<h3>{html.escape(t.title)}</h3>{table}")
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
            _script(vega_bundle()),
            "</head><body>",
            *body,
            _script(json.dumps(specs, allow_nan=False), "application/json", "lmf-specs"),
            _script(EMBED),
            "</body></html>",
        ]
    )


def write_report(
    results: Sequence[tuple[str, dict[str, object]]],
    output: Path,
    png_dir: Path | None = None,
) -> ReportInfo:
    """Check each ``(source name, result dict)``, render them to ``output`` (and, with
    ``png_dir``, every chart as PNG and SVG), and say what was written."""
    start = time.perf_counter()
    files = [check_result(data, source) for source, data in results]
    return write_files(files, output, png_dir, start)


def write_files(
    files: Sequence[ResultFile], output: Path, png_dir: Path | None, start: float
) -> ReportInfo:
    parts = sections(files)
    page = render_html(parts)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page)
    images: tuple[Path, ...] = ()
    if png_dir is not None:
        from lmforecast.report.images import write_images

        images = tuple(write_images([c for s in parts for c in s.charts], png_dir))
    return ReportInfo(
        path=output,
        bytes=output.stat().st_size,
        seconds=time.perf_counter() - start,
        charts=sum(len(s.charts) for s in parts),
        sources=tuple(f.source for f in files),
        images=images,
    )
