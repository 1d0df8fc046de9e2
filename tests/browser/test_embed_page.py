"""The embeddable timeline page in a real browser: Debian's headless Chromium, driven through its
own chromedriver by Selenium, against progress's real web process (gunicorn) on a store seeded
with a client's journey. Nothing is downloaded: the browser and driver are the system's (`make
setup` installs them), axe-core is the locked npm package (`npm ci` in `make setup`), and
Selenium Manager is never asked for a driver (the driver's path is given, SE_OFFLINE is set).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from waypoint_devkit.apps import bearer, envelope
from waypoint_devkit.infrastructure import unavailable
from waypoint_devkit.launcher import Replica, Suite
from waypoint_devkit.suite import suite_environment
from waypoint_devkit.waiting import wait_until
from waypoint_progress.bootstrap import bootstrap
from waypoint_shared.config import KafkaSettings, load_settings
from waypoint_shared.db.database import run_in_transaction

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
# (PHQ-9 items, GAD-7 items) of the weekly sessions; the last has PHQ-9 item 9 above 0 (an alert)
SESSIONS = [
    ([2, 2, 2, 2, 2, 2, 2, 1, 0], [2, 2, 2, 2, 2, 1, 1]),
    ([2, 1, 2, 1, 2, 1, 1, 1, 0], [2, 1, 2, 1, 1, 1, 1]),
    ([1, 1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0]),
    ([1, 1, 0, 1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 1, 0, 0]),
]


@dataclass(frozen=True)
class Progress:
    url: str
    client_id: str
    other_client_id: str
    log: Path

    def mint(self, client_id: str, view: str, ttl: int = 300) -> dict[str, Any]:
        minted = requests.post(
            f"{self.url}/v1/clients/{client_id}/embed-tokens",
            json={"view": view, "ttl_seconds": ttl},
            headers=bearer(),
            timeout=10,
        )
        assert minted.status_code == 200, minted.text
        return dict(minted.json())

    def page(self, client_id: str, token: str) -> str:
        return f"{self.url}/embed/clients/{client_id}/timeline?token={token}"


def journey(client_id: str) -> list[Any]:
    """A client's journey as the other services' events and progress's own sessions tell it."""
    goal, steps = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(2)]
    facts: list[tuple[str, str, dict[str, Any]]] = [
        ("intake", "client_referred", {}),
        *(
            ("intake", "consent_granted", consent(kind))
            for kind in ("treatment", "confidentiality")
        ),
        ("intake", "screening_recorded", screening("PHQ-9", SESSIONS[0][0])),
        ("intake", "screening_recorded", screening("GAD-7", SESSIONS[0][1])),
        ("intake", "therapist_assigned", {"therapist_id": str(uuid.uuid4())}),
        ("intake", "intake_completed", {"therapist_id": str(uuid.uuid4())}),
        ("goals", "goal_proposed", {"goal_id": goal, **GOAL}),
        ("goals", "goal_agreed", {"goal_id": goal, "agreed_by": THERAPIST}),
        *(("goals", "action_step_planned", step(goal, s, "Walk")) for s in steps),
        ("goals", "action_step_completed", step(goal, steps[0])),
    ]
    days = [(START + timedelta(days=7 * (n + 1))).date() for n in range(len(SESSIONS))]
    facts += [
        ("progress", "session_recorded", session(d, *m))
        for d, m in zip(days, SESSIONS, strict=True)
    ]
    return [
        envelope(
            service, name, client_id, time=START + timedelta(hours=n), stream_version=n + 1, **data
        )
        for n, (service, name, data) in enumerate(facts)
    ]


THERAPIST = {"role": "therapist", "id": "t-1"}
GOAL = {"title": "Sleep well", "modality": "cbt", "priority": "high", "proposed_by": THERAPIST}


def consent(kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "document_version": "v1",
        "signed_by": "Amara",
        "signed_at": START.isoformat(),
    }


def screening(instrument: str, items: list[int]) -> dict[str, Any]:
    return {
        "screening_id": str(uuid.uuid4()),
        "instrument": instrument,
        "items": items,
        "total": sum(items),
        "severity": "x",
    }


def step(goal: str, step_id: str, description: str | None = None) -> dict[str, Any]:
    return {
        "goal_id": goal,
        "step_id": step_id,
        **({"description": description} if description else {}),
    }


def session(day: date, phq9: list[int], gad7: list[int]) -> dict[str, Any]:
    measures = [
        {"instrument": name, "items": items, "total": sum(items), "band": None}
        for name, items in (("PHQ-9", phq9), ("GAD-7", gad7))
    ]
    return {
        "session_id": str(uuid.uuid4()),
        "date": day.isoformat(),
        "attended": True,
        "measures": measures,
        "reflection": "I felt heard",
    }


def seeded(var_dir: Path, env: dict[str, str], *clients: str) -> None:
    """Progress's store in var_dir with each client's journey projected, as its worker would."""
    container = bootstrap(load_settings("progress", env))
    try:
        for client_id in clients:
            for event in journey(client_id):
                run_in_transaction(
                    container.engine, lambda conn, e=event: container.projector.handle(conn, e)
                )
    finally:
        container.engine.dispose()


@pytest.fixture(scope="module")
def progress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Progress]:
    """Progress's real web process (gunicorn, as `make run` starts it) on the seeded store."""
    var_dir = tmp_path_factory.mktemp("embed")
    unused = KafkaSettings(bootstrap_servers="127.0.0.1:9")  # a web process creates no Kafka client
    env = suite_environment(var_dir, unused, web_workers=1)
    client_id, other_client_id = str(uuid.uuid4()), str(uuid.uuid4())
    seeded(var_dir, env, client_id, other_client_id)
    suite = Suite(env, var_dir / "logs")
    port = int(env["PROGRESS_WEB_PORT"])
    suite.start_web("progress", Replica("progress-web", "progress-worker", port, 0))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/health/ready"), timeout=60, what="progress's web")
        yield Progress(url, client_id, other_client_id, var_dir / "logs" / "progress-web.log")
    finally:
        suite.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through the system's chromedriver; Selenium Manager never runs."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER, AXE) if not p.exists()]
    if missing or shutil.which("chromium") is None:
        unavailable(f"the browser test needs {', '.join(missing) or 'chromium'}: run `make setup`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")
        # No Selenium Manager at all: were Selenium to look for a driver or browser itself, it
        # would fail here rather than download one.
        env.setenv("SE_MANAGER_PATH", "/nonexistent/selenium-manager")
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        driver.set_script_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def at_width(driver: Any, width: int, height: int = 900) -> None:
    """The page's viewport exactly this wide (CSS pixels), as a phone's or a laptop's."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations of the open page."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done({violations: r.violations, passes: r.passes.map(p => p.id)}))"
        ".catch(e => done({violations: [{id: 'axe failed', help: String(e)}], passes: []}));",
        WCAG,
    )
    assert {"color-contrast", "html-has-lang", "svg-img-alt"} <= set(found["passes"]), found
    return list(found["violations"])


def summary(found: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']}: {v.get('help')} ({[n.get('target') for n in v.get('nodes', [])][:5]})"
        for v in found
    )


@pytest.mark.parametrize("view", ["client", "clinician"])
def test_the_page_shows_the_chart_and_milestones_and_meets_wcag_21_aa(
    progress: Progress, browser: Any, tmp_path: Path, view: str
) -> None:
    from selenium.webdriver.common.by import By

    token = progress.mint(progress.client_id, view)["token"]
    for width in (375, 1280):
        at_width(browser, width)
        browser.get(progress.page(progress.client_id, token))
        browser.save_screenshot(str(tmp_path / f"embed-{view}-{width}.png"))
        chart = browser.find_element(By.CSS_SELECTOR, "#chart svg")
        milestones = browser.find_element(By.ID, "milestones")
        assert chart.is_displayed() and chart.size["width"] > 250
        assert milestones.is_displayed()
        items = [li.text for li in milestones.find_elements(By.TAG_NAME, "li")]
        assert len(items) >= 8
        found = violations(browser)
        assert not found, summary(found)
    assert (tmp_path / f"embed-{view}-375.png").stat().st_size > 0
    # the hashed stylesheet applied: the policy let it in
    assert browser.execute_script("return getComputedStyle(document.body).paddingTop") == "16px"
    alerts = browser.find_elements(By.ID, "alerts")
    if view == "client":
        assert any(i.endswith("You completed your first step.") for i in items)
        assert not alerts
    else:
        assert alerts and "Risk flag" in alerts[0].text


def test_the_page_has_no_horizontal_scroll_at_320_px(progress: Progress, browser: Any) -> None:
    token = progress.mint(progress.client_id, "clinician")["token"]
    at_width(browser, 320)
    browser.get(progress.page(progress.client_id, token))

    widths = browser.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert widths[0] <= widths[1], widths


def test_an_expired_token_gets_a_401_with_no_data(progress: Progress) -> None:
    from waypoint_progress.domain.embed import EmbedGrant
    from waypoint_progress.entrypoints.embed import tokens
    from waypoint_shared.config import DEVELOPMENT_MASTER_KEY

    expired = EmbedGrant("clinic-a", progress.client_id, "clinician", "ehr", 1)
    token = tokens.mint(expired, tokens.signing_keys(DEVELOPMENT_MASTER_KEY))

    answer = requests.get(progress.page(progress.client_id, token), timeout=10)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert not {"PHQ-9", "Milestones", "<svg"} & set(answer.text.split())
    assert "PHQ-9" not in answer.text


def test_another_clients_token_gets_a_404_as_an_unknown_client_with_no_data(
    progress: Progress, browser: Any
) -> None:
    token = progress.mint(progress.other_client_id, "clinician")["token"]

    answer = requests.get(progress.page(progress.client_id, token), timeout=10)
    unknown = requests.get(progress.page(str(uuid.uuid4()), token), timeout=10)

    assert answer.status_code == unknown.status_code == 404
    assert answer.json()["title"] == unknown.json()["title"]
    assert "PHQ-9" not in answer.text


def test_no_token_is_written_to_the_logs(progress: Progress) -> None:
    minted = progress.mint(progress.client_id, "client")
    assert requests.get(progress.page(progress.client_id, minted["token"]), timeout=10).ok

    log = wait_until(lambda: "/embed/clients/" in progress.log.read_text() and progress.log)
    assert minted["token"] not in log.read_text()
    assert "token=" not in log.read_text()
