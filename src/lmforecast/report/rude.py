"""Terminal rendering of RuDE: pairs side by side, and the experiment's headline and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import RenderableType
from rich.text import Text

from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.patel import FULL_TABLES, headline
from lmforecast.report.tables import ci_text
from lmforecast.report.terminal import frame_table
from lmforecast.signals.rude.pairs import Pair

RUDE = "RuDE (likelihood)"


def marked(text: str, spans: Sequence[tuple[int, int]], style: str) -> Text:
    """``text`` with the character ``spans`` highlighted (a changed word, or a gap marker
    where the other side has words this side lacks)."""
    out = Text()
    at = 0
    for start, end in sorted(spans):
        out.append(text[at:start])
        out.append(text[start:end] if end > start else "‸", style=style)
        at = max(at, end)
    out.append(text[at:])
    return out


def pair_renderables(pairs: Sequence[Pair]) -> list[RenderableType]:
    """Each pair: prompt, violated criteria, positive and negative with the changes marked."""
    out: list[RenderableType] = []
    for k, p in enumerate(pairs):
        out.append(
            Text.assemble(
                (f"pair {k + 1} · doc {p.doc_id} · difficulty {p.difficulty} · violates ", "bold"),
                (", ".join(p.violated), "bold red"),
            )
        )
        out.append(Text(p.prompt, style="dim"))
        out.append(
            Text("+ ", style="green")
            + marked(p.positive, [(s[0], s[1]) for s in p.changed_spans], "bold green")
        )
        out.append(
            Text("- ", style="red")
            + marked(p.negative, [(s[2], s[3]) for s in p.changed_spans], "bold red")
        )
    return out


def _frames(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    keys = ("pairs", "signals", "correlations", "breakdown", "upsets", "format_recipes")
    return {k: pd.DataFrame.from_records(result.get(k) or []) for k in keys}


def rude_headline(result: dict[str, Any]) -> list[str]:
    """RuDE against the best baseline, per post-training stage, in words."""
    corr = _frames(result)["correlations"]
    if corr.empty:
        return []
    lines = []
    for target, rows in corr.groupby("target", sort=False):
        by = rows.set_index("signal")
        if RUDE not in by.index:
            continue
        ours = by.loc[RUDE]
        others = by.drop(index=RUDE)
        best = others["spearman"].idxmax() if not others.empty else None
        line = (
            f"after {str(target).upper()}, across {int(ours['models'])} base models: RuDE "
            f"Spearman {ours['spearman']:.2f} [{ours['spearman_ci'][0]:.2f}, "
            f"{ours['spearman_ci'][1]:.2f}], Pearson {ours['pearson']:.2f}"
        )
        if best is not None:
            line += f"; best baseline {best} {others.loc[best, 'spearman']:.2f}"
        lines.append(line)
    cost = _cost_sentence(result)
    return [*lines, cost] if lines and cost else lines


def _cost_sentence(result: dict[str, Any]) -> str | None:
    scores = pd.DataFrame.from_records(result.get("scores") or [])
    if scores.empty or "flops" not in scores or "group" not in scores:
        return None
    rows = scores[scores["group"] == "all"]  # the cost rides on the "all" rows
    pairs = int(sum(r.get("made", 0) for r in result.get("pairs") or []))
    return (
        f"the cost: {pairs} pairs scored by {rows['model_id'].nunique()} base models in "
        f"{rows['flops'].sum():.3g} FLOPs ({rows['seconds'].sum():.0f} s), before any "
        "post-training"
    )


def _correlations_table(corr: pd.DataFrame) -> FitTable:
    """One row per signal and stage: Spearman with its interval first, Pearson after."""
    view = pd.DataFrame(
        {
            "signal": corr["signal"],
            "after": [str(t).upper() for t in corr["target"]],
            "Spearman [95% CI]": [
                ci_text(v, *ci) for v, ci in zip(corr["spearman"], corr["spearman_ci"], strict=True)
            ],
            "Pearson": corr["pearson"],
            "models": corr["models"],
        }
    )
    return fit_frame(
        "RuDE vs accuracy after post-training (95% CI resampling models)",
        view,
        right={"Spearman [95% CI]", "Pearson", "models"},
    )


def rude_renderables(result: dict[str, Any], compact: bool = False) -> list[RenderableType]:
    """Headline, pairs made, correlations, breakdown, upsets and format recipes."""
    frames = _frames(result)
    out: list[RenderableType] = [headline("RuDE", line) for line in rude_headline(result)]
    if not frames["correlations"].empty:
        out.append(_correlations_table(frames["correlations"]))
    if compact:
        return [*out, Text(FULL_TABLES, style="dim")]
    if not frames["pairs"].empty:
        made = frames["pairs"].drop(columns=["reasons"])
        out.append(frame_table("RuDE pairs made (per domain and difficulty |V|)", made))
    if not frames["breakdown"].empty:
        out.append(frame_table("RuDE by 4C category (|V| = 1) and difficulty", frames["breakdown"]))
    if not frames["upsets"].empty:
        out.append(
            frame_table(
                "smaller base model, higher RuDE, better after RL (True: the baseline agreed)",
                frames["upsets"],
            )
        )
    if not frames["format_recipes"].empty:
        out.append(
            frame_table(
                "format recipes: Spearman with post-trained accuracy", frames["format_recipes"]
            )
        )
    out += [Text(f"note: {note}", style="dim") for note in result.get("notes", [])]
    return out
