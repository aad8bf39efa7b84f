"""Charts for the auditors' overview as SVG geometry for a template (no JavaScript): stacked bars
per month with the rule set versions on the timeline, and bars for the share of deviating afgørelser."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping, Optional

from engine.wording import KATEGORI_NAVN, MAANEDER, SPOR_NAVN, count, dansk_dato

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 40
MAX_SERIES = 7  # colours f0..f6; the rest are summed as "øvrige" (f7)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Mark:
    x: float
    label: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    """Stacked bars per month; `table` holds the same numbers (rows: month, then one column per series)."""

    id: str
    title: str
    description: str
    width: int
    height: int
    bars: tuple[Rect, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    marks: tuple[Mark, ...]
    legend: tuple[tuple[str, str], ...]  # (css class, label)
    columns: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    base_y: float


def month_label(month: str, short: bool = False) -> str:
    """'2026-11' as 'november 2026' (or 'nov. 26')."""
    name = MAANEDER[int(month[5:7]) - 1]
    return f"{name[:3]}. {month[2:4]}" if short else f"{name} {month[:4]}"


def _series(rows: Iterable[tuple[str, str, int]]) -> tuple[list[str], dict[tuple[str, str], int]]:
    """The series ordered by size (the largest first), at most MAX_SERIES, the rest as 'øvrige'."""
    totals: dict[str, int] = {}
    cells: dict[tuple[str, str], int] = {}
    for month, key, n in rows:
        totals[key] = totals.get(key, 0) + n
        cells[(month, key)] = cells.get((month, key), 0) + n
    ordered = sorted(totals, key=lambda k: (-totals[k], k))
    if len(ordered) > MAX_SERIES:
        rest = set(ordered[MAX_SERIES:])
        for (month, key), n in list(cells.items()):
            if key in rest:
                cells[(month, "øvrige")] = cells.get((month, "øvrige"), 0) + n
                del cells[(month, key)]
        ordered = ordered[:MAX_SERIES] + ["øvrige"]
    return ordered, cells


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return ((value // 10000) + 1) * 10000


def monthly_chart(id: str, title: str, months: list[str], rows: Iterable[tuple[str, str, int]], names: Mapping[str, str],
                  versions: Iterable[Mapping[str, Any]]) -> BarChart:
    """Stacked bars of `rows` (month, series key, count) with a dashed line where a rule set version starts."""
    keys, cells = _series(rows)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(months))
    totals = [sum(cells.get((m, k), 0) for k in keys) for m in months]
    top = _nice_max(max(totals, default=0))
    base: float = TOP + plot_h
    bars: list[Rect] = []
    for i, month in enumerate(months):
        y: float = base
        for j, key in enumerate(keys):
            n = cells.get((month, key), 0)
            if n:
                h = plot_h * n / top
                y -= h
                bars.append(Rect(LEFT + i * slot + slot * 0.15, y, slot * 0.7, h, f"f{min(j, 7) if key != 'øvrige' else 7}",
                                 f"{month_label(month)}, {names.get(key, key)}: {count(n, 'vurdering', 'vurderinger')}"))
    every = max(1, len(months) // 8)
    x_ticks = tuple(Tick(LEFT + i * slot + slot / 2, base + 16, month_label(m, short=True)) for i, m in enumerate(months) if i % every == 0)
    y_ticks = tuple(Tick(LEFT - 6, base - plot_h * v / 4, str(top * v // 4)) for v in range(5))
    marks = []
    for v in versions:
        start = str(v["gyldig_fra"])[:7]
        if months and months[0] < start <= months[-1]:
            i = months.index(start)
            marks.append(Mark(LEFT + i * slot, f"regler fra {dansk_dato(date.fromisoformat(str(v['gyldig_fra'])))}"))
    legend = tuple((f"f{j if k != 'øvrige' else 7}", names.get(k, k)) for j, k in enumerate(keys))
    table = tuple((month_label(m), *(str(cells.get((m, k), 0)) for k in keys), str(totals[i])) for i, m in enumerate(months))
    described = f"{count(sum(totals), 'vurdering', 'vurderinger')} fordelt på {count(len(months), 'måned', 'måneder')}"
    return BarChart(id, title, described, WIDTH, HEIGHT, tuple(bars), x_ticks, y_ticks, tuple(marks), legend,
                    ("Måned", *(names.get(k, k) for k in keys), "I alt"), table, base)


@dataclass(frozen=True)
class ShareRow:
    label: str
    y: float
    w: float  # the deviating share's bar width
    text: str


@dataclass(frozen=True)
class ShareChart:
    id: str
    title: str
    width: int
    height: int
    label_w: int
    bar_w: int
    rows: tuple[ShareRow, ...]
    table: tuple[tuple[str, str, str, str, str], ...]  # label, i alt, afveget, afvist af borgeren, andel


def share_chart(id: str, title: str, items: list[Mapping[str, Any]], names: Mapping[str, str]) -> ShareChart:
    """Horizontal bars: the share of afgørelser that deviate (afveget or afvist af borgeren)."""
    label_w, bar_w, row_h = 240, 330, 30
    rows, table = [], []
    for i, a in enumerate(items):
        label = names.get(a["noegle"], a["noegle"])
        share: Optional[float] = a["andel_afvigelser"]
        deviating = a["afveget"] + a["afvist_af_borger"]
        percent = f"{round(100 * share)} %" if share is not None else "–"
        text = f"{deviating} af {a['i_alt']} ({percent})"
        rows.append(ShareRow(label if len(label) <= 34 else label[:33] + "…", 24 + i * row_h, bar_w * (share or 0), text))
        table.append((label, str(a["i_alt"]), str(a["afveget"]), str(a["afvist_af_borger"]), percent))
    return ShareChart(id, title, label_w + bar_w + 110, 24 + len(items) * row_h + 8, label_w, bar_w, tuple(rows), tuple(table))


def overview_charts(figures: Mapping[str, Any], offer_names: Mapping[str, str]) -> dict[str, Any]:
    """The overview's four charts from service.api.statistik.figures."""
    months = list(figures["maaneder"])
    versions = figures["regelsaet"]
    by_track = [(r["maaned"], r["spor"], r["antal"]) for r in figures["vurderinger"]]
    by_category = [(r["maaned"], r["kategori"], r["antal"]) for r in figures["vurderinger"]]
    return {
        "pr_spor": monthly_chart("pr-spor", "Vurderinger pr. måned efter spor", months, by_track, SPOR_NAVN, versions),
        "pr_kategori": monthly_chart("pr-kategori", "Vurderinger pr. måned efter anbefalet kategori", months, by_category,
                                     KATEGORI_NAVN, versions),
        "afvig_spor": share_chart("afvig-spor", "Andel afgørelser, der afviger fra anbefalingen, pr. spor",
                                  list(figures["afgoerelser_pr_spor"]), SPOR_NAVN),
        "afvig_tilbud": share_chart("afvig-tilbud", "Andel afgørelser, der afviger fra anbefalingen, pr. anbefalet tilbud",
                                    list(figures["afgoerelser_pr_tilbud"]), offer_names),
    }
