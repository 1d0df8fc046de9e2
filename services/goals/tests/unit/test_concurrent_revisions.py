"""Optimistic concurrency end to end: parallel revisions from the same version, one wins."""

from __future__ import annotations

import threading

from flask import Flask

from .conftest import GoalsApi

N = 8


def test_parallel_revisions_with_the_same_if_match_accept_exactly_one(
    app: Flask, api: GoalsApi, active_goal: str
) -> None:
    start, statuses = threading.Barrier(N), []

    def revise(i: int) -> None:
        http = app.test_client()
        headers = {**api.headers(if_match=2)}
        body = {"reason": f"attempt {i}", "changes": {"title": f"Sleep, version {i}"}}
        start.wait()
        statuses.append(http.patch(active_goal, json=body, headers=headers).status_code)

    threads = [threading.Thread(target=revise, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [412] * (N - 1)
    history = api.get(f"{active_goal}/history").get_json()["items"]
    assert [i["type"] for i in history].count("goal_revised") == 1
    goal = api.get(active_goal).get_json()
    assert goal["version"] == 3
    assert goal["title"].startswith("Sleep, version ")
