"""Command throughput: `POST /v1/clients` under gunicorn ÷ a bare Flask JSON endpoint under the
same gunicorn settings and the same load generator (wrk). Target ≥ 0.5.

`BENCH_STORE=sqlite|postgres|both` (default both) chooses intake's store: a SQLite file
(`synchronous=FULL`) or a PostgreSQL server of the benchmark's own from Debian's packages, made
durable for the run (`fsync=on`, `synchronous_commit=on`, `full_page_writes=on`: the test server's
defaults favour speed). `command_ratio` is the better store's ratio; each store's is
`command_ratio_<store>`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, gunicorn, save

from waypoint_devkit.infrastructure import local_postgres
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import mint_token

BODY = {
    "given_name": "Amara",
    "family_name": "Osei",
    "date_of_birth": "1992-06-30",
    "email": "amara@example.org",
    "presenting_concerns": ["sleep", "low mood"],
}
DURATION, THREADS, CONNECTIONS = "15s", 2, 16
STORES = ("sqlite", "postgres")
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def wrk_script(path: Path) -> Path:
    token = mint_token(DEVELOPMENT_SECRET, "bench", "bench-clinic")
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(BODY))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "function response(status, headers, body)\n"
        '  if status ~= 201 then io.stderr:write("unexpected status " .. status .. "\\n") end\n'
        "end\n"
    )
    return path


def requests_per_second(url: str, script: Path) -> float:
    done = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{DURATION}",
            "-s",
            str(script),
            f"{url}/v1/clients",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if "unexpected status" in done.stderr or "Non-2xx" in done.stdout:
        raise RuntimeError(f"the benchmark saw failed requests:\n{done.stdout}{done.stderr}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]


def stores() -> tuple[str, ...]:
    chosen = os.environ.get("BENCH_STORE", "both")
    if chosen == "both":
        return STORES
    if chosen not in STORES:
        sys.exit(f"BENCH_STORE must be sqlite, postgres or both, not {chosen!r}")
    return (chosen,)


@contextmanager
def durable_postgres(work_dir: Path) -> Iterator[str]:
    """A PostgreSQL server of the run's own, with every durability setting on; intake's URL."""
    with local_postgres(work_dir / "postgres") as server:
        for name, value in DURABLE.items():
            server.sql(f"ALTER SYSTEM SET {name} = {value}")
        server.sql("SELECT pg_reload_conf()")
        url = server.create_database("intake")
        shown = server.sql("SHOW synchronous_commit", "intake").strip()
        if shown != "on" or server.sql("SHOW fsync", "intake").strip() != "on":
            raise RuntimeError("the benchmark's PostgreSQL is not durable")
        yield url


def intake_rps(store: str, work_dir: Path, script: Path) -> float:
    env = {"WAYPOINT_VAR_DIR": str(work_dir / store)}
    if store == "sqlite":
        with gunicorn("waypoint_intake.entrypoints.app:create_app()", env) as url:
            return requests_per_second(url, script)
    with durable_postgres(work_dir) as database_url:
        env["INTAKE_DATABASE_URL"] = database_url
        with gunicorn("waypoint_intake.entrypoints.app:create_app()", env) as url:
            return requests_per_second(url, script)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    chosen = stores()
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        script = wrk_script(work_dir / "post.lua")
        with gunicorn("bare_flask:create_app()", {"PYTHONPATH": str(ROOT / "bench")}) as url:
            bare = requests_per_second(url, script)
        ours = {store: intake_rps(store, work_dir, script) for store in chosen}
    best = max(ours, key=lambda store: ours[store])
    figures: dict[str, object] = {"bare_flask_rps": bare}
    for store, rps in ours.items():
        figures[f"waypoint_rps_{store}"] = rps
        figures[f"command_ratio_{store}"] = rps / bare
    figures |= {
        "waypoint_rps": ours[best],
        "command_ratio": ours[best] / bare,
        "best_store": best,
        "target": 0.5,
        "settings": f"gunicorn 2 gthread workers of 8 threads, wrk -t{THREADS} "
        f"-c{CONNECTIONS} -d{DURATION}; SQLite WAL synchronous=FULL; PostgreSQL "
        "fsync=on synchronous_commit=on",
    }
    save("command_throughput", figures)


if __name__ == "__main__":
    main()
