"""gunicorn settings shared by the three web processes.

The bind address comes from the command line (`--bind`); the rest from the environment.
Web processes create no Kafka clients: the worker process publishes (docs/architecture.md §2).

Logs: JSON lines on stdout (waypoint_shared.observability.logs), the access log included.
Metrics: prometheus-client's multiprocess mode, one directory per service under the var dir
(or PROMETHEUS_MULTIPROC_DIR), emptied when gunicorn starts; a dead worker's live gauges go.
Shutdown: on SIGTERM gunicorn stops accepting, lets each worker finish its request within
`graceful_timeout`, then exits; on Ctrl-C (SIGINT) or SIGQUIT each worker leaves at once.
Start: with WAYPOINT_ENV=production and a missing or development secret, gunicorn exits at once
naming the variable (each worker's app factory refuses too, and a worker that fails to boot
makes gunicorn exit).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

# Only the standard library behind it: prometheus-client must not be imported before
# on_starting has set its multiprocess directory.
from waypoint_shared.config import share_metrics_dir, web_server_settings

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

SERVER = web_server_settings()
workers = SERVER.workers
# Threads per worker: a client that sends its request slowly holds one thread, not the worker,
# so a few slow clients cannot stall a service. What a worker keeps per process is thread-safe:
# SQLAlchemy engines and pools, the verified-token LRU cache, the rate limiter (its state is in
# the database), logging context in context variables, SQLite write queues per thread. The
# commands a worker's threads run at one moment share one durable commit
# (waypoint_shared.db.group_commit), so threads are also what fills a batch.
worker_class = "waypoint_shared.http.gunicorn_worker.ProblemWorker"  # gthread, problem+json
threads = SERVER.threads
timeout = SERVER.timeout
graceful_timeout = SERVER.graceful_timeout  # longer than any request may take
keepalive = 5
# Each worker listens on a socket of its own bound with SO_REUSEPORT, and the kernel spreads new
# connections over them (ADR 0018). On the one socket gunicorn otherwise shares, whichever worker
# woke first accepted a client's whole pool of kept-alive connections: under wrk's 16, one worker
# in two runs served everything on one core (a bare Flask app 1,650 requests/s, or 3,600 when the
# connections happened to split, 6,200 with a socket each).
reuse_port = True
# Request lines up to gunicorn's largest bound reach the app (its default refuses one over 4094
# bytes with a bare 414 page): the app answers a parameter over its documented maxLength with
# problem+json naming it, and a query string over web.MAX_QUERY_BYTES with a 400 problem+json.
# Longer lines are still refused by gunicorn before they are held whole (0 would mean no bound
# at all: a line of any size kept in memory), answered 400 problem+json by the worker class.
# Headers keep gunicorn's limits.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
logger_class = "waypoint_shared.observability.logs.GunicornLogger"
loglevel = SERVER.log_level.lower()
# Each worker builds its own app (engines and pools are not shared across fork).
preload_app = False


def on_starting(server: Arbiter) -> None:
    """Before any worker forks: a clean metrics directory, inherited through the environment.

    prometheus-client chooses multiprocess mode when it is first imported, which happens in the
    workers (the app is not preloaded), so the variable must be set here, not later.
    """
    from waypoint_shared.config import SERVICES, UnsafeConfiguration, process_settings
    from waypoint_shared.observability.logs import service_of_app

    service = service_of_app(server.cfg.default_proc_name) or "web"
    if service in SERVICES:
        try:
            process_settings(service)
        except UnsafeConfiguration as error:
            sys.exit(str(error))
    directory = share_metrics_dir(SERVER.var_dir / "metrics" / f"{service}-web")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Arbiter, worker: Worker) -> None:
    """A worker that exited no longer counts in the live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_int(worker: Worker) -> None:
    """Ctrl-C or SIGQUIT is gunicorn's quick shutdown: the worker leaves at once rather than wait,
    at interpreter exit, for request threads that may be blocked (SIGTERM stays graceful). A
    request cut off here was never answered and its transaction never committed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
