"""What progress has published of a client's milestones and alerts, and what it must publish next.

The derived stream of a client folds into its published milestones: `milestone_reached` sets a
milestone's time, rule and source; `milestone_withdrawn` removes it. Comparing that with the
timeline derived now gives the publications still owed (docs/progress.md, "Withdrawal"):

- a milestone derived and not published (or withdrawn since): reached;
- a milestone published at another time or from another source event: reached again (moved);
- a milestone published and no longer derived: withdrawn;
- an alert derived and never raised: raised. Alerts are never withdrawn nor moved (ADR 0012).

A published milestone is moved or withdrawn only once the facts hold the event it was published
from: until then they are known to be incomplete (a replay from offset 0 over a full store, a
projection being filled again) and what they derive is no reason to take anything back.

Every publication of a milestone has its own event id, a function of the milestone id and the
publication's position among that milestone's publications (the first is the milestone id
itself, as it always was), so a re-run, a redelivery or a concurrent projector appends each one
once: the store's unique event id refuses the second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from waypoint_progress.domain.ids import name_based
from waypoint_progress.domain.timeline import Entry
from waypoint_progress.domain.values import quick_init

PUBLICATION_NAMESPACE = uuid.UUID("0b6c2f0e-5f59-5d55-8c1f-3a7f7f0f1c11")
REACHED, WITHDRAWN, RAISED = "milestone_reached", "milestone_withdrawn", "alert_raised"


@dataclass(frozen=True)
class Published:
    """A milestone as its last publication left it."""

    time: datetime
    rule: str
    title: str
    source_service: str
    source_event_id: str


@dataclass
class Publications:
    """The fold of a client's derived stream."""

    milestones: dict[str, Published] = field(default_factory=dict)  # reached, not withdrawn
    counts: dict[str, int] = field(default_factory=dict)  # publications per milestone id
    alerts: set[str] = field(default_factory=set)

    def take(self, name: str, data: Mapping[str, Any]) -> None:
        """Fold one derived event (its name and its data) in stream order."""
        if name == RAISED:
            self.alerts.add(str(data["alert_id"]))
            return
        if name not in (REACHED, WITHDRAWN):
            return
        milestone_id = str(data["milestone_id"])
        self.counts[milestone_id] = self.counts.get(milestone_id, 0) + 1
        if name == WITHDRAWN:
            self.milestones.pop(milestone_id, None)
            return
        self.milestones[milestone_id] = Published(
            datetime.fromisoformat(data["reached_at"]),
            data["rule"],
            data["title"],
            data["source_service"],
            str(data["source_event_id"]),
        )

    def net(self) -> dict[str, tuple[datetime, str]]:
        """The milestones published and not withdrawn: `{milestone id: (time, rule)}`."""
        return {m: (p.time, p.rule) for m, p in self.milestones.items()}


def fold(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Publications:
    """A client's publications from the (name, data) of its derived events, in stream order."""
    publications = Publications()
    for name, data in events:
        publications.take(name, data)
    return publications


@quick_init
@dataclass(frozen=True)
class Publication:
    """One derived event owed: the milestone or alert, what to say of it, and its event id."""

    name: str
    entry_id: str
    event_id: str
    entry: Entry | None = None  # reached or raised: the entry as derived now
    withdrawn: Published | None = None  # withdrawn: the milestone as last published


def publication_id(milestone_id: str, position: int) -> str:
    """The event id of a milestone's `position`-th publication (1 = the milestone id)."""
    if position == 1:
        return milestone_id
    return name_based(PUBLICATION_NAMESPACE, f"{milestone_id}:{position}")


def owed(entries: Sequence[Entry], published: Publications) -> list[Publication]:
    """The publications that make what is published agree with the derived entries: reached
    and raised in timeline order, then withdrawn in the order they were published."""
    derived = {e.id: e for e in entries if e.kind == "milestone"}
    known = {e.id for e in entries if e.kind == "event"}
    due = [_raised(e) for e in entries if e.kind == "alert" and e.id not in published.alerts]
    due += [_reached(e, published) for e in derived.values() if _moved(e, published, known)]
    due += [
        _withdrawn(milestone_id, last, published)
        for milestone_id, last in published.milestones.items()
        if milestone_id not in derived and last.source_event_id in known
    ]
    return sorted(due, key=lambda p: p.entry.sort_key if p.entry else "~")


def _moved(entry: Entry, published: Publications, known: set[str]) -> bool:
    """A milestone not published, or published at another time or from another source (one
    whose event is among the facts)."""
    last = published.milestones.get(entry.id)
    if last is None:
        return True
    now = (entry.occurred_at, entry.source.event_id)
    return (last.time, last.source_event_id) != now and last.source_event_id in known


def _position(milestone_id: str, published: Publications) -> int:
    return published.counts.get(milestone_id, 0) + 1


def _raised(entry: Entry) -> Publication:
    return Publication(RAISED, entry.id, entry.id, entry)


def _reached(entry: Entry, published: Publications) -> Publication:
    event_id = publication_id(entry.id, _position(entry.id, published))
    return Publication(REACHED, entry.id, event_id, entry)


def _withdrawn(milestone_id: str, last: Published, published: Publications) -> Publication:
    event_id = publication_id(milestone_id, _position(milestone_id, published))
    return Publication(WITHDRAWN, milestone_id, event_id, withdrawn=last)
