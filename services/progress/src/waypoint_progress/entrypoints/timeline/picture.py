"""The timeline as a picture an integrator can embed: hand-written SVG, every text escaped.

Measure trajectories over time (each as a share of its instrument's maximum, so all four fit one
axis), milestones as green diamonds and alerts as red triangles at their time, each with a title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from waypoint_progress.domain.scoring import MAXIMUM_TOTAL
from waypoint_progress.domain.trajectory import Point

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 860, 360, 60, 150, 40, 40
COLOURS = {"PHQ-9": "#1f77b4", "GAD-7": "#9467bd", "ORS": "#2ca02c", "SRS": "#ff7f0e"}
MARKERS = {
    "milestone": ("#2e8b57", "M0,-7 L7,0 L0,7 L-7,0 Z"),
    "alert": ("#c0392b", "M0,-7 L7,6 L-7,6 Z"),
}


class Scale:
    """Times to x and shares of the maximum to y inside the plot area."""

    def __init__(self, times: Sequence[datetime]):
        start, end = (min(times), max(times)) if times else (datetime.min, datetime.min)
        span = (end - start).total_seconds()
        if span < 60:  # one moment: put it in the middle of two days
            start, span = _day_before(start), 2 * 86400.0
        self.start, self.span = start, span

    def x(self, moment: datetime) -> float:
        share = (moment - self.start).total_seconds() / self.span
        return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)

    @staticmethod
    def y(share: float) -> float:
        return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)


def _day_before(moment: datetime) -> datetime:
    """A day earlier, or the moment itself at the calendar's start (dates already stored may be
    anywhere in it; arithmetic on differences never overflows, arithmetic on moments may)."""
    try:
        return moment - timedelta(days=1)
    except OverflowError:
        return moment


def render(
    client_id: str, trajectories: Mapping[str, Sequence[Point]], entries: Sequence[dict[str, Any]]
) -> str:
    marked = [e for e in entries if e["kind"] in MARKERS]
    times = [p.recorded_at for ps in trajectories.values() for p in ps]
    times += [datetime.fromisoformat(e["occurred_at"]) for e in marked]
    scale = Scale(times)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{escape(f'Progress of client {client_id}')}</title>",
        *_axes(),
        *(_trajectory(name, points, scale) for name, points in trajectories.items() if points),
        *(_marker(entry, scale) for entry in marked),
        *_legend(),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _axes() -> list[str]:
    bottom, top, right = Scale.y(0), Scale.y(1), WIDTH - RIGHT
    return [
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>',
        f'<line class="axis" x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#444"/>',
        f'<text x="{LEFT - 6}" y="{bottom}" text-anchor="end" font-size="11">0%</text>',
        f'<text x="{LEFT - 6}" y="{top + 4}" text-anchor="end" font-size="11">100%</text>',
        f'<text x="{LEFT}" y="{TOP - 16}" font-size="12">Score as a share of its maximum</text>',
    ]


def _trajectory(instrument: str, points: Sequence[Point], scale: Scale) -> str:
    colour = COLOURS[instrument]
    xy = [(scale.x(p.recorded_at), scale.y(p.score / MAXIMUM_TOTAL[instrument])) for p in points]
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}">'
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
    x = scale.x(datetime.fromisoformat(entry["occurred_at"]))
    y = TOP - 6 if entry["kind"] == "milestone" else TOP + 8
    title = escape(f"{entry['title']} ({entry['occurred_at']})")
    return (
        f"<g class={quoteattr(entry['kind'])} data-type={quoteattr(entry['type'])} "
        f"data-id={quoteattr(entry['id'])}>"
        f'<line x1="{x}" y1="{y}" x2="{x}" y2="{Scale.y(0)}" stroke="{colour}" '
        f'stroke-dasharray="2,3" stroke-width="1"/>'
        f'<path d="{shape}" transform="translate({x},{y})" fill="{colour}"/>'
        f"<title>{title}</title></g>"
    )


def _legend() -> list[str]:
    x, rows = WIDTH - RIGHT + 16, [*COLOURS.items(), ("milestone", MARKERS["milestone"][0])]
    rows.append(("alert", MARKERS["alert"][0]))
    return [
        f'<g class="legend"><rect x="{x}" y="{TOP + 18 * i}" width="10" height="10" '
        f'fill="{colour}"/><text x="{x + 16}" y="{TOP + 18 * i + 10}" font-size="12">'
        f"{escape(name)}</text></g>"
        for i, (name, colour) in enumerate(rows)
    ]
