"""Golden copies of the event catalog: one JSON description per published event type.

The golden files in `catalog/published/` are the contract other services and integrators rely on.
A published version must never change: to change an event, add a new version to the catalog and
an upcaster from the previous one, then record the new version's golden copy with

    python -m waypoint_shared.catalog.golden

`compare_golden()` (run by the unit tests) lists every published version that changed or
disappeared, and every catalog entry that has no golden copy yet.
"""

from __future__ import annotations

import json
from pathlib import Path

from waypoint_shared import catalog

GOLDEN_DIR = Path(__file__).resolve().parent / "published"  # shipped with the package


def render(entry: catalog.EventType) -> str:
    """The golden text of one catalog entry: its description, sorted keys, indent 2."""
    return json.dumps(catalog.describe(entry), sort_keys=True, indent=2) + "\n"


def golden_path(event_type: str, directory: Path = GOLDEN_DIR) -> Path:
    """Where the golden copy of a full type string such as `waypoint.intake.x.v1` lives."""
    return directory / f"{event_type}.json"


def write_golden(directory: Path = GOLDEN_DIR) -> list[Path]:
    """Write the golden copy of every catalog entry; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, entry in sorted(catalog.CATALOG.items()):
        path = golden_path(event_type, directory)
        path.write_text(render(entry), encoding="utf-8")
        written.append(path)
    return written


def compare_golden(directory: Path = GOLDEN_DIR) -> list[str]:
    """The differences between the catalog and its golden copies; empty when compatible."""
    differences = []
    for event_type, entry in sorted(catalog.CATALOG.items()):
        path = golden_path(event_type, directory)
        if not path.exists():
            differences.append(f"{event_type}: no golden copy at {path}")
        elif path.read_text(encoding="utf-8") != render(entry):
            differences.append(
                f"{event_type}: the schema differs from its golden copy at {path}; "
                "a published version must not change: add a new version and an upcaster"
            )
    for path in sorted(directory.glob("*.json")):
        if path.stem not in catalog.CATALOG:
            differences.append(f"{path.stem}: has a golden copy but left the catalog")
    return differences


if __name__ == "__main__":
    for written_path in write_golden():
        print(written_path)
