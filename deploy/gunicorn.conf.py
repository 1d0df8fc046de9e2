"""gunicorn settings shared by the three web processes.

The bind address comes from the command line (`--bind`); the rest from the environment.
Web processes create no Kafka clients: the worker process publishes (DESIGN §2).
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# The path without its query string: a query can carry personal data (`?external_id=…`).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'

errorlog = "-"
loglevel = os.environ.get("WAYPOINT_LOG_LEVEL", "info").lower()
# Each worker builds its own app (engines and pools are not shared across fork).
preload_app = False
