"""Configuration read once from prefixed environment variables: the one module of the suite
that reads the process environment (tests/architecture/test_code_shape.py checks it).

`WAYPOINT_ENV` is `development` or `production` (the default, so a forgotten variable fails
safe). The development values below are published in this repository: a production process
refuses to start with them, or without its own secrets (`check_production`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SERVICES = ("intake", "goals", "progress")
# The other services whose FHIR bases a service's answers refer to: every Patient is intake's, and
# a goal met names progress's Observation of the session's score.
REFERRED_BASES = {"intake": (), "goals": ("intake", "progress"), "progress": ("intake",)}
WEB_PORTS = {"intake": 8001, "goals": 8002, "progress": 8003}
WORKER_PORTS = {"intake": 8101, "goals": 8102, "progress": 8103}
DEVELOPMENT_SECRET = "waypoint-development-secret-change-me-0123456789"
DEVELOPMENT_MASTER_KEY = "d2F5cG9pbnQtZGV2ZWxvcG1lbnQtbWFzdGVyLWtleSE="  # 32 bytes, base64
DEVELOPMENT, PRODUCTION = "development", "production"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION)
MIN_SECRET_BYTES = 32  # HS256 wants a key at least as long as its hash (RFC 7518 §3.2)


class UnsafeConfiguration(Exception):
    """A process may not start with this configuration; the message names the variable."""


def topic_of(service: str, prefix: str = "") -> str:
    """The event topic a service publishes to."""
    return f"{prefix}waypoint.{service}.events"


def dead_letter_topic_of(service: str, prefix: str = "") -> str:
    """The dead-letter topic of a listening service."""
    return f"{prefix}waypoint.{service}.dlq"


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    partitions: int = 3
    replication_factor: int = 1
    # Replicas that must have a write before the broker acknowledges it to an `acks=all` producer.
    min_insync_replicas: int = 1
    # Empty in production; tests and side-by-side environments on one broker set their own.
    topic_prefix: str = ""

    def client_options(self) -> dict[str, object]:
        """Connection options for every kafka-python client (TLS/SASL from configuration)."""
        options: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        return options


# Records a consumer takes per poll at most (`WAYPOINT_CONSUMER_BATCH`): each batch is one
# transaction with one commit (one fsync), and one statement per table however many records it
# holds, so a backlog is applied in few.
BATCH_RECORDS = 1000


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    kafka: KafkaSettings
    jwt_secret: str | None
    jwt_public_key: str | None
    # One base64 key, or during a rotation "NEW,OLD": wrap with the first, unwrap with any.
    master_key: str
    web_port: int
    worker_port: int
    max_body_bytes: int = 64 * 1024
    rate_limit: float = (
        100.0  # requests per second per bearer token (waypoint_shared.http.ratelimit)
    )
    worker_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so the health port can be published
    idempotency_ttl_hours: float = 24.0  # how long a stored idempotent reply is honoured
    environment: str = PRODUCTION
    # Where callers reach this service (scheme://host[:port], no trailing slash): absolute links
    # are built from it, never from the request's Host header.
    public_url: str = ""
    # Every service's public base URL as configured (`<SERVICE>_PUBLIC_URL`, only those set): a
    # FHIR reference to another base is built from it (a Patient always points at intake's).
    public_urls: Mapping[str, str] = field(default_factory=dict)
    # Every service's web port (`<SERVICE>_WEB_PORT`): the development default of its public URL.
    web_ports: Mapping[str, int] = field(default_factory=lambda: dict(WEB_PORTS))
    log_level: str = "INFO"
    # prometheus-client's multiprocess directory, set for web processes by the gunicorn settings
    metrics_dir: str | None = None
    consumer_batch: int = BATCH_RECORDS
    extra: Mapping[str, str] = field(default_factory=dict)

    def topic_of(self, service: str) -> str:
        return topic_of(service, self.kafka.topic_prefix)

    @property
    def topic(self) -> str:
        return self.topic_of(self.service)

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic_of(self.service, self.kafka.topic_prefix)

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka.topic_prefix}waypoint-{self.service}"

    def public_url_of(self, service: str) -> str:
        """Where callers reach a service: its `<SERVICE>_PUBLIC_URL`, else the development
        default on its web port (this service's own as `public_url`)."""
        if service == self.service:
            return self.public_url
        return _public_url(self.public_urls.get(service), self.web_ports[service])

    @property
    def patient_base(self) -> str:
        """The base URL of the service that serves Patient (intake): `INTAKE_PUBLIC_URL`."""
        return self.public_url_of("intake")


def shared_kafka_settings(env: Mapping[str, str] | None = None) -> KafkaSettings:
    """Kafka settings of no service in particular (creating topics and ACLs, operators' tools):
    the credentials of `KAFKA_SASL_USERNAME`/`_PASSWORD`, never a service's own."""
    return _kafka_from(os.environ if env is None else env, None)


def _kafka_from(env: Mapping[str, str], service: str | None) -> KafkaSettings:
    """Kafka settings; a service's own `<SERVICE>_KAFKA_SASL_USERNAME`/`_PASSWORD` win over the
    shared `KAFKA_SASL_*`, so processes started from one environment keep their own principal."""
    return KafkaSettings(
        bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        security_protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
        sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
        sasl_username=_sasl(env, service, "USERNAME"),
        sasl_password=_sasl(env, service, "PASSWORD"),
        ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
        partitions=int(env.get("WAYPOINT_TOPIC_PARTITIONS", "3")),
        replication_factor=int(env.get("WAYPOINT_TOPIC_REPLICATION_FACTOR", "1")),
        min_insync_replicas=int(env.get("WAYPOINT_TOPIC_MIN_INSYNC_REPLICAS", "1")),
        topic_prefix=env.get("WAYPOINT_TOPIC_PREFIX", ""),
    )


def _sasl(env: Mapping[str, str], service: str | None, what: str) -> str | None:
    own = env.get(f"{service.upper()}_KAFKA_SASL_{what}") if service else None
    return own or env.get(f"KAFKA_SASL_{what}") or None


def default_database_url(service: str, env: Mapping[str, str]) -> str:
    var_dir = Path(env.get("WAYPOINT_VAR_DIR", "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var_dir / f'{service}.db').resolve()}"


def environment_of(env: Mapping[str, str]) -> str:
    """`WAYPOINT_ENV`: production unless it says development."""
    value = env.get("WAYPOINT_ENV", "").strip().lower() or PRODUCTION
    if value not in ENVIRONMENTS:
        raise UnsafeConfiguration(f"WAYPOINT_ENV must be one of {', '.join(ENVIRONMENTS)}.")
    return value


def load_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """Read a service's settings from the environment (or a given mapping).

    Unset secrets fall back to the development values whatever the environment; a process that
    starts checks them with `check_production` (see `process_settings`)."""
    env = os.environ if env is None else env
    prefix = service.upper()
    secret = env.get("WAYPOINT_JWT_SECRET")
    public_key = env.get("WAYPOINT_JWT_PUBLIC_KEY")
    web_port = int(env.get(f"{prefix}_WEB_PORT", WEB_PORTS[service]))
    return Settings(
        service=service,
        database_url=env.get(f"{prefix}_DATABASE_URL") or default_database_url(service, env),
        kafka=_kafka_from(env, service),
        jwt_secret=secret if secret or public_key else DEVELOPMENT_SECRET,
        jwt_public_key=public_key,
        master_key=env.get(f"{prefix}_MASTER_KEY")
        or env.get("WAYPOINT_MASTER_KEY")
        or DEVELOPMENT_MASTER_KEY,
        web_port=web_port,
        worker_port=int(env.get(f"{prefix}_WORKER_PORT", WORKER_PORTS[service])),
        max_body_bytes=int(env.get("WAYPOINT_MAX_BODY_BYTES", 64 * 1024)),
        rate_limit=float(env.get("WAYPOINT_RATE_LIMIT", "100")),
        worker_host=env.get("WAYPOINT_WORKER_HOST", "127.0.0.1"),
        idempotency_ttl_hours=float(env.get("WAYPOINT_IDEMPOTENCY_TTL_HOURS", "24")),
        environment=environment_of(env),
        public_url=_public_url(env.get(f"{prefix}_PUBLIC_URL"), web_port),
        public_urls={s: v for s in SERVICES if (v := env.get(f"{s.upper()}_PUBLIC_URL", ""))},
        web_ports={s: int(env.get(f"{s.upper()}_WEB_PORT", WEB_PORTS[s])) for s in SERVICES},
        log_level=log_level(env),
        metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        consumer_batch=int(env.get("WAYPOINT_CONSUMER_BATCH", BATCH_RECORDS)),
        extra={k: v for k, v in env.items() if k.startswith(f"{prefix}_")},
    )


def log_level(env: Mapping[str, str] | None = None) -> str:
    """`WAYPOINT_LOG_LEVEL`, INFO by default."""
    return (os.environ if env is None else env).get("WAYPOINT_LOG_LEVEL", "INFO").upper()


@dataclass(frozen=True)
class WebServerSettings:
    """What the gunicorn settings of every web process take from the environment."""

    workers: int
    threads: int
    timeout: int
    graceful_timeout: int
    log_level: str
    var_dir: Path


def web_server_settings(env: Mapping[str, str] | None = None) -> WebServerSettings:
    env = os.environ if env is None else env
    timeout = int(env.get("GUNICORN_TIMEOUT", "30"))
    return WebServerSettings(
        workers=int(env.get("WEB_CONCURRENCY", "2")),
        threads=int(env.get("WEB_THREADS", "8")),
        timeout=timeout,
        # Longer than any request may take (`timeout`), so SIGTERM never cuts one off.
        graceful_timeout=int(env.get("GUNICORN_GRACEFUL_TIMEOUT", str(timeout + 5))),
        log_level=log_level(env),
        var_dir=Path(env.get("WAYPOINT_VAR_DIR", "var")),
    )


def share_metrics_dir(default: Path) -> Path:
    """The web processes' metrics directory: PROMETHEUS_MULTIPROC_DIR, set to `default` when
    unset, so the workers gunicorn forks inherit it (prometheus-client reads it at import)."""
    return Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default.resolve())))


def minting_secret_and_environment(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """For the token tools: `WAYPOINT_JWT_SECRET` (else the development secret) and the
    environment, which decides whether that secret may be used."""
    env = os.environ if env is None else env
    return env.get("WAYPOINT_JWT_SECRET") or DEVELOPMENT_SECRET, environment_of(env)


def admin_token(env: Mapping[str, str] | None = None) -> str | None:
    """`WAYPOINT_ADMIN_TOKEN`: the bearer token operators' tools call the services with."""
    return (os.environ if env is None else env).get("WAYPOINT_ADMIN_TOKEN") or None


def kafka_principals(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each service's SASL user: <SERVICE>_KAFKA_SASL_USERNAME, else the service's name."""
    env = os.environ if env is None else env
    return {s: env.get(f"{s.upper()}_KAFKA_SASL_USERNAME") or s for s in SERVICES}


def _public_url(given: str | None, web_port: int) -> str:
    return (given or f"http://127.0.0.1:{web_port}").strip().rstrip("/")


def process_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """The settings of a web or worker process about to start: refused if unsafe."""
    settings = load_settings(service, env)
    check_production(settings)
    return settings


def check_production(settings: Settings) -> None:
    """In production, refuse development values, weak or missing secrets, and a missing public
    URL, of this service or of one its FHIR answers refer to (intake's for a Patient); each
    refusal names the variable to set. In development, accept everything."""
    if settings.environment != PRODUCTION:
        return
    prefix = settings.service.upper()
    problems = [
        *_token_key_problems(settings),
        *_master_key_problems(f"{prefix}_MASTER_KEY", settings.extra.get(f"{prefix}_MASTER_KEY")),
        *_public_url_problems(settings.service, settings.extra.get(f"{prefix}_PUBLIC_URL")),
        *[
            problem
            for other in REFERRED_BASES[settings.service]
            for problem in _public_url_problems(other, settings.public_urls.get(other))
        ],
    ]
    if problems:
        raise UnsafeConfiguration(
            f"WAYPOINT_ENV=production refuses to start {settings.service}: "
            + " ".join(problems)
            + " (WAYPOINT_ENV=development accepts the development values.)"
        )


def _token_key_problems(settings: Settings) -> list[str]:
    if settings.jwt_public_key:
        return []  # RS256: the secret is not used
    secret = settings.jwt_secret or ""
    if secret == DEVELOPMENT_SECRET:
        return [
            "WAYPOINT_JWT_SECRET is not set or holds the development value published in the "
            "repository (or set WAYPOINT_JWT_PUBLIC_KEY for RS256)."
        ]
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return [f"WAYPOINT_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes."]
    return []


def _master_key_problems(name: str, value: str | None) -> list[str]:
    if not value:
        return [f"{name} is not set (in production WAYPOINT_MASTER_KEY is not enough)."]
    keys = [part.strip() for part in value.split(",")]
    if keys[0] == DEVELOPMENT_MASTER_KEY:  # an older key may still be listed for a rotation
        return [f"{name} holds the development value published in the repository."]
    if not all(_is_32_bytes_base64(key) for key in keys):
        return [f"{name} must be 32 bytes, base64-encoded (NEW,OLD during a rotation)."]
    return []


def _is_32_bytes_base64(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _public_url_problems(service: str, value: str | None) -> list[str]:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        example = f"https://{service}.clinic.example"
        return [f"{service.upper()}_PUBLIC_URL must be the service's public base URL ({example})."]
    return []
