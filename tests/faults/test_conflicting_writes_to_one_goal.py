"""Fault 5: many integrators revise the same goal at once, each with the If-Match of the version
it read. The goal's history holds exactly the revisions that were answered 2xx, in version order;
every other writer was told 409 or 412; and the timeline shows each accepted revision once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from waypoint_devkit.faults import Tally, scale, timeline_entries
from waypoint_devkit.waiting import wait_until

from .conftest import Api

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.timeout(180 + 60 * scale())]
ROUNDS, WRITERS = 6 * scale(), 8
THERAPIST = {"role": "therapist", "id": "t-1"}


def proposed_goal(api: Api) -> tuple[str, str]:
    """A client referred at intake, and a goal proposed once goals has heard of the client."""
    client_id = api.refer()
    assert client_id

    def propose() -> Any:
        body = {"title": "Sleep", "modality": "cbt", "priority": "high", "proposed_by": THERAPIST}
        response = api.call("POST", "goals", f"/v1/clients/{client_id}/goals", json=body)
        return response.json()["goal_id"] if response.status_code == 201 else None

    return client_id, wait_until(propose, timeout=30, what="goals to know the client")


def race(api: Api, goal_id: str, round_: int) -> list[tuple[int, int | None, str]]:
    """WRITERS revisions sent at once with the same If-Match: (status, version, title) each."""
    version = api.call("GET", "goals", f"/v1/goals/{goal_id}").json()["version"]

    def revise(writer: int) -> tuple[int, int | None, str]:
        title = f"Sleep, round {round_}, writer {writer}"
        response = api.call(
            "PATCH",
            "goals",
            f"/v1/goals/{goal_id}",
            json={"reason": "Sharper wording", "changes": {"title": title}},
            headers={"If-Match": f'"{version}"'},
        )
        won = response.json().get("version") if response.ok else None
        return response.status_code, won, title

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(revise, range(WRITERS)))


def history(api: Api, goal_id: str) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        query = f"?limit=100&cursor={cursor}" if cursor else "?limit=100"
        page = api.call("GET", "goals", f"/v1/goals/{goal_id}/history{query}").json()
        items += page["items"]
        if not (cursor := page.get("next_cursor")):
            return items


def test_concurrent_revisions_keep_exactly_the_acknowledged_ones_in_version_order(
    suite: Any,
) -> None:
    api, tally = Api(suite), Tally("conflicting writes")
    client_id, goal_id = proposed_goal(api)
    answers = []
    for round_ in range(ROUNDS):
        outcome = race(api, goal_id, round_)
        refused = [status for status, _, _ in outcome if status >= 300]
        tally.fault(in_flight=len(refused) > 0)
        answers += outcome
    accepted = sorted((won, title) for status, won, title in answers if 200 <= status < 300)
    tally.acked = {f"v{won}" for won, _ in accepted}
    revised = [e["version"] for e in history(api, goal_id) if e["type"] == "goal_revised"]
    tally.projected = Counter(f"v{v}" for v in revised)
    wait_until(
        lambda: (
            timeline_entries(suite.var_dir, api.tenant, "goal_revised")[client_id] >= len(accepted)
        ),
        timeout=60,
        what="each accepted revision on the timeline",
    )
    on_timeline = timeline_entries(suite.var_dir, api.tenant, "goal_revised")[client_id]
    tally.report(refused=len(answers) - len(accepted), on_timeline=on_timeline)

    assert {status for status, _, _ in answers} <= {200, 409, 412}
    assert revised == [won for won, _ in accepted]  # in version order, nothing else
    assert on_timeline == len(accepted)
    final = api.call("GET", "goals", f"/v1/goals/{goal_id}").json()
    assert final["title"] == accepted[-1][1]
    tally.assert_sound(at_least=ROUNDS)
