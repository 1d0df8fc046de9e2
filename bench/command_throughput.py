"""Command throughput: `POST /v1/clients` under gunicorn ÷ a bare Flask JSON endpoint under the
same gunicorn settings and the same load generator (wrk). Target ≥ 0.5."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, gunicorn, save

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


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        script = wrk_script(Path(tmp) / "post.lua")
        with gunicorn("bare_flask:create_app()", {"PYTHONPATH": str(ROOT / "bench")}) as url:
            bare = requests_per_second(url, script)
        env = {"WAYPOINT_VAR_DIR": tmp}
        with gunicorn("waypoint_intake.entrypoints.app:create_app()", env) as url:
            ours = requests_per_second(url, script)
    save(
        "command_throughput",
        {
            "bare_flask_rps": bare,
            "waypoint_rps": ours,
            "command_ratio": ours / bare,
            "target": 0.5,
            "settings": f"gunicorn 2 gthread workers of 8 threads, wrk -t{THREADS} "
            f"-c{CONNECTIONS} -d{DURATION}, SQLite WAL "
            "synchronous=FULL",
        },
    )


if __name__ == "__main__":
    main()
