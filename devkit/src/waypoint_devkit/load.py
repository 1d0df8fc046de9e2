"""Load a test sends: one client flooding an address as fast as its answers come."""

from __future__ import annotations

import time

import requests


def flood(target: str, headers: dict[str, str], until: float) -> list[requests.Response]:
    """GET target with headers, one request after another on one session, until `until`
    (time.monotonic()); every answer."""
    answers = []
    with requests.Session() as session:
        while time.monotonic() < until:
            answers.append(session.get(target, headers=headers, timeout=30))
    return answers
