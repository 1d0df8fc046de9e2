"""The picture reads like a clinical chart: scores at their session dates on a dated x axis, one
line per instrument, the caseness thresholds drawn, markers at their time, tick labels that never
overlap at 860 px, and a text alternative. Each worked course is parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask

from waypoint_devkit.apps import bearer, deliver
from waypoint_progress.domain.trajectory import Point
from waypoint_progress.entrypoints.timeline import picture

from ..conftest import START, JourneyEvents

SVG = "{http://www.w3.org/2000/svg}"
FIVE_WEEKLY = [date(2026, 11, 5) + timedelta(weeks=n) for n in range(5)]
ONE_WEEK = [date(2026, 11, 5) + timedelta(days=n) for n in (0, 2, 4, 7)]
TWO_YEARS = [date(2024, 12, 2) + timedelta(days=91 * n) for n in range(9)]
ONE = [date(2026, 12, 3)]
EDGES = [date(1, 1, 1), date(9999, 12, 31)]
COURSES = {
    "a one-week course": ONE_WEEK,
    "five weekly sessions": FIVE_WEEKLY,
    "a two-year course": TWO_YEARS,
    "one session": ONE,
    "no session": [],
    "year 1 and year 9999": EDGES,
    "year 1 alone": [date(1, 1, 1)],
    "year 9999 alone": [date(9999, 12, 31)],
}
# What a reader needs to tell the labels apart: an estimate of their width from the font size
# and the number of characters (0.6 em a character, about a sans-serif digit), and a little space.
CHARACTER_EM, SPACE = 0.6, 2.0


def point(day: date, score: float, recorded: datetime) -> Point:
    return Point(
        "session",
        "e",
        "s",
        day.isoformat(),
        recorded,
        score,
        "x",
        15.0,
        0.0,
        None,
        False,
        False,
        False,
    )


def course(days: Sequence[date]) -> dict[str, list[Point]]:
    """PHQ-9 and GAD-7 scored at each session, every session recorded in the same second."""
    posted = datetime(2026, 12, 4, 10, tzinfo=UTC)
    return {
        "PHQ-9": [point(d, 15 - n, posted) for n, d in enumerate(days)],
        "GAD-7": [point(d, 12 - n, posted) for n, d in enumerate(days)],
    }


def milestone(day: date, kind: str = "milestone") -> dict[str, Any]:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return {
        "id": "m",
        "kind": kind,
        "type": "t",
        "title": "Reached",
        "occurred_at": moment.isoformat(),
    }


def drawn(days: Sequence[date], entries: Sequence[dict[str, Any]] = ()) -> ET.Element:
    return ET.fromstring(picture.render("c-1", course(days), list(entries)))


def tick_labels(root: ET.Element) -> list[tuple[float, str, float]]:
    """(x, label, font size) of each date tick, left to right."""
    found = [
        (float(t.get("x", "")), t.text or "", float(t.get("font-size", "")))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "tick"
        for t in g.iter(f"{SVG}text")
    ]
    return sorted(found)


def session_xs(root: ET.Element, instrument: str) -> list[tuple[str, float]]:
    [line] = [
        g
        for g in root.iter(f"{SVG}g")
        if g.get("data-instrument") == instrument and g.get("class") == "trajectory"
    ]
    return [(c.get("data-date", ""), float(c.get("cx", ""))) for c in line.iter(f"{SVG}circle")]


@pytest.mark.parametrize(
    "days",
    [ONE_WEEK, FIVE_WEEKLY, TWO_YEARS, EDGES],
    ids=["one week", "weekly", "two years", "edges"],
)
def test_session_points_lie_at_their_dates_x_increasing_strictly_with_date(
    days: list[date],
) -> None:
    root = drawn(list(reversed(days)))  # posted latest first, in the same second

    for instrument in ("PHQ-9", "GAD-7"):
        points = session_xs(root, instrument)
        assert [d for d, _ in points] == [d.isoformat() for d in days]
        xs = [x for _, x in points]
        assert all(a < b for a, b in pairwise(xs))


@pytest.mark.parametrize("days", COURSES.values(), ids=COURSES.keys())
def test_date_tick_labels_never_overlap_at_860_px(days: list[date]) -> None:
    root = drawn(days, [milestone(days[0])] if days else [])
    assert root.get("width") == "860"

    labels = tick_labels(root)
    widths = [len(text) * size * CHARACTER_EM for _, text, size in labels]
    for (x, _, _), width in zip(labels, widths, strict=True):
        assert x - width / 2 >= 0 and x + width / 2 <= 860
    for ((a, _, _), wa), ((b, _, _), wb) in pairwise(zip(labels, widths, strict=True)):
        assert b - a >= (wa + wb) / 2 + SPACE


@pytest.mark.parametrize(
    ("days", "shown"),
    [
        (ONE_WEEK, ["5 Nov 2026", "7 Nov 2026", "9 Nov 2026", "11 Nov 2026"]),
        (FIVE_WEEKLY, ["5 Nov 2026", "12 Nov 2026", "19 Nov 2026", "26 Nov 2026", "3 Dec 2026"]),
        (TWO_YEARS, ["Jan 2025", "Apr 2025", "Jul 2025", "Oct 2025", "Jan 2026", "Oct 2026"]),
        (ONE, ["3 Dec 2026"]),
        (EDGES, ["2000", "5000"]),
    ],
    ids=["one week", "weekly", "two years", "one", "edges"],
)
def test_the_axis_shows_the_dates(days: list[date], shown: list[str]) -> None:
    labels = [text for _, text, _ in tick_labels(drawn(days))]

    assert len(labels) >= 2
    assert set(shown) <= set(labels)


def test_tick_labels_lie_under_their_dates() -> None:
    root = drawn(FIVE_WEEKLY)
    ticks = {text: x for x, text, _ in tick_labels(root)}

    assert [ticks[f"{d.day} Nov 2026"] for d in FIVE_WEEKLY[:4]] == [
        x for _, x in session_xs(root, "PHQ-9")[:4]
    ]


def test_a_picture_without_scores_or_markers_draws_empty_axes_and_says_so() -> None:
    root = drawn([])

    assert tick_labels(root) == []
    assert not [g for g in root.iter(f"{SVG}g") if g.get("class") == "trajectory"]
    assert "No scores yet." in (root.findtext(f"{SVG}desc") or "")


def test_the_caseness_thresholds_are_drawn_on_the_share_of_maximum_scale() -> None:
    root = drawn(FIVE_WEEKLY)
    lines = {
        g.get("data-instrument"): g for g in root.iter(f"{SVG}g") if g.get("class") == "threshold"
    }

    assert set(lines) == {"PHQ-9", "GAD-7"}
    for instrument, caseness, maximum in (("PHQ-9", 10, 27), ("GAD-7", 8, 21)):
        line = lines[instrument].find(f"{SVG}line")
        assert line is not None
        assert float(line.get("y1", "")) == picture.Scale.y(caseness / maximum)
        assert f"{instrument} caseness {caseness}" in (
            lines[instrument].findtext(f"{SVG}text") or ""
        )


@pytest.mark.parametrize(("age_group", "cutoff"), [("child", "32"), (None, "25")])
def test_the_ors_cut_off_of_the_clients_age_group_is_drawn_when_ors_was_scored(
    age_group: str | None, cutoff: str
) -> None:
    scores = {"ORS": course(FIVE_WEEKLY)["PHQ-9"]}

    svg = picture.render("c-1", scores, [], age_group=age_group)

    [ors] = [
        g
        for g in ET.fromstring(svg).iter(f"{SVG}g")
        if g.get("class") == "threshold" and g.get("data-instrument") == "ORS"
    ]
    assert ors.findtext(f"{SVG}title") == f"ORS cut-off {cutoff}"


def test_markers_sit_at_their_time_with_a_dated_title() -> None:
    entries = [milestone(FIVE_WEEKLY[2]), milestone(FIVE_WEEKLY[4], "alert")]
    root = drawn(FIVE_WEEKLY, entries)
    xs = dict(session_xs(root, "PHQ-9"))

    for kind, day in (("milestone", FIVE_WEEKLY[2]), ("alert", FIVE_WEEKLY[4])):
        [marker] = [g for g in root.iter(f"{SVG}g") if g.get("class") == kind]
        line = marker.find(f"{SVG}line")
        assert line is not None and float(line.get("x1", "")) == xs[day.isoformat()]
        assert marker.findtext(f"{SVG}title") == f"Reached ({day.day} {day:%b} {day.year})"


@pytest.mark.parametrize("days", COURSES.values(), ids=COURSES.keys())
def test_the_picture_has_a_text_alternative(days: list[date]) -> None:
    root = drawn(days)

    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert (title.text or "").startswith("Progress of client c-1")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    if days:
        first = days[0]
        assert f"PHQ-9: {len(days)} score" in (desc.text or "")
        assert f"15 on {first.day} {first:%b} {first.year}" in (desc.text or "")


def test_the_years_1_and_9999_in_markers_alone_are_drawn() -> None:
    entries = [milestone(date(1, 1, 1)), milestone(date(9999, 12, 31), "alert")]

    root = ET.fromstring(picture.render("c-1", {}, entries))

    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") in ("milestone", "alert")]) == 2


def test_five_weekly_sessions_posted_in_one_go_are_drawn_at_their_dates_over_http(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    events = journey().later((FIVE_WEEKLY[0] - START.date()).days - 2)  # referred on 3 Nov
    referral = events.referral()
    sessions = [
        events.session(date=d.isoformat(), PHQ9=[2, 2, 2, 2, 2, 2, 1, 1, 0][: 9 - n] + [0] * n)
        for n, d in enumerate(FIVE_WEEKLY)
    ]
    deliver(app, app.extensions["waypoint"].projector.handle, referral, *sessions[::-1])

    response = app.test_client().get(
        f"/v1/clients/{events.client_id}/timeline.svg", headers=bearer()
    )

    assert response.status_code == 200
    root = ET.fromstring(response.get_data())
    points = session_xs(root, "PHQ-9")
    assert [d for d, _ in points] == [d.isoformat() for d in FIVE_WEEKLY]
    assert all(a < b for (_, a), (_, b) in pairwise(points))
    assert {f"{d.day} {d:%b} {d.year}" for d in FIVE_WEEKLY} <= {t for _, t, _ in tick_labels(root)}
