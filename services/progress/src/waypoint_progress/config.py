"""Progress's settings: the shared ones, read from PROGRESS_* and WAYPOINT_* variables, and the
clinical thresholds (`PROGRESS_PHQ9_CASENESS`, …), NHS Talking Therapies values by default. A
production process refuses to start with development or missing secrets (waypoint_shared.config).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from waypoint_progress.domain import webhooks
from waypoint_progress.domain.scoring import Thresholds
from waypoint_shared.config import DEVELOPMENT, Settings, process_settings

WEBHOOK_WORKER_PORT = 8203


def settings() -> Settings:
    loaded = process_settings("progress")
    embed_frame_ancestors(loaded)  # a malformed value stops the process at start
    return loaded


def thresholds(settings: Settings) -> Thresholds:
    """Each field of Thresholds from `PROGRESS_<FIELD>`, e.g. PROGRESS_SRS_ALLIANCE=36."""
    overrides: dict[str, Any] = {}
    for field in dataclasses.fields(Thresholds):
        value = settings.extra.get(f"PROGRESS_{field.name.upper()}")
        if value is not None:
            overrides[field.name] = _parsed(field, value)
    return Thresholds(**overrides)


def _parsed(field: dataclasses.Field[Any], value: str) -> int | float:
    """A threshold from its environment text, as the type of its default."""
    return float(value) if isinstance(field.default, float) else int(value)


@dataclasses.dataclass(frozen=True)
class WebhookSettings:
    """The webhook delivery worker's settings (docs/progress.md#webhooks)."""

    development: bool  # http:// and loopback/private receivers allowed
    schedule: webhooks.RetrySchedule
    disable_after: float  # seconds of failing before a subscription is disabled
    timeout: float  # seconds one attempt may take
    worker_port: int  # the delivery worker's health and metrics


def webhook_settings(settings: Settings) -> WebhookSettings:
    """From `PROGRESS_WEBHOOK_*`: RETRY_DELAYS (seconds, comma-separated; development 1,5,30,…),
    RETRY_WINDOW_SECONDS (86400), DISABLE_AFTER_SECONDS (259200), TIMEOUT_SECONDS (10),
    WORKER_PORT (8203)."""
    development = settings.environment == DEVELOPMENT
    env = settings.extra
    delays: tuple[float, ...] = (
        webhooks.DEVELOPMENT_DELAYS if development else webhooks.PRODUCTION_DELAYS
    )
    if env.get("PROGRESS_WEBHOOK_RETRY_DELAYS"):
        delays = tuple(float(d) for d in env["PROGRESS_WEBHOOK_RETRY_DELAYS"].split(","))
    window = float(env.get("PROGRESS_WEBHOOK_RETRY_WINDOW_SECONDS", webhooks.RETRY_WINDOW))
    return WebhookSettings(
        development=development,
        schedule=webhooks.RetrySchedule(delays, window),
        disable_after=float(
            env.get("PROGRESS_WEBHOOK_DISABLE_AFTER_SECONDS", webhooks.DISABLE_AFTER)
        ),
        timeout=float(env.get("PROGRESS_WEBHOOK_TIMEOUT_SECONDS", "10")),
        worker_port=int(env.get("PROGRESS_WEBHOOK_WORKER_PORT", WEBHOOK_WORKER_PORT)),
    )


# Who may frame the embeddable timeline page (CSP `frame-ancestors`), per deployment.
FRAME_ANCESTORS_VARIABLE = "PROGRESS_EMBED_FRAME_ANCESTORS"
DEVELOPMENT_FRAME_ANCESTORS = "'self' http://127.0.0.1:* http://localhost:*"
_SOURCE = re.compile(r"'self'|'none'|[a-z][a-z0-9+.-]*:|([a-z][a-z0-9+.-]*://)?[A-Za-z0-9*.:-]+")


def embed_frame_ancestors(settings: Settings) -> str:
    """`PROGRESS_EMBED_FRAME_ANCESTORS`: space-separated CSP sources (`https://app.example`,
    `'self'`…); by default `'none'` in production (no site may frame the page until one is named)
    and this machine's origins in development. A malformed value is refused (ValueError)."""
    value = settings.extra.get(FRAME_ANCESTORS_VARIABLE)
    if value is None:
        return DEVELOPMENT_FRAME_ANCESTORS if settings.environment == DEVELOPMENT else "'none'"
    sources = value.split()
    if not sources or not all(_SOURCE.fullmatch(s) for s in sources):
        raise ValueError(f"{FRAME_ANCESTORS_VARIABLE} must be CSP sources, not {value!r}")
    if "'none'" in sources and len(sources) > 1:
        raise ValueError(f"{FRAME_ANCESTORS_VARIABLE}: 'none' stands alone")
    return " ".join(sources)
