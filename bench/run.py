"""Benchmark the hot path on SQLite and PostgreSQL; prints a table (not a test).

    python bench/run.py [--databases sqlite,postgres] [--fan-out 1000] [--sequential 200]
                        [--repeat 3]

Each database gets a fresh server process and one warm worker (concurrency 8). Timings of the
fan-out and sequential shapes come from the root execution's own timestamps (assigned →
completed), so they measure the engine, not the client's polling; each is the median of
``--repeat`` runs, since a shared machine's speed varies from one second to the next. The
single-run figure is the client's wall clock from submit to result, the median of 20.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_database():
    import psycopg

    name = f"coflux_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def deployment(database: str):
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "COFLUX_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        env.pop("DATABASE_URL", None)
        if database == "postgres":
            with postgres_database() as url:
                env["DATABASE_URL"] = url
                yield from _serve(env)
        else:
            yield from _serve(env)


def _serve(env):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: httpx.get(f"{base}/api/discover").status_code == 200)
        cli_env = {**env, "COFLUX_HOST": f"127.0.0.1:{port}"}
        subprocess.run(
            ["coflux", "manifests", "register", "bench.workloads"],
            env=cli_env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        worker = subprocess.Popen(
            ["coflux", "worker", "--concurrency", "8", "bench.workloads"],
            cwd=ROOT,
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = httpx.Client(base_url=f"{base}/api/projects/default", timeout=120)
        run(client, "single")  # warm up: the worker is connected and its executors forked
        yield client
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_for(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def run(client: httpx.Client, target: str, *arguments) -> tuple[dict, float]:
    started = time.perf_counter()
    response = client.post(
        "/workspaces/default/runs",
        json={"module": "bench.workloads", "target": target, "arguments": list(arguments)},
    )
    response.raise_for_status()
    run_id = response.json()["runId"]
    result = client.get(f"/runs/{run_id}/result", params={"wait": 60}).json()
    elapsed = time.perf_counter() - started
    if result["status"] != "succeeded":
        raise RuntimeError(f"{target} did not succeed: {result}")
    return client.get(f"/runs/{run_id}").json(), elapsed


def root_seconds(snapshot: dict) -> float:
    root = snapshot["steps"][0]["executions"][-1]
    start = datetime.fromisoformat(root["assignedAt"])
    end = datetime.fromisoformat(root["completedAt"])
    return (end - start).total_seconds()


def measure(database: str, fan_out: int, sequential: int, repeat: int) -> dict[str, float]:
    with deployment(database) as client:
        fan_outs, sequentials = [], []
        for _ in range(repeat):
            snapshot, _ = run(client, "fan_out", fan_out)
            fan_outs.append(fan_out / root_seconds(snapshot))
            snapshot, _ = run(client, "sequential", sequential)
            sequentials.append(root_seconds(snapshot) * 1000 / sequential)
        singles = [run(client, "single")[1] * 1000 for _ in range(20)]
    return {
        "fan_out": statistics.median(fan_outs),
        "sequential": statistics.median(sequentials),
        "single": statistics.median(singles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--fan-out", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [
        (db, measure(db, args.fan_out, args.sequential, max(1, args.repeat)))
        for db in args.databases.split(",")
    ]
    print(
        f"| database | fan-out {args.fan_out} (tasks/s) | sequential {args.sequential} "
        f"(ms/call) | single run (ms) |"
    )
    print("|---|---|---|---|")
    for db, figures in rows:
        print(
            f"| {db} | {figures['fan_out']:.0f} | {figures['sequential']:.2f} | "
            f"{figures['single']:.1f} |"
        )


if __name__ == "__main__":
    main()
