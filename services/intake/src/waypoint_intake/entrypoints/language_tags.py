"""The language tags intake accepts, as one pattern that the OpenAPI document states and the
validation applies: a registered primary language subtag, then optionally a registered script and
a registered region, each in its canonical case (`en`, `pt-BR`, `sr-Latn`, `zh-Hant-TW`).

The subtags are those of the IANA language subtag registry as `langcodes` ships it, so the pattern
changes only with that package's data (the golden OpenAPI documents show it)."""

from __future__ import annotations

import re
from itertools import groupby

from langcodes import ALL_SCRIPTS, VALIDITY

LOWER = r"(?:[a-z]|\[[a-z]-[a-z]\])+"  # letters and ranges such as `aa[a-i]`
UPPER_OR_DIGIT = r"(?:[A-Z0-9]|\[[A-Z0-9]-[A-Z0-9]\])+"


def _alternatives() -> list[str]:
    """The registered subtags, as the alternatives of langcodes' validity pattern."""
    return VALIDITY.pattern.removeprefix("^(").removesuffix(")$").split("|")


def _width(alternative: str) -> int:
    return len(re.sub(r"\[.-.\]", "x", alternative))


def _by_first_letter(alternatives: list[str]) -> str:
    """`a(?:a|b[a-j])|b(?:…)`: the same alternatives, shorter written."""
    groups = groupby(sorted(alternatives), key=lambda a: a[0])
    return "|".join(f"{first}(?:{'|'.join(a[1:] for a in group)})" for first, group in groups)


def _pattern() -> str:
    alternatives = _alternatives()
    languages = [a for a in alternatives if re.fullmatch(LOWER, a) and _width(a) in (2, 3)]
    regions = [a for a in alternatives if re.fullmatch(UPPER_OR_DIGIT, a) and _width(a) < 4]
    scripts = sorted(s for s in ALL_SCRIPTS if re.fullmatch(r"[A-Z][a-z]{3}", s))
    return (
        f"^(?:{_by_first_letter(languages)})"
        f"(?:-(?:{'|'.join(scripts)}))?"
        f"(?:-(?:{'|'.join(regions)}))?$"
    )


LANGUAGE_TAG_PATTERN = _pattern()
_LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)


def matches_language_tag(value: str) -> bool:
    """Whether the value matches the documented pattern as ECMA-262 reads it (the regular
    expressions of JSON Schema): `$` is the end of the value, so `"en\\n"` does not match."""
    return _LANGUAGE_TAG.fullmatch(value) is not None
