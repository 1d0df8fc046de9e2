"""Ranking therapists for a client: each rule is a small pure function giving points and a
reason; the ranking is their sum, ties broken first by free places (caseloads spread out) and
then by therapist id, so the same data always gives the same order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LANGUAGE_POINTS = 3
PREFERENCE_LANGUAGE_POINTS = 2
MODALITY_POINTS = 2
SPECIALTY_POINTS = 2
GENDER_POINTS = 2
CAPACITY_POINTS = 1


@dataclass(frozen=True)
class Seeker:
    """What matching needs to know about the client."""

    preferred_language: str | None = None
    presenting_concerns: list[str] = field(default_factory=list)
    preferences: dict[str, Any] = field(default_factory=dict)  # language, gender, modality, other


@dataclass(frozen=True)
class Candidate:
    therapist_id: str
    name: str
    languages: list[str]
    modalities: list[str]
    specialties: list[str]
    gender: str | None
    accepting_clients: bool
    free_places: int


@dataclass(frozen=True)
class Reason:
    rule: str
    points: int
    detail: str


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: int
    reasons: list[Reason]


Rule = Callable[[Seeker, Candidate], list[Reason]]


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def language(seeker: Seeker, candidate: Candidate) -> list[Reason]:
    """The client's preferred language, then a language asked for in their preferences."""
    reasons = []
    if any(_same(seeker.preferred_language, spoken) for spoken in candidate.languages):
        reasons.append(Reason("language", LANGUAGE_POINTS, f"speaks {seeker.preferred_language}"))
    asked = seeker.preferences.get("language")
    if not _same(asked, seeker.preferred_language) and any(
        _same(asked, spoken) for spoken in candidate.languages
    ):
        reasons.append(Reason("preferred_language", PREFERENCE_LANGUAGE_POINTS, f"speaks {asked}"))
    return reasons


def modality(seeker: Seeker, candidate: Candidate) -> list[Reason]:
    asked = seeker.preferences.get("modality")
    if asked and asked in candidate.modalities:
        return [Reason("modality", MODALITY_POINTS, f"offers {asked}")]
    return []


def specialty(seeker: Seeker, candidate: Candidate) -> list[Reason]:
    """One reason per specialty named in the presenting concerns (or naming one of them)."""
    concerns = [c.casefold() for c in seeker.presenting_concerns]
    return [
        Reason("specialty", SPECIALTY_POINTS, f"specialises in {s} (a presenting concern)")
        for s in sorted(candidate.specialties)
        if any(s.casefold() in c or c in s.casefold() for c in concerns)
    ]


def gender(seeker: Seeker, candidate: Candidate) -> list[Reason]:
    asked = seeker.preferences.get("gender")
    if asked and _same(asked, candidate.gender):
        return [Reason("gender", GENDER_POINTS, f"gender {candidate.gender}, as preferred")]
    return []


def capacity(_seeker: Seeker, candidate: Candidate) -> list[Reason]:
    if candidate.accepting_clients and candidate.free_places > 0:
        return [Reason("capacity", CAPACITY_POINTS, f"{candidate.free_places} free places")]
    return []


RULES: tuple[Rule, ...] = (language, modality, specialty, gender, capacity)


def can_take_on(candidate: Candidate) -> bool:
    return candidate.accepting_clients and candidate.free_places > 0


def _best_first(match: Match) -> tuple[int, int, str]:
    return (-match.score, -match.candidate.free_places, match.candidate.therapist_id)


def rank(seeker: Seeker, candidates: list[Candidate]) -> list[Match]:
    """Therapists who can take the client on, best first; equal scores go to the therapist with
    more free places, then by therapist id."""
    matches = []
    for candidate in filter(can_take_on, candidates):
        reasons = [reason for rule in RULES for reason in rule(seeker, candidate)]
        matches.append(Match(candidate, sum(r.points for r in reasons), reasons))
    return sorted(matches, key=_best_first)
