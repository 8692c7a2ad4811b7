"""How long Studio takes to open a big run's page; prints a table (not a test).

    python bench/studio_big_run.py [--databases sqlite,postgres] [--steps 10000] [--groups 100]
                                   [--repeat 5]

For each database a fresh server process (``manage.py serve``) gets one run of ``--steps``
task steps called by its root in ``--groups`` ``cf.group``s, every one finished with a value,
awaited by the root, and with a log line each. The rows are the ones the orchestrator writes
for such a run (steps, executions, results, dependencies, log lines), inserted in bulk, since
running 10,000 tasks is not what is measured here. A logged-in client then fetches the run page
(graph, timeline, logs tabs, and the graph with a group member's step panel open) over HTTP;
each figure is the median of ``--repeat`` fetches after one warm-up, in seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import _wait_for, free_port, postgres_database  # noqa: E402

RUN_ID = "Rbigrun"
USERNAME = "bench"
PASSWORD = "bench-password-123"
PAGES = {
    "graph": "",
    "timeline": "?tab=timeline",
    "logs": "?tab=logs",
    "graph + step panel": "?step=5000",
}


def value(data: object) -> dict:
    return {"type": "inline", "format": "json", "data": data, "refs": []}


def write_run(steps: int, groups: int) -> None:
    """The rows of a finished run whose root called ``steps`` tasks in ``groups`` groups."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from projects.models import Project
    from runs.models import Dependency, Execution, LogMessage, Result, Run, Step
    from workspaces.models import Workspace

    project = Project.objects.ensure("default")
    workspace = Workspace.objects.ensure(project, "default")
    User.objects.create_superuser(USERNAME, email="", password=PASSWORD)  # sees every workspace
    start = timezone.now() - timedelta(minutes=10)
    run = Run.objects.create(id=RUN_ID, project=project, workspace=workspace, created_at=start)
    root_step = Step.objects.create(
        id=f"{RUN_ID}:1",
        run=run,
        number=1,
        module="bench.flows",
        target="big",
        target_type="workflow",
        arguments=[value(steps)],
        created_at=start,
    )
    root = Execution.objects.create(
        id=f"{RUN_ID}:1:1",
        step=root_step,
        workspace=workspace,
        state="succeeded",
        created_at=start,
        assigned_at=start,
        started_at=start,
        completed_at=start + timedelta(minutes=5),
    )
    per_group = max(1, steps // groups)
    step_rows, execution_rows, result_rows, dependency_rows, log_rows = [], [], [], [], []
    for index in range(steps):
        number = index + 2
        created = start + timedelta(milliseconds=10 * index)
        step = Step(
            id=f"{RUN_ID}:{number}",
            run=run,
            number=number,
            module="bench.flows",
            target="work",
            target_type="task",
            parent=root,
            parent_ref=str(index),
            group=index // per_group,
            group_name=f"batch {index // per_group}",
            arguments=[value(index), value({"type": "dict", "items": ["label", f"item {index}"]})],
            created_at=created,
        )
        execution = Execution(
            id=f"{step.id}:1",
            step=step,
            workspace=workspace,
            state="succeeded",
            created_at=created,
            assigned_at=created + timedelta(milliseconds=5),
            started_at=created + timedelta(milliseconds=6),
            completed_at=created + timedelta(milliseconds=50),
        )
        step_rows.append(step)
        execution_rows.append(execution)
        result_rows.append(
            Result(execution=execution, type="value", value=value(index * 2), created_at=created)
        )
        dependency_rows.append(Dependency(execution=root, dependency=execution))
        log_rows.append(
            LogMessage(
                execution=execution,
                timestamp=created + timedelta(milliseconds=20),
                level=2,
                template="worked on {item}",
                values={"item": value(index)},
            )
        )
    for rows in (step_rows, execution_rows, result_rows, dependency_rows, log_rows):
        type(rows[0]).objects.bulk_create(rows, batch_size=2000)
    Result.objects.create(execution=root, type="value", value=value(steps), created_at=start)


@contextmanager
def serving(database: str, steps: int, groups: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "COFLUX_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        env.pop("DATABASE_URL", None)
        if database == "postgres":
            with postgres_database() as url:
                env["DATABASE_URL"] = url
                yield from _serve(env, steps, groups)
        else:
            yield from _serve(env, steps, groups)


def _serve(env: dict[str, str], steps: int, groups: int) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # Up once it answers, if only to say that a token is needed.
        _wait_for(lambda: httpx.get(f"{base}/api/discover").status_code in (200, 401))
        script = (
            "import sys; sys.path.insert(0, '.'); "
            "from bench.studio_big_run import write_run; "
            f"write_run({steps}, {groups})"
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield base
    finally:
        server.terminate()
        server.wait(30)


def logged_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/login/"},
    )
    assert response.status_code == 302, response.text[:500]
    return client


def measure(client: httpx.Client, path: str, repeat: int) -> tuple[float, int]:
    response = client.get(path)  # warm-up
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200
    return statistics.median(timings), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"A run of {args.steps} steps in {args.groups} groups; median of {args.repeat} fetches")
    print(f"{'database':<10} {'page':<20} {'seconds':>8} {'size':>10}")
    for database in args.databases.split(","):
        with serving(database, args.steps, args.groups) as base:
            client = logged_in(base)
            for name, query in PAGES.items():
                seconds, size = measure(client, f"/runs/{RUN_ID}{query}", args.repeat)
                print(f"{database:<10} {name:<20} {seconds:>8.3f} {size / 1000:>8.0f} KB")


if __name__ == "__main__":
    main()
