"""The published severity bands of the PHQ-9 and GAD-7 as test cases: a total at each edge of
each band and the band it falls into. Intake scores baselines and progress scores sessions by the
same bands, so both services' tests check against these."""

from __future__ import annotations

PHQ9_BANDS: list[tuple[int, str]] = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately severe"),
    (19, "moderately severe"),
    (20, "severe"),
    (24, "severe"),
    (27, "severe"),
]

# The GAD-7 shares the PHQ-9's edges up to moderate; from 15 it is severe, to its maximum 21.
GAD7_BANDS: list[tuple[int, str]] = [*PHQ9_BANDS[:6], (15, "severe"), (21, "severe")]
