"""The three services have one shape: the same folders and module names for the same jobs.

JOBS says, for each job, which module does it in every service; a service that genuinely lacks
the job says so with None. Every module of a service package is a job's module, a module of its
own domain model (any name under domain/), or part of a resource package under entrypoints/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "goals", "progress")
ALL = dict.fromkeys(SERVICES, True)

# job → module path (relative to the package), and which services do it (True) or lack it (None)
JOBS: dict[str, tuple[str, dict[str, bool | None]]] = {
    "settings": ("config.py", ALL),
    "composition root": ("bootstrap.py", ALL),
    "domain errors": ("domain/errors.py", ALL),
    "domain events": ("domain/events.py", {"intake": True, "goals": True, "progress": None}),
    "load, decide, record": ("service_layer/handlers.py", ALL),
    "read side": ("service_layer/queries.py", ALL),
    "inbound events": ("service_layer/projector.py", {**ALL, "intake": None}),
    "rebuild from the topics": ("service_layer/rebuild.py", {**ALL, "intake": None, "goals": None}),
    "roster and matching": ("service_layer/roster.py", {**ALL, "goals": None, "progress": None}),
    "tables and migrations": ("adapters/tables.py", ALL),
    "app factory (the spec)": ("entrypoints/app.py", ALL),
    "worker": ("entrypoints/worker.py", ALL),
    "what blueprints share": ("entrypoints/common.py", ALL),
    "rebuild command": ("entrypoints/rebuild.py", {**ALL, "intake": None, "goals": None}),
    "client schemas": ("entrypoints/client_schemas.py", {**ALL, "goals": None, "progress": None}),
    "external id and cursor index": (
        "adapters/indexes.py",
        {**ALL, "goals": None, "progress": None},
    ),
    "eligibility view": ("adapters/eligibility.py", {**ALL, "intake": None, "progress": None}),
    "plan index": ("adapters/plan.py", {**ALL, "intake": None, "progress": None}),
    "timeline projection SQL": ("adapters/projection.py", {**ALL, "intake": None, "goals": None}),
    "table swap": ("adapters/swap.py", {**ALL, "intake": None, "goals": None}),
    "publications a rebuild prepared": (
        "adapters/staged.py",
        {**ALL, "intake": None, "goals": None},
    ),
    "topic reader": ("adapters/topic_reader.py", {**ALL, "intake": None, "goals": None}),
    "milestone metrics": ("adapters/metrics.py", {**ALL, "intake": None, "goals": None}),
    **{
        f"webhooks: {job}": (module, {**ALL, "intake": None, "goals": None})
        for job, module in (
            ("subscriptions and recording deliveries", "service_layer/webhooks.py"),
            ("sending the due deliveries", "service_layer/webhook_delivery.py"),
            ("tables and SQL", "adapters/webhook_store.py"),
            ("one request, its receiver checked", "adapters/webhook_sender.py"),
            ("metrics", "adapters/webhook_metrics.py"),
            ("the delivery worker process", "entrypoints/webhook_worker.py"),
        )
    },
}
FOLDERS = ("domain", "service_layer", "adapters", "entrypoints")


def package(service: str) -> Path:
    return ROOT / "services" / service / "src" / f"waypoint_{service}"


def modules(service: str) -> set[str]:
    root = package(service)
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if path.name != "__init__.py"
    }


def is_resource_package(module: str, service: str) -> bool:
    """entrypoints/<resource>/… with a blueprint in its resources.py."""
    parts = module.split("/")
    resources = package(service) / "entrypoints" / parts[-2] / "resources.py"
    return len(parts) == 3 and parts[0] == "entrypoints" and resources.exists()


def test_every_service_has_the_same_folders() -> None:
    for service in SERVICES:
        folders = {p.name for p in package(service).iterdir() if (p / "__init__.py").exists()}
        assert folders == set(FOLDERS), service


@pytest.mark.parametrize("service", SERVICES)
def test_each_job_is_done_where_the_table_says(service: str) -> None:
    found = modules(service)
    for job, (module, done_by) in JOBS.items():
        assert (module in found) == bool(done_by[service]), f"{service}: {job} ({module})"


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_is_a_job_the_domain_model_or_a_resource_package(service: str) -> None:
    declared = {module for module, _ in JOBS.values()}
    stray = sorted(
        module
        for module in modules(service)
        if module not in declared
        and not module.startswith("domain/")
        and not is_resource_package(module, service)
    )
    assert stray == [], f"{service}: declare these in JOBS or move them to the module of their job"


def test_the_table_covers_every_service() -> None:
    for job, (_, done_by) in JOBS.items():
        assert set(done_by) == set(SERVICES), job
