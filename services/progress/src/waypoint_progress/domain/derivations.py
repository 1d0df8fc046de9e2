"""Timelines derived before, kept so that a client's next events extend them (ADR 0021).

`timeline.derive` folds a client's journey events in source order. A client's events mostly
arrive in that order, so the projector keeps what the fold left for the clients it applied
lately: the journey, the entries and the last event taken. When a batch brings events that all
come after that last one, and none of the client's facts is a correction (a correction changes a
session that came before it), folding only the new events onto what is kept gives what folding
every fact gives. Anything else is derived from every fact, as `timeline.derive` does: an event
entered late, a correction, a client not kept.

What is kept is checked against the facts the caller read in its own transaction. It is used
only when the facts it was folded from are all among them: after a rolled-back batch or an
erasure they are not, and the client is derived again. Facts another process or a rebuild kept
meanwhile are new to it, folded on or derived with the rest by the same rules.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from waypoint_progress.domain import timeline
from waypoint_progress.domain.corrections import CORRECTIONS, in_source_order
from waypoint_progress.domain.journey import Journey
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, is_journey_event, source_order
from waypoint_progress.domain.timeline import Entry

# Clients kept at most: the least recently derived are let go first. A kept client costs about
# what its facts and timeline entries do in memory (a few kB an event).
KEPT_CLIENTS = 1_000
# A client is kept once it has this many facts. A shorter history derives about as fast as it
# would fold on, and keeping a clinic's stream of new clients would only churn the keeping: each
# referral would let another client go.
KEPT_FROM_FACTS = 4


@dataclass
class _Folded:
    """What folding a client's facts left: from which facts, up to which event, for which
    thresholds, and whether later events may be folded onto it."""

    event_ids: frozenset[str]
    last: tuple[Any, ...] | None  # the source order of the last journey event taken
    thresholds: Thresholds
    journey: Journey
    entries: dict[str, Entry]
    extendable: bool  # no correction among its facts


class Derivations:
    """A client's timeline from its facts: folded onto what is kept where that gives the same."""

    def __init__(self, clients: int = KEPT_CLIENTS, from_facts: int = KEPT_FROM_FACTS):
        self.clients, self.from_facts = clients, from_facts
        self._kept: OrderedDict[Hashable, _Folded] = OrderedDict()
        self._lock = threading.Lock()

    def derive(
        self, client: Hashable, facts: Sequence[SourceEvent], thresholds: Thresholds
    ) -> list[Entry]:
        """Every entry of the client's timeline from the set of its facts, in timeline order:
        what `timeline.derive(facts, thresholds)` gives."""
        with self._lock:
            kept = self._kept.pop(client, None)  # taken out: a fold that fails keeps nothing
        folded = None if kept is None else _extended(kept, facts, thresholds)
        if folded is None:
            if len(facts) < self.from_facts:
                return timeline.derive(facts, thresholds)
            folded = _folded(facts, thresholds)
        with self._lock:
            self._kept[client] = folded
            while len(self._kept) > self.clients:
                self._kept.popitem(last=False)
        return timeline.in_timeline_order(folded.entries)

    def forget(self, client: Hashable) -> None:
        with self._lock:
            self._kept.pop(client, None)

    def __len__(self) -> int:
        return len(self._kept)


def _folded(facts: Sequence[SourceEvent], thresholds: Thresholds) -> _Folded:
    """Every fact folded from the start."""
    journey = Journey(thresholds)
    entries: dict[str, Entry] = {}
    ordered = in_source_order(facts)
    timeline.fold(journey, entries, ordered)
    return _Folded(
        frozenset(e.event_id for e in facts),
        _last_taken(ordered),
        thresholds,
        journey,
        entries,
        not any(e.name in CORRECTIONS for e in facts),
    )


def _extended(
    kept: _Folded, facts: Sequence[SourceEvent], thresholds: Thresholds
) -> _Folded | None:
    """The kept fold with the facts new to it folded on, or None where that could differ from
    folding every fact."""
    if not kept.extendable or kept.thresholds is not thresholds:
        return None
    if not kept.event_ids <= {e.event_id for e in facts}:
        return None  # a fact it was folded from is gone (erased, rebuilt, rolled back)
    new = list({e.event_id: e for e in facts if e.event_id not in kept.event_ids}.values())
    if any(e.name in CORRECTIONS for e in new):
        return None
    ordered = sorted(new, key=source_order)
    first = next((source_order(e) for e in ordered if is_journey_event(e)), None)
    if first is not None and kept.last is not None and first <= kept.last:
        return None  # entered late: it comes before what was folded
    timeline.fold(kept.journey, kept.entries, ordered)
    kept.event_ids = kept.event_ids | {e.event_id for e in new}
    kept.last = _last_taken(ordered) or kept.last
    return kept


def _last_taken(ordered: Sequence[SourceEvent]) -> tuple[Any, ...] | None:
    """The source order of the last journey event among events in source order."""
    return next((source_order(e) for e in reversed(ordered) if is_journey_event(e)), None)
