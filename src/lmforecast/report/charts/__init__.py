"""The HTML report's sections: one module per experiment, each turning a result's JSON into
headline sentences, captioned Vega-Lite charts and tables (see :mod:`.common`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lmforecast.report.charts.common import Chart, Section, TableView
from lmforecast.report.charts.patel import patel_section
from lmforecast.report.charts.probes import probes_section
from lmforecast.report.charts.rbridge import rbridge_section
from lmforecast.report.charts.rude import rude_section
from lmforecast.report.load import ResultFile

__all__ = ["BUILDERS", "Chart", "Section", "TableView", "sections"]

BUILDERS: dict[str, Callable[[str, Mapping[str, Any]], Section]] = {
    "patel": patel_section,
    "rbridge": rbridge_section,
    "rude": rude_section,
    "probes": probes_section,
}


def sections(results: Sequence[ResultFile]) -> list[Section]:
    """One section per result, in the order given (each names its source)."""
    return [BUILDERS[r.experiment](r.source, r.data) for r in results]
