"""Real server and worker processes for end-to-end tests.

A ``Server`` runs ``manage.py serve`` on a free port with its own data directory, and on
PostgreSQL (when ``DATABASE_URL`` is set) its own freshly created database, so tests never see
each other's runs. It can be stopped and started again on the same data, like a restart.

A new database starts as a copy of one migrated once for the current migrations (a template
database on PostgreSQL, a file on SQLite), so that a server's start does not apply every
migration again: the suite starts servers by the hundred.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUPER_TOKEN = "coflux-test-super-token"
"""The super token of every test server (``COFLUX_SUPER_TOKEN_HASH``); the CLI, workers and
``Server.api`` use it unless a test says otherwise."""
SUPER_TOKEN_HASH = hashlib.sha256(SUPER_TOKEN.encode()).hexdigest()
AUTH = {"Authorization": f"Bearer {SUPER_TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 20.0, interval: float = 0.05, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting: {message or check}")


def redis_layer() -> dict[str, str]:
    """A server's environment for the Redis channel layer, under a channel prefix of its own so
    that tests running at the same time do not hear each other."""
    return {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "COFLUX_CHANNEL_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
    }


TEMPLATES = Path(tempfile.gettempdir()) / "coflux-test-templates"
SQLITE_FILE = "coflux.sqlite3"


@functools.cache
def _migrations_key() -> str:
    """Names the state the migrations leave a database in: a digest of their files."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _templates_lock() -> Iterator[None]:
    """Held while a template is made: the suite's SQLite and PostgreSQL runs go side by side."""
    TEMPLATES.mkdir(exist_ok=True)
    with open(TEMPLATES / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _migrate(data_dir: str, database_url: str = "") -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COFLUX_DATA_DIR": data_dir}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


@functools.cache
def sqlite_template() -> Path:
    """A migrated SQLite database file to copy (looked for once per test process)."""
    path = TEMPLATES / f"{_migrations_key()}.sqlite3"
    with _templates_lock():
        if not path.exists():
            with tempfile.TemporaryDirectory() as data_dir:
                _migrate(data_dir)
                shutil.copyfile(Path(data_dir) / SQLITE_FILE, path.with_suffix(".part"))
                path.with_suffix(".part").rename(path)
    return path


def database_url(admin_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``admin_url``."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


@functools.cache
def postgres_template(admin_url: str) -> str:
    """The name of a migrated PostgreSQL database to create others from (looked for once per
    test process)."""
    import psycopg

    name = f"coflux_e2e_template_{_migrations_key()}"
    with _templates_lock(), psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if found is None:
            building = f"{name}_part"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
            conn.execute(f'CREATE DATABASE "{building}"')
            with tempfile.TemporaryDirectory() as data_dir:
                _migrate(data_dir, database_url(admin_url, building))
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


class Database:
    """A fresh PostgreSQL database for one server, or nothing on SQLite."""

    def __init__(self) -> None:
        self.admin_url = os.environ.get("DATABASE_URL", "")
        self.url = ""
        if self.admin_url:
            import psycopg

            template = postgres_template(self.admin_url)
            self.name = f"coflux_e2e_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
            self.url = database_url(self.admin_url, self.name)

    def drop(self) -> None:
        if self.url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.database = Database()
        self.env = {
            **os.environ,
            "COFLUX_DATA_DIR": str(data_dir),
            "COFLUX_SESSION_GRACE": "2",
            "COFLUX_SUPER_TOKEN_HASH": SUPER_TOKEN_HASH,
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.env.pop("DATABASE_URL", None)
        if self.database.url:
            self.env["DATABASE_URL"] = self.database.url
        self.process: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._seed_sqlite()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout=60, message=f"server on {self.port}; see {self.log}")
        return self

    def _seed_sqlite(self) -> None:
        """On SQLite, a data directory without a database gets a copy of the migrated one."""
        if self.env.get("DATABASE_URL"):
            return
        data_dir = Path(self.env["COFLUX_DATA_DIR"])
        if not (data_dir / SQLITE_FILE).exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sqlite_template(), data_dir / SQLITE_FILE)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/discover", headers=AUTH, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self.database.drop()

    # --- the REST API ---------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request as the super token, unless ``headers`` say otherwise."""
        headers = {**AUTH, **kwargs.pop("headers", {})}
        url = f"{self.url}/api/projects/default{path}"
        kwargs.setdefault("timeout", 90)
        return httpx.request(method, url, headers=headers, **kwargs)

    def submit(self, module: str, target: str, *arguments: Any, workspace: str = "default"):
        response = self.api(
            "POST",
            f"/workspaces/{workspace}/runs",
            json={"module": module, "target": target, "arguments": arguments},
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["runId"]

    def result(self, run_id: str, wait: float = 60) -> dict[str, Any]:
        return self.api("GET", f"/runs/{run_id}/result", params={"wait": wait}).json()

    def run(self, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/runs/{run_id}").json()


class Worker:
    def __init__(
        self,
        server: Server,
        *modules: str,
        workspace: str = "default",
        concurrency: int = 4,
        register: bool = True,
    ) -> None:
        self.server = server
        self.log = server.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        args = ["--concurrency", str(concurrency), "-w", workspace, *modules]
        if register:
            cli(server, "manifests", "register", "-w", workspace, *modules, check=True)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "coflux", "worker", *args],
                cwd=ROOT,
                env=cli_env(server),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the worker and everything it started (its executor processes too)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(30)

    def output(self) -> str:
        return self.log.read_text()


def cli_env(server: Server) -> dict[str, str]:
    env = {**server.env, "COFLUX_HOST": server.host, "COFLUX_TOKEN": SUPER_TOKEN}
    env.pop("DATABASE_URL", None)
    return env


def cli(server: Server, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(
        [sys.executable, "-m", "coflux", *args],
        cwd=ROOT,
        env=cli_env(server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and process.returncode != 0:
        raise AssertionError(f"coflux {' '.join(args)} failed: {process.stderr}")
    return process


def cli_json(server: Server, *args: str) -> tuple[int, Any]:
    process = cli(server, *args)
    try:
        return process.returncode, json.loads(process.stdout)
    except ValueError:
        raise AssertionError(f"not JSON: {process.stdout!r} {process.stderr!r}") from None
