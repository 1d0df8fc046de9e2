"""One service, declared once: a `ServiceSpec` each service fills in (entrypoints/app.py and
entrypoints/worker.py), and the web app and worker process every service runs from it.

The settings are read from the environment in one place, the service's `config.settings()`,
which a spec names as its `settings` loader; everything here takes a `Settings` object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import click
from flask import Flask
from flask_smorest import Blueprint
from sqlalchemy import Engine

from waypoint_shared.config import Settings
from waypoint_shared.eventstore.store import EventStore
from waypoint_shared.http.audit import install_read_audit
from waypoint_shared.http.erasure import ClientErased, gone, install_erasure_guard
from waypoint_shared.http.problems import ErrorMapping, install_error_mappings
from waypoint_shared.http.web import CONTAINER, create_base_app
from waypoint_shared.messaging.consumer import Handle, HandleBatch
from waypoint_shared.messaging.trust import KnownClient
from waypoint_shared.messaging.worker import Loop, Worker
from waypoint_shared.runtime import configure_logging, consumer_loop, lag_loop, relay_loop


class Wired(Protocol):
    """What every service's container holds, whatever else it wires."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def store(self) -> EventStore: ...


C = TypeVar("C", bound=Wired)


@dataclass(frozen=True)
class Listening(Generic[C]):
    """The events a service consumes: whose topics, and its consumer's handlers, taken from the
    container (a batch handler is optional; `known_client` is the trust check's look-up)."""

    services: tuple[str, ...]
    handle: Callable[[C], Handle]
    known_client: Callable[[C], KnownClient]
    handle_batch: Callable[[C], HandleBatch | None] = lambda _container: None


@dataclass(frozen=True)
class ServiceSpec(Generic[C]):
    """A service as the shared web app and worker need it."""

    name: str
    title: str  # the OpenAPI title
    settings: Callable[[], Settings]  # the loader that reads the environment
    bootstrap: Callable[[Settings], C]  # the composition root: migrations run, dependencies wired
    blueprints: Sequence[Blueprint] = ()
    errors: Sequence[ErrorMapping[Any]] = ()  # each domain exception and its problem+json
    listens: Listening[C] | None = None  # None: the service consumes no topic
    commands: Sequence[click.Command] = ()  # `flask` CLI commands


def create_app(spec: ServiceSpec[Any], settings: Settings | None = None) -> Flask:
    """The service's web app; with no settings, they are loaded from the environment."""
    container = spec.bootstrap(settings or spec.settings())
    app = create_base_app(container.settings, container.engine, spec.blueprints, spec.title)
    app.extensions[CONTAINER] = container
    install_erasure_guard(app, container.engine)
    install_read_audit(app, container.engine)
    app.register_error_handler(ClientErased, gone)
    install_error_mappings(app, spec.errors)
    for command in spec.commands:
        app.cli.add_command(command)
    return app


def worker_loops(spec: ServiceSpec[C], container: C) -> list[Loop]:
    """The outbox relay, and where the service listens its consumer and the consumer's lag."""
    settings, engine = container.settings, container.engine
    loops = [relay_loop(settings, engine, container.store)]
    if spec.listens is not None:
        listens = spec.listens
        topics = [settings.topic_of(service) for service in listens.services]
        consumer = consumer_loop(
            settings,
            engine,
            topics,
            listens.handle(container),
            handle_batch=listens.handle_batch(container),
            known_client=listens.known_client(container),
        )
        loops += [consumer, lag_loop(settings, engine, topics)]
    return loops


def run_worker(spec: ServiceSpec[Any], settings: Settings | None = None) -> None:
    """The worker process: its loops in threads and a health/metrics listener, until stopped."""
    settings = settings or spec.settings()
    configure_logging(spec.name, "worker", settings.log_level)
    container = spec.bootstrap(settings)
    loops = worker_loops(spec, container)
    Worker(container.engine, loops, settings.worker_port, settings.worker_host).serve_forever()
