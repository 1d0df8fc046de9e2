"""The embeddable timeline page: one self-contained HTML document (inline CSS and SVG, no script,
nothing fetched), its Content-Security-Policy, and the words a client reads.

It shows the measure chart in clinical time (the same SVG as `…/timeline.svg`) with a table of
every score as its text alternative, the milestones as sentences a client can read, and the
alerts only in the clinician's view. It holds ids, kinds, titles, times and scores only: never
a personal field.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from waypoint_progress.domain.embed import EmbedGrant
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.trajectory import Point
from waypoint_progress.entrypoints.timeline import picture

_FILES = resources.files(__package__)
STYLE = _FILES.joinpath("timeline.css").read_text(encoding="utf-8")
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
_TEMPLATE = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    _FILES.joinpath("timeline.html").read_text(encoding="utf-8")
)
# What a client reads for each milestone (by rule, domain/rules.py); the rule's title otherwise.
SENTENCES = {
    "journey_started": "You started your journey.",
    "safe_space": "You agreed how your sessions stay safe and private.",
    "matched": "You were matched with your therapist.",
    "intake_complete": "You finished getting started.",
    "first_goal": "You agreed your first goal.",
    "plan_ready": "Your plan is ready.",
    "halfway": "You are halfway there.",
    "goal_achieved": "You achieved a goal.",
    "plan_adapted": "You and your therapist adapted your plan.",
    "first_reflection": "You shared your first reflection.",
    "reliable_improvement_so_far": "Your scores show a real improvement.",
    "below_caseness": "Your mood and anxiety scores are below the clinical range.",
    "strong_alliance": "You and your therapist work well together.",
    "reliable_recovery": "You have recovered, and the change is reliable.",
    "goal_target_met": "You reached a goal's target.",
    "staying_well_plan": "You agreed your staying-well plan.",
}


@dataclass(frozen=True)
class Line:
    """A dated line of the page: a list's item (its text) or a table's row (its cells)."""

    when: str  # ISO date, for <time datetime>
    day: str  # the date in words
    text: str = ""
    cells: tuple[str, ...] = ()


def content_security_policy(frame_ancestors: str) -> str:
    """Nothing may load or run but the page's own stylesheet (by its hash); who may frame it is
    the deployment's choice."""
    return (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'none'; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors}"
    )


def render(
    grant: EmbedGrant,
    trajectories: Mapping[str, Sequence[Point]],
    entries: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    age_group: str | None,
) -> str:
    """The page of one client for the grant's view."""
    shown = grant.shown(entries)
    chart = picture.render(
        grant.client_id,
        trajectories,
        [dict(e) for e in shown],
        thresholds,
        age_group,
        marks=grant.kinds,
    )
    milestones = [e for e in shown if e["kind"] == "milestone"]
    return _TEMPLATE.render(
        clinician=grant.view == "clinician",
        style=Markup(STYLE),  # the package's own stylesheet, hashed in the CSP
        chart=Markup(chart),  # picture.render escapes every text it writes
        summary=_summary(trajectories),
        scores=score_rows(trajectories),
        milestones=milestone_lines(milestones, grant.view == "client"),
        alerts=[_line(e, str(e["title"])) for e in shown if e["kind"] == "alert"],
    )


def score_rows(trajectories: Mapping[str, Sequence[Point]]) -> list[Line]:
    """Every score of every measure (measure, score, band), by date then measure."""
    rows = [
        Line(day.isoformat(), long_date(day), cells=(name, f"{p.score:g}", p.band))
        for name, points in trajectories.items()
        for p in points
        for day in (_day_of(p),)
    ]
    return sorted(rows, key=lambda row: (row.when, row.cells))


def milestone_lines(milestones: Sequence[Mapping[str, Any]], for_client: bool) -> list[Line]:
    """Each milestone as a sentence to its client ("You completed your first step."), or by its
    title for a clinician."""
    steps = 0
    lines = []
    for entry in milestones:
        steps += entry["type"] == "small_win"
        lines.append(_line(entry, sentence(entry, steps) if for_client else str(entry["title"])))
    return lines


def sentence(entry: Mapping[str, Any], steps: int) -> str:
    """A milestone in the client's words; `steps` counts the completed steps so far."""
    kind, title = str(entry["type"]), str(entry["title"])
    if kind == "small_win":
        return "You completed your first step." if steps == 1 else "You completed another step."
    if kind == "sessions":
        return f"You have come to {title.split()[0]} sessions."
    return SENTENCES.get(kind, f"{title}.")


def _line(entry: Mapping[str, Any], text: str) -> Line:
    moment = datetime.fromisoformat(str(entry["occurred_at"]))
    return Line(moment.date().isoformat(), long_date(moment), text)


def _summary(trajectories: Mapping[str, Sequence[Point]]) -> str:
    drawn = [name for name, points in trajectories.items() if points]
    if not drawn:
        return "No scores yet."
    return (
        f"Scores of {', '.join(drawn)} by the date each was taken, each as a share of its "
        "measure's highest score; the table below lists every score."
    )


def _day_of(point: Point) -> date:
    """A score's clinical day: its session's date (a screening's day)."""
    try:
        return date.fromisoformat(point.date)
    except ValueError:
        return point.recorded_at.date()


def long_date(day: date | datetime) -> str:
    return f"{day.day} {picture.MONTHS[day.month - 1]} {day.year}"
