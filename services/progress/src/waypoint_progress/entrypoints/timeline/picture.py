"""The timeline as a clinical chart an integrator can embed: hand-written SVG, every text escaped.

The x axis is clinical time, labelled with dates: each score sits at its session's date (a
screening at the day it was administered), one line per instrument; milestones (green diamonds)
and alerts (red triangles) sit at their time, each with a title. The y axis is each score as a
share of its instrument's maximum, so all four fit one axis; the PHQ-9 and GAD-7 caseness
thresholds (and the client's ORS cut-off, when ORS was scored) are drawn on that scale.

Date ticks step by days, weeks, months, quarters or years, the finest step whose labels do not
overlap at this width. Positions are computed on day numbers (days since 1 January of year 1), so
dates anywhere in the calendar, years 1 to 9999, never overflow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from waypoint_progress.domain.scoring import MAXIMUM_TOTAL, Thresholds
from waypoint_progress.domain.trajectory import Point

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 860, 400, 60, 150, 50, 80
PLOT_RIGHT, PLOT_WIDTH = WIDTH - RIGHT, WIDTH - LEFT - RIGHT
TICK_FONT, CHAR_WIDTH, LABEL_GAP = 11, 0.62, 8  # label width: characters * size * CHAR_WIDTH
FIRST_DAY, LAST_DAY = 1, date.max.toordinal()
SHORTEST_SPAN = 7.0  # days shown at least, so one session still reads as a date on a calendar
MOST_TICKS = 40
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STEPS = (  # (unit, how many), finest first
    ("day", 1),
    ("day", 2),
    ("day", 7),
    ("day", 14),
    ("month", 1),
    ("month", 3),
    ("month", 6),
    *(("year", n) for n in (1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500)),
)
UNIT_DAYS = {"day": 1.0, "month": 30.44, "year": 365.25}
# Each at least 4.5:1 against white (WCAG 2.1 AA for the labels drawn in it, 3:1 for lines).
COLOURS = {"PHQ-9": "#1f6fb0", "GAD-7": "#7b4fa8", "ORS": "#237a23", "SRS": "#b35400"}
MARKERS = {
    "milestone": ("#1d7044", "M0,-7 L7,0 L0,7 L-7,0 Z"),
    "alert": ("#c0392b", "M0,-7 L7,6 L-7,6 Z"),
}


def day_number(moment: date | datetime) -> float:
    """Days since 0001-01-01 (day 1) of a date, or of a moment in UTC, without date arithmetic."""
    if not isinstance(moment, datetime):
        return float(moment.toordinal())
    offset = moment.utcoffset()
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    seconds -= offset.total_seconds() if offset else 0.0
    return moment.toordinal() + seconds / 86400


class Scale:
    """Dates and moments to x, and shares of the maximum to y, inside the plot area."""

    def __init__(self, times: Sequence[date | datetime], anchor: date | datetime | None = None):
        """`anchor` is where day and week ticks are counted from (the earliest time if None)."""
        days = [day_number(t) for t in times]
        self.empty = not days
        empty_domain = (float(FIRST_DAY), FIRST_DAY + SHORTEST_SPAN)
        self.start, self.end = _domain(days) if days else empty_domain
        first = day_number(anchor) if anchor is not None else min(days, default=FIRST_DAY)
        self.first = math.floor(first)

    def x(self, moment: date | datetime) -> float:
        return self.at(day_number(moment))

    def at(self, day: float) -> float:
        share = (day - self.start) / (self.end - self.start)
        return round(LEFT + share * PLOT_WIDTH, 1)

    @staticmethod
    def y(share: float) -> float:
        return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)


def _domain(days: Sequence[float]) -> tuple[float, float]:
    """The days shown: all given days with a margin, SHORTEST_SPAN at least, within the calendar."""
    low, high = min(days), max(days)
    margin = max((high - low) * 0.04, (SHORTEST_SPAN - (high - low)) / 2, 0.5)
    return max(FIRST_DAY, low - margin), min(LAST_DAY + 1.0, high + margin)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str

    @property
    def width(self) -> float:
        return label_width(self.label, TICK_FONT)


def label_width(text: str, font_size: float) -> float:
    return len(text) * font_size * CHAR_WIDTH


def ticks(scale: Scale) -> list[Tick]:
    """Date ticks of the finest step whose labels fit side by side (none for an empty picture)."""
    if scale.empty:
        return []
    span = scale.end - scale.start
    for unit, count in STEPS:
        if span / (UNIT_DAYS[unit] * count) > MOST_TICKS:
            continue
        found = [Tick(scale.at(d.toordinal()), _label(d, unit)) for d in _dates(scale, unit, count)]
        if len(found) >= 2 and _fits(found):
            return found
    return []


def _fits(found: Sequence[Tick]) -> bool:
    inside = all(t.x - t.width / 2 >= 0 and t.x + t.width / 2 <= WIDTH for t in found)
    apart = all(b.x - a.x >= (a.width + b.width) / 2 + LABEL_GAP for a, b in pairwise(found))
    return inside and apart


def _dates(scale: Scale, unit: str, count: int) -> Iterator[date]:
    first, last = max(FIRST_DAY, math.ceil(scale.start)), min(LAST_DAY, math.floor(scale.end))
    if unit == "day":  # counted from the first score, so weekly sessions fall on ticks
        step = math.ceil((first - scale.first) / count)
        for ordinal in range(scale.first + step * count, last + 1, count):
            yield date.fromordinal(ordinal)
        return
    low, high = date.fromordinal(first), date.fromordinal(last)
    if unit == "year":  # 1 January of every count-th year
        for year in range(max(1, math.ceil(low.year / count) * count), high.year + 1, count):
            if first <= date(year, 1, 1).toordinal():
                yield date(year, 1, 1)
        return
    start = math.ceil((low.year * 12 + low.month - 1) / count) * count  # months 1, 4, 7, 10, ...
    for index in range(start, high.year * 12 + high.month, count):
        year, month = divmod(index, 12)
        if first <= date(year, month + 1, 1).toordinal():
            yield date(year, month + 1, 1)


def _label(day: date, unit: str) -> str:
    if unit == "day":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    if unit == "month":
        return f"{MONTHS[day.month - 1]} {day.year}"
    return str(day.year)


def render(
    client_id: str,
    trajectories: Mapping[str, Sequence[Point]],
    entries: Sequence[dict[str, Any]],
    thresholds: Thresholds | None = None,
    age_group: str | None = None,
    marks: Collection[str] = tuple(MARKERS),
) -> str:
    """The chart of one client's scores, milestones and alerts (thresholds for the age group);
    `marks` names the kinds of entry drawn (the client's view of the embedded page: milestones)."""
    marked = [e for e in entries if e["kind"] in MARKERS and e["kind"] in marks]
    drawn = {name: _by_date(points) for name, points in trajectories.items() if points}
    scores: list[date | datetime] = [_day_of(p) for ps in drawn.values() for p in ps]
    times = scores + [datetime.fromisoformat(e["occurred_at"]) for e in marked]
    scale = Scale(times, min(scores, key=day_number) if scores else None)
    limits = _threshold_lines(thresholds or Thresholds(), age_group, drawn)
    title_id, desc_id = (f"{part}-{_id_safe(client_id)}" for part in ("chart-title", "chart-desc"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(f"Progress of client {client_id}")}</title>',
        f'<desc id="{desc_id}">{escape(describe(drawn, marked, limits, marks))}</desc>',
        *_axes(scale),
        *_thresholds(limits),
        *(_trajectory(name, points, scale) for name, points in drawn.items()),
        *(_marker(entry, scale) for entry in marked),
        *_legend(marks),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _id_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", text)[:64]


def _day_of(point: Point) -> date | datetime:
    """A score's clinical date: its session's date (a screening's day), as stored."""
    try:
        return date.fromisoformat(point.date)
    except ValueError:
        return point.recorded_at


def _by_date(points: Sequence[Point]) -> list[Point]:
    return sorted(points, key=lambda p: day_number(_day_of(p)))


def _long_date(day: date | datetime) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def describe(
    drawn: Mapping[str, Sequence[Point]],
    marked: Sequence[dict[str, Any]],
    limits: Sequence[tuple[str, str, float]],
    marks: Collection[str] = tuple(MARKERS),
) -> str:
    """The chart in words, its text alternative (naming only the kinds of mark drawn)."""
    if not drawn:
        sentences = ["No scores yet."]
    else:
        sentences = [
            f"{name}: {_count(len(points), 'score')}, "
            f"{points[0].score:g} on {_long_date(_day_of(points[0]))}"
            + (
                f" to {points[-1].score:g} on {_long_date(_day_of(points[-1]))}."
                if len(points) > 1
                else "."
            )
            for name, points in drawn.items()
        ]
    sentences.append("Drawn: " + ", ".join(f"{n} {what} {v:g}" for n, what, v in limits) + ".")
    counts = [_count(sum(1 for e in marked if e["kind"] == k), k) for k in MARKERS if k in marks]
    sentences.append(f"Marked: {', '.join(counts)}.")
    return " ".join(sentences)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _axes(scale: Scale) -> list[str]:
    bottom, top = Scale.y(0), Scale.y(1)
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{PLOT_RIGHT}" y2="{bottom}" '
        'stroke="#444"/>',
        f'<line class="axis" x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#444"/>',
        f'<text x="{LEFT - 6}" y="{bottom}" text-anchor="end" font-size="11">0%</text>',
        f'<text x="{LEFT - 6}" y="{top + 4}" text-anchor="end" font-size="11">100%</text>',
        f'<text x="{LEFT}" y="18" font-size="12">Score as a share of its maximum</text>',
        f'<text class="axis-title" x="{LEFT + PLOT_WIDTH / 2}" y="{bottom + 38}" '
        'text-anchor="middle" font-size="12">Date (clinical)</text>',
    ]
    return parts + [_tick(tick, bottom, top) for tick in ticks(scale)]


def _tick(tick: Tick, bottom: float, top: float) -> str:
    return (
        f'<g class="tick"><line x1="{tick.x}" y1="{top}" x2="{tick.x}" y2="{bottom}" '
        f'stroke="#ddd" stroke-width="1"/>'
        f'<line x1="{tick.x}" y1="{bottom}" x2="{tick.x}" y2="{bottom + 5}" stroke="#444"/>'
        f'<text x="{tick.x}" y="{bottom + 18}" text-anchor="middle" font-size="{TICK_FONT}">'
        f"{escape(tick.label)}</text></g>"
    )


def _threshold_lines(
    thresholds: Thresholds, age_group: str | None, drawn: Mapping[str, Sequence[Point]]
) -> list[tuple[str, str, float]]:
    """(instrument, what, score) of each threshold drawn: caseness, and ORS's cut-off if scored."""
    lines = [
        ("PHQ-9", "caseness", float(thresholds.phq9_caseness)),
        ("GAD-7", "caseness", float(thresholds.gad7_caseness)),
    ]
    if "ORS" in drawn:
        lines.append(("ORS", "cut-off", thresholds.ors_cutoff(age_group)))
    return lines


def _thresholds(limits: Sequence[tuple[str, str, float]]) -> list[str]:
    """Dashed lines across the plot, labelled in the right margin (nudged apart to stay legible)."""
    parts, last_label = [], -math.inf
    for name, what, value in sorted(limits, key=lambda t: -t[2] / MAXIMUM_TOTAL[t[0]]):
        y = Scale.y(min(max(value / MAXIMUM_TOTAL[name], 0.0), 1.0))
        last_label = max(y + 4, last_label + 13)
        text = f"{name} {what} {value:g}"
        parts.append(
            f"<g class={quoteattr('threshold')} data-instrument={quoteattr(name)}>"
            f'<line x1="{LEFT}" y1="{y}" x2="{PLOT_RIGHT}" y2="{y}" stroke="{COLOURS[name]}" '
            f'stroke-dasharray="6,4" stroke-width="1"/>'
            f'<text x="{PLOT_RIGHT + 6}" y="{last_label}" font-size="10" fill="{COLOURS[name]}">'
            f"{escape(text)}</text><title>{escape(text)}</title></g>"
        )
    return parts


def _trajectory(instrument: str, points: Sequence[Point], scale: Scale) -> str:
    colour = COLOURS[instrument]
    xy = [(scale.x(_day_of(p)), scale.y(p.score / MAXIMUM_TOTAL[instrument])) for p in points]
    dots = "".join(
        f'<circle class="point" cx="{x}" cy="{y}" r="3.5" fill="{colour}" '
        f"data-date={quoteattr(p.date)}>"
        f"<title>{escape(f'{instrument} {p.score:g} ({p.band}) on {p.date}')}</title></circle>"
        for (x, y), p in zip(xy, points, strict=True)
    )
    line = " ".join(f"{x},{y}" for x, y in xy)
    return (
        f'<g class="trajectory" data-instrument={quoteattr(instrument)}>'
        f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>{dots}</g>'
    )


def _marker(entry: dict[str, Any], scale: Scale) -> str:
    colour, shape = MARKERS[entry["kind"]]
    moment = datetime.fromisoformat(entry["occurred_at"])
    x = scale.x(moment)
    y = TOP - 8 if entry["kind"] == "milestone" else TOP + 8
    title = escape(f"{entry['title']} ({_long_date(moment)})")
    return (
        f"<g class={quoteattr(entry['kind'])} data-type={quoteattr(entry['type'])} "
        f"data-id={quoteattr(entry['id'])}>"
        f'<line x1="{x}" y1="{y}" x2="{x}" y2="{Scale.y(0)}" stroke="{colour}" '
        f'stroke-dasharray="2,3" stroke-width="1"/>'
        f'<path d="{shape}" transform="translate({x},{y})" fill="{colour}"/>'
        f"<title>{title}</title></g>"
    )


def _legend(marks: Collection[str]) -> list[str]:
    kinds = [(kind, colour) for kind, (colour, _) in MARKERS.items() if kind in marks]
    rows = [*COLOURS.items(), *kinds]
    y = HEIGHT - 22
    return [
        f'<g class="legend"><rect x="{LEFT + 100 * i}" y="{y}" width="10" height="10" '
        f'fill="{colour}"/><text x="{LEFT + 100 * i + 16}" y="{y + 10}" font-size="12">'
        f"{escape(name)}</text></g>"
        for i, (name, colour) in enumerate(rows)
    ]
