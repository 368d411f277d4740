"""Tables that fit the terminal they are printed on, without cutting a word.

Rich squeezes a table wider than the console by cutting cells to "…", so a model or task name
the user must type comes out as ``arc_challenge:…``. A :class:`FitTable` decides its columns
when it is rendered, from the width it is given: the identifying (first) column always shows
whole on one line, columns marked ``wrap`` (descriptions) may wrap, and every other column is
kept whole or left out, the least important first. Left-out columns are named under the
table; the full table is for ``--format json|csv|markdown`` and the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from lmforecast.report.tables import cell

WRAP_MIN = 20  # a wrapping column narrower than this reads as a column of broken words

# Short, explicit headers for the result tables' column names (a name not listed is shown as
# it is, underscores as spaces).
HEADERS = {
    "decision_accuracy": "dec acc",
    "spearman": "Spearman",
    "pearson": "Pearson",
    "ci_low": "CI low",
    "ci_high": "CI high",
    "compute_fraction": "compute",
    "fit_fraction": "fit on",
    "predicted_accuracy": "pred acc",
    "true_accuracy": "true acc",
    "accuracy_error": "acc err",
    "higher_is_better": "higher better",
    "train_r2": "train R²",
    "test_mae": "test MAE",
    "mae": "MAE",
    "rmse": "RMSE",
    "auroc": "AUROC",
    "brier": "Brier",
    "ece": "ECE",
    "flops": "FLOPs",
    "flops_ratio": "FLOPs ratio",
    "seconds": "s",
    "model_id": "model",
}


def header(name: str) -> str:
    """The header shown for a column name.

    >>> header("decision_accuracy"), header("expected_requests")
    ('dec acc', 'expected requests')
    """
    return HEADERS.get(name, name.replace("_", " "))


@dataclass(frozen=True)
class FitTable:
    """A table as text cells, laid out for the width it is rendered at.

    ``priority`` lists column indices from most to least important (default: left to right);
    column 0, the identifying one, is always kept. ``wrap`` holds the columns allowed to wrap.
    """

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    right: frozenset[int] = frozenset()
    wrap: frozenset[int] = frozenset()
    priority: Sequence[int] = ()
    notes: Sequence[str] = field(default_factory=tuple)

    def _natural(self, c: int) -> int:
        return max([cell_len(self.headers[c]), *(cell_len(r[c]) for r in self.rows)])

    def _least(self, c: int) -> int:
        """The narrowest column ``c`` can be: its natural width, or for a wrapping column
        :data:`WRAP_MIN` (a word longer than that, such as a path, folds onto the next line)."""
        natural = self._natural(c)
        return min(natural, WRAP_MIN) if c in self.wrap else natural

    def columns(self, width: int) -> list[int]:
        """The columns shown at ``width``: the most important that fit, in display order.

        Each column costs its width plus 3 (padding and a rule), the table 1 more (its edge).
        """
        keep = list(self.priority or range(len(self.headers)))
        if 0 in keep:
            keep.remove(0)
        keep.insert(0, 0)
        while len(keep) > 1 and sum(self._least(c) + 3 for c in keep) + 1 > width:
            keep.pop()
        return sorted(keep)

    def table(self, width: int) -> Table:
        shown = self.columns(width)
        table = Table(title=None)
        for c in shown:
            fits = c != 0 or self._natural(0) + 4 <= width
            table.add_column(
                self.headers[c],
                justify="right" if c in self.right else "left",
                no_wrap=c not in self.wrap and fits,
                overflow="fold",  # only a name wider than the whole terminal ever folds
                min_width=self._natural(c) if c == 0 and fits else None,
            )
        for row in self.rows:
            table.add_row(*(row[c] for c in shown))
        return table

    def left_out(self, width: int) -> list[str]:
        shown = set(self.columns(width))
        return [h for c, h in enumerate(self.headers) if c not in shown]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.title:
            yield Text(self.title, style="bold")
        yield self.table(width)
        dropped = self.left_out(width)
        notes = [*self.notes]
        if dropped:
            notes.append(f"not shown at this width: {', '.join(dropped)}")
        for note in notes:
            yield Text(note, style="dim")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(options.max_width))


def fit_frame(
    title: str,
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    wrap: Iterable[str] = (),
    priority: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    text: Callable[[Any], str] = cell,
    right: Iterable[str] | None = None,
) -> FitTable:
    """``frame`` as a :class:`FitTable`: its first column identifies a row; ``formats`` per
        column (default: :func:`cell`); ``priority``: the columns to keep first, the others after
        them left to right; ``headers`` overrides :data:`HEADERS`; ``right``: the columns set
    flush right (default: the numeric ones)."""
    names = [str(c) for c in frame.columns]
    fmt = formats or {}
    rows = [
        [fmt.get(n, text)(v) for n, v in zip(names, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    order = [names.index(n) for n in priority if n in names]
    order += [i for i in range(len(names)) if i not in order]
    flush = set(right) if right is not None else {n for n in names if frame[n].dtype.kind in "fiu"}
    return FitTable(
        title=title,
        headers=[(headers or {}).get(n, header(n)) for n in names],
        rows=rows,
        right=frozenset(i for i, n in enumerate(names) if n in flush),
        wrap=frozenset(names.index(n) for n in wrap if n in names),
        priority=order,
        notes=tuple(notes),
    )
