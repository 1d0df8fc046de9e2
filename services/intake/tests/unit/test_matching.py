"""Matching ranks therapists for a client: each rule gives points and a reason, the order is
the total with ties broken by free places then therapist id, and only therapists with room are
candidates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from waypoint_intake.domain import matching
from waypoint_intake.domain.matching import Candidate, Reason, Seeker


def a_therapist(therapist_id: str = "t-1", **changes: Any) -> Candidate:
    plain = Candidate(
        therapist_id=therapist_id,
        name="Dr. Example",
        languages=[],
        modalities=[],
        specialties=[],
        gender=None,
        accepting_clients=True,
        free_places=2,
    )
    return replace(plain, **changes)


def test_speaking_the_clients_preferred_language_earns_the_language_points() -> None:
    reasons = matching.language(Seeker(preferred_language="de"), a_therapist(languages=["DE"]))

    assert reasons == [Reason("language", matching.LANGUAGE_POINTS, "speaks de")]


def test_a_language_asked_for_in_the_cultural_context_counts_too() -> None:
    seeker = Seeker(preferred_language="en", preferences={"language": "tw"})

    reasons = matching.language(seeker, a_therapist(languages=["en", "tw"]))

    assert [r.rule for r in reasons] == ["language", "preferred_language"]


def test_no_shared_language_earns_nothing() -> None:
    assert matching.language(Seeker(preferred_language="de"), a_therapist(languages=["fr"])) == []


def test_offering_the_preferred_modality_earns_the_modality_points() -> None:
    seeker = Seeker(preferences={"modality": "act"})

    assert matching.modality(seeker, a_therapist(modalities=["cbt", "act"]))[0].points == 2
    assert matching.modality(seeker, a_therapist(modalities=["cbt"])) == []


def test_each_specialty_named_in_the_presenting_concerns_is_a_reason() -> None:
    seeker = Seeker(presenting_concerns=["Panic at night", "grief after a loss"])
    therapist = a_therapist(specialties=["grief", "panic", "eating"])

    reasons = matching.specialty(seeker, therapist)

    assert [r.detail.split()[2] for r in reasons] == ["grief", "panic"]
    assert sum(r.points for r in reasons) == 2 * matching.SPECIALTY_POINTS


def test_a_stated_gender_preference_is_honoured_only_when_it_matches() -> None:
    seeker = Seeker(preferences={"gender": "female"})

    assert matching.gender(seeker, a_therapist(gender="Female"))[0].rule == "gender"
    assert matching.gender(seeker, a_therapist(gender="male")) == []
    assert matching.gender(Seeker(), a_therapist(gender="female")) == []


def test_free_places_are_a_reason() -> None:
    assert matching.capacity(Seeker(), a_therapist(free_places=3))[0].detail == "3 free places"


def test_the_ranking_orders_by_score_then_by_therapist_id() -> None:
    seeker = Seeker(preferred_language="de", presenting_concerns=["panic"])
    best = a_therapist("t-9", languages=["de"], specialties=["panic"])
    tied_b, tied_a = a_therapist("t-b", languages=["de"]), a_therapist("t-a", languages=["de"])

    ranked = matching.rank(seeker, [tied_b, best, tied_a])

    assert [m.candidate.therapist_id for m in ranked] == ["t-9", "t-a", "t-b"]
    assert ranked[0].score == sum(r.points for r in ranked[0].reasons)


def test_of_two_equally_good_therapists_the_one_with_more_free_places_comes_first() -> None:
    seeker = Seeker(preferred_language="de")
    busier = a_therapist("t-a", languages=["de"], free_places=1)
    freer = a_therapist("t-b", languages=["de"], free_places=4)

    ranked = matching.rank(seeker, [busier, freer])

    assert [m.candidate.therapist_id for m in ranked] == ["t-b", "t-a"]


def test_the_same_data_always_gives_the_same_ranking() -> None:
    seeker = Seeker(preferred_language="de")
    roster = [a_therapist(f"t-{i}", languages=["de"] if i % 2 else []) for i in range(6)]

    first = matching.rank(seeker, roster)

    assert matching.rank(seeker, list(reversed(roster))) == first


def test_therapists_at_capacity_or_not_accepting_are_not_candidates() -> None:
    roster = [
        a_therapist("t-full", free_places=0),
        a_therapist("t-closed", accepting_clients=False),
        a_therapist("t-open"),
    ]

    assert [m.candidate.therapist_id for m in matching.rank(Seeker(), roster)] == ["t-open"]
