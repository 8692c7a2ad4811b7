"""Benchmark the hot path as a client sees it; prints tables (not a test).

    python bench/run.py [--databases sqlite,postgres] [--processes 1,3] [--fan-out 1000]
                        [--sequential 200] [--single 20] [--repeat 3] [--cli 5]
                        [--big 10000] [--soak 100000]

Each (database, processes) pair gets a fresh server (several processes need PostgreSQL and
Redis) and one warm worker of concurrency 8, running ``bench/workloads.py``. Every figure is the
client's wall time from before the submit to the result in its hands, through the REST API, or
``coflux submit`` through the CLI
(``--cli``: a fresh CLI process each time, its start-up included). Beside it, the engine's own
figure from the root execution's timestamps (assigned → completed), which leaves out the
submit and the result's delivery. Through the API, a run is submitted and awaited in one request
(``POST …/runs?wait=``). Fan-out and sequential figures are medians of ``--repeat``
runs, the single run's the median of ``--single``; the machine's speed varies from one second
to the next, so compare figures taken in one sitting.

``--checkout DIR`` serves (server, worker and CLI) from another checkout of the project,
e.g. a ``git worktree`` of an earlier commit, to compare two versions in one sitting; a server
that does not answer ``?wait=`` is awaited as its clients did, with a second request
(``GET …/runs/<id>/result?wait=``).

``--big`` also runs one fan-out of that many tasks (its rate should match the 1,000's);
``--soak`` runs fan-outs of 1,000 until that many tasks have run, and reports the server's and
the worker's resident memory at the start, the middle and the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
TOKEN = secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"coflux_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Deployment:
    client: httpx.Client
    env: dict[str, str]
    server: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    checkout: Path

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory of the server and of the worker, each with its child processes."""
        return _tree_rss_kb(self.server.pid) / 1024, _tree_rss_kb(self.worker.pid) / 1024


@contextmanager
def deployment(database: str, processes: int, checkout: Path) -> Iterator[Deployment]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "COFLUX_DATA_DIR": data_dir,
            # The checkout's own packages come before the installed ones.
            "PYTHONPATH": os.pathsep.join(
                str(checkout / part) for part in ("", "worker_sdk", "wire")
            ),
            "COFLUX_SUPER_TOKEN_HASH": hashlib.sha256(TOKEN.encode()).hexdigest(),
            "COFLUX_TOKEN": TOKEN,
            "COFLUX_PROCESSES": str(processes),
        }
        env.pop("DATABASE_URL", None)
        if processes > 1:
            env["REDIS_URL"] = REDIS
            env["COFLUX_CHANNEL_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
        if database == "postgres":
            with postgres_database() as url:
                yield from _serve({**env, "DATABASE_URL": url}, checkout)
        else:
            yield from _serve(env, checkout)


def _serve(env: dict[str, str], checkout: Path) -> Iterator[Deployment]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        _wait_for(lambda: httpx.get(f"{base}/api/discover", headers=headers).status_code == 200)
        env = {**env, "COFLUX_HOST": f"127.0.0.1:{port}"}
        coflux = [sys.executable, "-m", "coflux"]
        subprocess.run(
            [*coflux, "manifests", "register", "bench.workloads"],
            env=env,
            cwd=checkout,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        worker = subprocess.Popen(
            [*coflux, "worker", "--concurrency", "8", "bench.workloads"],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = httpx.Client(base_url=f"{base}/api/projects/default", headers=headers, timeout=300)
        deployed = Deployment(client, env, server, worker, checkout)
        for _ in range(3):
            run_once(deployed, "single")  # warm up: connected, executors forked
        yield deployed
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_for(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


@dataclass
class Timing:
    client: float
    """Seconds from before the submit to the result in the client's hands."""
    engine: float
    """Seconds from the root's assignment to its completion, by the server's clock."""


def run_once(deployed: Deployment, target: str, *arguments: int) -> Timing:
    client = deployed.client
    started = time.perf_counter()
    response = client.post(
        "/workspaces/default/runs",
        params={"wait": 300},
        json={"module": "bench.workloads", "target": target, "arguments": list(arguments)},
    )
    response.raise_for_status()
    answer = response.json()
    if "status" not in answer:
        run_id = answer.get("runId") or answer["run_id"]
        response = client.get(f"/runs/{run_id}/result", params={"wait": 300})
        response.raise_for_status()
        answer = {"runId": run_id, **response.json()}
    elapsed = time.perf_counter() - started
    if answer.get("status") != "succeeded":
        raise RuntimeError(f"{target} did not succeed: {answer}")
    return Timing(elapsed, _engine_seconds(client.get(f"/runs/{answer['runId']}").json()))


def cli_once(deployed: Deployment, target: str, *arguments: int) -> float:
    command = [sys.executable, "-m", "coflux", "submit", f"bench.workloads/{target}"]
    started = time.perf_counter()
    subprocess.run(
        [*command, *map(json.dumps, arguments), "--output", "json"],
        env=deployed.env,
        cwd=deployed.checkout,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _engine_seconds(snapshot: dict) -> float:
    root = snapshot["steps"][0]["executions"][-1]
    # A checkout from before the API spoke camelCase names them assigned_at, completed_at.
    start = datetime.fromisoformat(root.get("assignedAt") or root["assigned_at"])
    end = datetime.fromisoformat(root.get("completedAt") or root["completed_at"])
    return (end - start).total_seconds()


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def _tree_rss_kb(pid: int) -> int:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return _rss_kb(pid) + sum(_tree_rss_kb(int(child)) for child in children)


def measure(deployed: Deployment, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """Each shape's figure: (client, engine)."""
    fan_outs, sequentials = [], []
    for _ in range(args.repeat):
        fan_outs.append(run_once(deployed, "fan_out", args.fan_out))
        sequentials.append(run_once(deployed, "sequential", args.sequential))
    singles = [run_once(deployed, "single") for _ in range(args.single)]
    figures = {
        "fan_out": (
            args.fan_out / statistics.median(t.client for t in fan_outs),
            args.fan_out / statistics.median(t.engine for t in fan_outs),
        ),
        "sequential": (
            statistics.median(t.client for t in sequentials) * 1000 / args.sequential,
            statistics.median(t.engine for t in sequentials) * 1000 / args.sequential,
        ),
        "single": (
            statistics.median(t.client for t in singles) * 1000,
            statistics.median(t.engine for t in singles) * 1000,
        ),
    }
    if args.cli:
        cli = statistics.median(cli_once(deployed, "single") for _ in range(args.cli))
        figures["single_cli"] = (cli * 1000, figures["single"][1])
    if args.big:
        big = run_once(deployed, "fan_out", args.big)
        figures["big"] = (args.big / big.client, args.big / big.engine)
    return figures


def soak(deployed: Deployment, tasks: int) -> list[tuple[int, float, float]]:
    """(tasks run so far, server MB, worker MB) at the start, the middle and the end."""
    rows = [(0, *deployed.rss_mb())]
    done = 0
    while done < tasks:
        run_once(deployed, "fan_out", 1000)
        done += 1000
        if done == tasks // 2 // 1000 * 1000:
            rows.append((done, *deployed.rss_mb()))
    rows.append((done, *deployed.rss_mb()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--processes", default="1", help="comma-separated, e.g. 1,3")
    parser.add_argument("--fan-out", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", type=int, default=0, help="runs of `coflux submit` to time")
    parser.add_argument("--big", type=int, default=0, help="tasks in one large fan-out")
    parser.add_argument("--soak", type=int, default=0, help="tasks to run, reporting memory")
    parser.add_argument(
        "--checkout", type=Path, default=ROOT, help="serve from this checkout of the project"
    )
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)

    rows = []
    soaks = []
    for database in args.databases.split(","):
        for processes in map(int, args.processes.split(",")):
            if processes > 1 and database != "postgres":
                continue
            with deployment(database, processes, args.checkout.resolve()) as deployed:
                rows.append((database, processes, measure(deployed, args)))
                if args.soak:
                    soaks.append((database, processes, soak(deployed, args.soak)))

    print(
        f"| database | processes | fan-out {args.fan_out} (tasks/s) | sequential "
        f"{args.sequential} (ms/call) | one-task workflow (ms) |"
        + (" one-task workflow, CLI (ms) |" if args.cli else "")
        + (f" fan-out {args.big} (tasks/s) |" if args.big else "")
    )
    print("|---|---|---|---|---|" + ("---|" if args.cli else "") + ("---|" if args.big else ""))
    for database, processes, figures in rows:
        fan_out, sequential, single = figures["fan_out"], figures["sequential"], figures["single"]
        line = (
            f"| {database} | {processes} | {fan_out[0]:.0f} (engine {fan_out[1]:.0f}) | "
            f"{sequential[0]:.2f} (engine {sequential[1]:.2f}) | "
            f"{single[0]:.1f} (engine {single[1]:.1f}) |"
        )
        if args.cli:
            line += f" {figures['single_cli'][0]:.0f} |"
        if args.big:
            line += f" {figures['big'][0]:.0f} (engine {figures['big'][1]:.0f}) |"
        print(line)
    for database, processes, samples in soaks:
        print(f"\nsoak on {database}, {processes} process(es): tasks, server MB, worker MB")
        for done, server_mb, worker_mb in samples:
            print(f"  {done:>7} {server_mb:8.1f} {worker_mb:8.1f}")


if __name__ == "__main__":
    main()
