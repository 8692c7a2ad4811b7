"""The README's first command, ``./scripts/demo``: it runs the example with the credential it
sets up, keeps one server and one worker however often it runs, and its ``stop`` ends them."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port

pytestmark = pytest.mark.e2e


def demo(data: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COFLUX_DATA_DIR": str(data),
        "PORT": str(port),
        "COFLUX_DEMO_INSTALL": "0",  # installed already; a fresh machine installs
    }
    for name in ("DATABASE_URL", "COFLUX_TOKEN", "COFLUX_CONFIG", "COFLUX_HOST", "REDIS_URL"):
        env.pop(name, None)
    return subprocess.run(
        [str(ROOT / "scripts" / "demo"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text()


def test_the_demo_runs_with_its_own_token_keeps_one_of_each_and_stops(tmp_path):
    data, port = tmp_path / "data", free_port()
    try:
        first = demo(data, port)
        assert first.returncode == 0, first.stdout + first.stderr
        assert '"HELLO, JOE!"' in first.stdout
        assert f"Studio: http://127.0.0.1:{port}/" in first.stdout
        token = (data / "super-token").read_text().strip()
        assert token in first.stdout and f'token = "{token}"' in (data / "coflux.toml").read_text()
        for private in ("super-token", "coflux.toml"):
            assert stat.S_IMODE((data / private).stat().st_mode) == 0o600
        pids = {name: int((data / f"{name}.pid").read_text()) for name in ("server", "worker")}

        second = demo(data, port)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "server already running" in second.stdout
        assert "worker already running" in second.stdout
        assert {n: int((data / f"{n}.pid").read_text()) for n in pids} == pids
        assert second.stdout.count('"HELLO, JOE!"') == 1
        assert (data / "worker.log").read_text().count("connected: session") == 1
    finally:
        stopped = demo(data, port, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "worker stopped" in stopped.stdout and "server stopped" in stopped.stdout
    assert not any(alive(pid) for pid in pids.values())
