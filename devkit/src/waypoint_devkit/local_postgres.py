"""Run a throwaway PostgreSQL server for tests, from Debian's packages, on 127.0.0.1 only.

initdb refuses to run as root, so as root every server command runs as the ``postgres`` user
(``runuser -u postgres --``) on a data folder it owns; as any other user they run directly.
Standard library only. Settings favour speed over durability (fsync=off): never keep real data.

    python -m waypoint_devkit.local_postgres run --port 55432 --data-dir var/postgres

From Python::

    with LocalPostgres(port=55432, data_dir=tmp / "pg") as postgres:
        url = postgres.create_database("intake")  # postgresql+psycopg://postgres@127.0.0.1:55432/intake
"""

from __future__ import annotations

import argparse
import atexit
import os
import pwd
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from waypoint_devkit.runner import StopRequest, command_line

SERVER_USER = "postgres"
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SOCKET_PATH_LIMIT = 100  # unix socket paths longer than ~107 bytes cannot be bound


class PostgresError(RuntimeError):
    """PostgreSQL is missing or failed; the message says what happened."""


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl, if any."""
    candidates = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "initdb").exists() and (path / "pg_ctl").exists() and path.parent.name.isdigit()
    ]
    return max(candidates, key=lambda path: int(path.parent.name), default=None)


def ensure_installed() -> Path:
    """Return the server's bin folder, installing Debian's postgresql package if it is missing."""
    bin_dir = find_bin_dir()
    if bin_dir:
        return bin_dir
    if os.geteuid() != 0:
        raise PostgresError("PostgreSQL is missing; as root run: apt-get install -y postgresql")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        subprocess.run(command, check=True, env=environment)
    bin_dir = find_bin_dir()
    if not bin_dir:
        raise PostgresError("installed postgresql, yet no /usr/lib/postgresql/*/bin holds initdb")
    return bin_dir


def running_as_root() -> bool:
    return os.geteuid() == 0


class LocalPostgres:
    """One postgres server on 127.0.0.1:port with its cluster in data_dir/pgdata."""

    def __init__(self, port: int, data_dir: Path):
        self.port = port
        self.data_dir = Path(data_dir).resolve()
        self.bin_dir: Path | None = None
        self._started = False

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: int = 60) -> LocalPostgres:
        """Create the cluster if new (data survives restarts) and start the server."""
        if self._started:
            return self
        self.bin_dir = ensure_installed()
        self._prepare_data_dir()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._write_settings()
        log, wait = ("-l", self.log_file), ("-w", "-t", str(timeout))
        self._server("pg_ctl", "-D", self.pgdata, *log, *wait, "start")
        self._started = True
        atexit.register(self.stop)  # pg_ctl detaches the server: a crashed caller must not leak it
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown). Safe to call twice."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        if running_as_root():
            # Each pytest session makes its user's temp root 0700 again when it starts: another
            # one started since this server would leave pg_ctl unable to reach it, and it running.
            _let_server_user_reach(self.data_dir)
        try:
            self._server("pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "stop")
        except PostgresError:
            if self.is_running():
                raise

    def is_running(self) -> bool:
        status = subprocess.run(
            self._as_server_user("pg_ctl", "-D", self.pgdata, "status"),
            capture_output=True,
            cwd="/",
        )
        return status.returncode == 0

    def create_database(self, name: str) -> str:
        """Create a database (if it does not exist yet) and return its SQLAlchemy URL."""
        if not DATABASE_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        exists = self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists.strip():
            self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql over TCP and return its unaligned output."""
        server = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        quiet = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"]  # no psqlrc, bare rows, stop on error
        return self._run([self._program("psql"), *server, *quiet, "-c", statement])

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        socket_path = self.pgdata / f".s.PGSQL.{self.port}"
        if len(str(socket_path)) > SOCKET_PATH_LIMIT:
            raise PostgresError(f"data dir path too long for a unix socket: {socket_path}")
        if running_as_root():
            _let_server_user_reach(self.data_dir)
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)

    def _initdb(self) -> None:
        options = ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
        self._server("initdb", "-D", self.pgdata, "-U", "postgres", *options)
        # Our settings live in their own file, rewritten on each start (the port may change).
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'waypoint.conf'\n")
        # Only local connections: the unix socket in the data dir and 127.0.0.1.
        (self.pgdata / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )

    def _write_settings(self) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.pgdata}'",
            "max_connections": "200",
            "fsync": "off",  # a test server: speed matters, a crash may lose everything
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        conf = self.pgdata / "waypoint.conf"
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        if running_as_root():
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(conf, owner.pw_uid, owner.pw_gid)

    def _server(self, program: str, *args: object) -> str:
        return self._run(self._as_server_user(program, *args))

    def _program(self, name: str) -> str:
        if self.bin_dir is None:
            raise RuntimeError("PostgreSQL's programs are found by start(); start the server first")
        return str(self.bin_dir / name)

    def _as_server_user(self, program: str, *args: object) -> list[str]:
        command = [self._program(program), *map(str, args)]
        if running_as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if done.returncode != 0:
            log = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
            raise PostgresError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}{log}")
        return done.stdout


def _let_server_user_reach(path: Path) -> None:
    """Give 'others' search (x) permission on the temp-dir parents the postgres user must cross.

    pytest's and mkdtemp's folders are 0700 root; without x the server cannot reach its data.
    Outside the system temp dir nothing is changed: pick a data dir the postgres user can reach.
    """
    temp_root = Path(tempfile.gettempdir()).resolve()
    for parent in path.parents:
        if parent.stat().st_mode & 0o001:
            continue
        if parent != temp_root and temp_root not in parent.parents:
            hint = f"use a data dir under {temp_root}"
            raise PostgresError(f"the {SERVER_USER} user cannot enter {parent}: {hint}")
        parent.chmod(parent.stat().st_mode | 0o001)


def _run(args: argparse.Namespace) -> int:
    postgres = LocalPostgres(args.port, args.data_dir)
    stop = StopRequest()
    postgres.start()
    for name in args.database:
        print(postgres.create_database(name), flush=True)
    print(f"postgres ready on 127.0.0.1:{args.port}", flush=True)
    stop.wait()
    postgres.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install Debian's postgresql package if missing")
    run = commands.add_parser("run", help="run a server until Ctrl-C")
    run.add_argument("--port", type=int, default=55432)
    run.add_argument("--data-dir", type=Path, required=True)
    run.add_argument("--database", action="append", default=[], help="create this database too")
    return command_line(
        parser, argv, lambda _: f"postgres binaries in {ensure_installed()}", _run, PostgresError
    )


if __name__ == "__main__":
    sys.exit(main())
