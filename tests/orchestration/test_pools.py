"""The launch rule and the lifecycle of pool workers, driven with envelopes: the launcher's
reports are sent as the runner would send them, and the clock is moved by ageing what memory
remembers of launches (a tick reads the time itself)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from projects.models import WorkerSession
from runs.models import Execution
from runs.orchestration import pools
from runs.orchestration.orchestrator import Orchestrator
from runs.states import State
from tests.orchestration.support import CHANNEL, messages, queue_run, result
from workspaces.models import Launch, Pool, Workspace

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("launchers")]


@pytest.fixture
def launchers(settings):
    settings.COFLUX_LAUNCHER_TYPES = ["process", "docker"]
    settings.COFLUX_PUBLIC_HOST = "127.0.0.1:7000"


def make_pool(harness, name="local", **fields):
    defaults = {
        "type": "process",
        "modules": ["app.flows"],
        "config": {"directory": "/srv", "concurrency": 2, "env": {"MODE": "x"}},
    }
    pool = Pool.objects.create(workspace=harness.workspace, name=name, **{**defaults, **fields})
    harness.tick({"kind": "wake"})
    return pool


def jobs(outbox, kind=None):
    return [m for c, m in outbox if c == pools.LAUNCHER and (kind is None or m["type"] == kind)]


def report(harness, launch_id, action, ok=True, **fields):
    envelope = {"kind": "launcher", "launch": launch_id, "action": action, "ok": ok, **fields}
    return harness.tick(envelope)


def age(harness, seconds):
    """Move what memory knows of pools and launches ``seconds`` into the past."""
    fleet = harness.orchestrator.memory.fleet
    shift = timedelta(seconds=seconds)
    for pool in fleet.pools.values():
        if pool.last_launch_at:
            pool.last_launch_at -= shift
    for launch in fleet.launches.values():
        launch.created_at -= shift
        for name in ("polled_at", "idle_since", "retry_stop_at"):
            if getattr(launch, name):
                setattr(launch, name, getattr(launch, name) - shift)


def launched(harness, pool_name="local"):
    """Queue a run with no worker: the pool launches one; report it started."""
    make_pool(harness, pool_name)
    execution_id = queue_run(harness.workspace)
    [job] = jobs(harness.tick({"kind": "wake"}), "launch")
    report(harness, job["launch"], "launch", handle={"pid": 4242})
    return job, execution_id


def connect_launched(harness, job, **hello):
    """The launched worker connects with the token it was given."""
    outbox = harness.connect(session=job["spec"]["env"]["COFLUX_SESSION"], **hello)
    return outbox


# --- the launch rule --------------------------------------------------------------------------


def test_work_no_session_takes_launches_a_worker_from_a_fitting_pool(harness):
    make_pool(harness, provides={"gpu": ["A100"]}, accepts={})

    execution_id = queue_run(harness.workspace)
    outbox = harness.tick({"kind": "wake"})

    [job] = jobs(outbox)
    assert job["type"] == "launch" and job["pool_type"] == "process"
    assert job["config"]["directory"] == "/srv"
    spec = job["spec"]
    assert spec["modules"] == ["app.flows"]
    env = spec["env"]
    assert env["MODE"] == "x"
    assert (env["COFLUX_HOST"], env["COFLUX_PROJECT"], env["COFLUX_WORKSPACE"]) == (
        "127.0.0.1:7000",
        "default",
        "default",
    )
    assert (env["COFLUX_WORKER_CONCURRENCY"], env["COFLUX_WORKER_PROVIDES"]) == ("2", "gpu:A100")
    launch = Launch.objects.get(id=job["launch"])
    assert (launch.state, launch.pool_name) == ("launching", "local")
    session = WorkerSession.objects.get(id=launch.session_id)
    assert env["COFLUX_SESSION"].startswith(session.id + ".")
    assert session.provides == {"gpu": ["A100"]} and session.secret_hash
    assert Execution.objects.get(id=execution_id).state == State.QUEUED


def test_a_queue_of_work_launches_one_worker_not_one_each(harness):
    make_pool(harness)
    for number in range(5):
        queue_run(harness.workspace, f"Rmany{number}")

    assert len(jobs(harness.tick({"kind": "wake"}), "launch")) == 1
    # Still launching: however long it takes, no other launch.
    age(harness, 60)
    assert jobs(harness.tick({"kind": "wake"}), "launch") == []


def test_a_pool_launches_again_only_after_its_interval(harness):
    job, _ = launched(harness)
    connect_launched(harness, job, concurrency=1)
    queue_run(harness.workspace, "Rmore")

    assert jobs(harness.tick({"kind": "wake"}), "launch") == []
    deadline = harness.orchestrator.next_deadline()
    assert deadline is not None

    age(harness, 11)
    assert len(jobs(harness.tick({"kind": "wake"}), "launch")) == 1


@pytest.mark.parametrize(
    "pool",
    [
        {"modules": ["other.flows"]},
        {"modules": ["app.flow"]},
        {"state": "disabled"},
        {"type": "kubernetes", "config": {"image": "i"}},
        {"accepts": {"tier": ["batch"]}},
    ],
)
def test_a_pool_that_does_not_fit_launches_nothing(harness, pool):
    make_pool(harness, **pool)
    queue_run(harness.workspace)

    assert jobs(harness.tick({"kind": "wake"})) == []


def test_a_pool_hosts_the_modules_of_a_listed_package(harness):
    make_pool(harness, modules=["app"])
    queue_run(harness.workspace)

    assert len(jobs(harness.tick({"kind": "wake"}), "launch")) == 1


def test_a_pool_of_another_workspace_launches_nothing(harness):
    other = Workspace.objects.create(project=harness.project, name="other")
    Pool.objects.create(workspace=other, name="p", type="process", modules=[])
    harness.tick({"kind": "wake"})
    queue_run(harness.workspace)

    assert jobs(harness.tick({"kind": "wake"})) == []


def test_requires_are_met_by_the_pools_provides(harness):
    make_pool(harness, name="plain")
    make_pool(harness, name="gpu", provides={"gpu": ["A100"]})
    queue_run(harness.workspace, "Rgpu", {"requires": {"gpu": ["A100"]}})

    for _ in range(5):
        [job] = jobs(harness.tick({"kind": "wake"}), "launch")
        assert Launch.objects.get(id=job["launch"]).pool_name == "gpu"
        Launch.objects.filter(id=job["launch"]).delete()
        harness.orchestrator.memory.fleet.launches.clear()
        age(harness, 11)


# --- a launched worker's life -----------------------------------------------------------------


def test_the_launched_worker_resumes_its_session_and_takes_the_work(harness):
    job, execution_id = launched(harness)

    outbox = connect_launched(harness, job)

    [execute] = messages(outbox, "execute")
    assert execute["execution"] == execution_id
    launch = Launch.objects.get(id=job["launch"])
    assert launch.state == "active" and launch.activated_at and launch.launched_at
    assert launch.handle == {"pid": 4242}
    assert harness.session == launch.session_id


def test_an_idle_worker_is_drained_and_stopped(harness):
    job, execution_id = launched(harness)
    connect_launched(harness, job)
    harness.send(result(execution_id, data=2))

    assert jobs(harness.tick({"kind": "wake"}), "stop") == []
    age(harness, 6)
    outbox = harness.tick({"kind": "wake"})

    [stop] = jobs(outbox, "stop")
    assert stop["handle"] == {"pid": 4242}
    assert Launch.objects.get(id=job["launch"]).state == "draining"
    assert WorkerSession.objects.get(id=harness.session).draining

    report(harness, job["launch"], "stop")

    launch = Launch.objects.get(id=job["launch"])
    assert (launch.state, launch.error) == ("stopped", "")
    assert WorkerSession.objects.get(id=harness.session).expired_at is not None


def test_a_busy_worker_is_not_idle(harness):
    job, _ = launched(harness)
    connect_launched(harness, job)

    age(harness, 60)
    outbox = harness.tick({"kind": "wake"})

    assert jobs(outbox, "stop") == []
    assert Launch.objects.get(id=job["launch"]).state == "active"


def test_a_dead_worker_ends_its_session_and_its_work_is_retried(harness):
    make_pool(harness)
    queue_run(
        harness.workspace,
        "Rretry",
        {"retries": {"limit": 1, "backoff_min_ms": 0, "backoff_max_ms": 0}},
    )
    [job] = jobs(harness.tick({"kind": "wake"}), "launch")
    report(harness, job["launch"], "launch", handle={"pid": 4242})
    connect_launched(harness, job)

    age(harness, 31)
    [poll] = jobs(harness.tick({"kind": "wake"}), "poll")
    report(harness, job["launch"], "poll", alive=False, error="exited with code 1")

    launch = Launch.objects.get(id=job["launch"])
    assert (launch.state, launch.error) == ("dead", "exited with code 1")
    states = dict(Execution.objects.filter(step__run_id="Rretry").values_list("attempt", "state"))
    assert states == {1: State.ABANDONED, 2: State.QUEUED}


def test_a_worker_is_polled_often_until_it_connects(harness):
    job, _ = launched(harness)

    age(harness, 4)
    assert jobs(harness.tick({"kind": "wake"}), "poll") == []
    age(harness, 2)
    [poll] = jobs(harness.tick({"kind": "wake"}), "poll")
    assert poll["handle"] == {"pid": 4242}
    report(harness, job["launch"], "poll", alive=True)

    connect_launched(harness, job)
    age(harness, 6)
    assert jobs(harness.tick({"kind": "wake"}), "poll") == []
    age(harness, 25)
    assert len(jobs(harness.tick({"kind": "wake"}), "poll")) == 1


def test_a_failed_launch_ends_the_session_and_the_pool_backs_off(harness):
    make_pool(harness)
    queue_run(harness.workspace)
    [job] = jobs(harness.tick({"kind": "wake"}), "launch")

    report(harness, job["launch"], "launch", ok=False, error="no such directory")

    launch = Launch.objects.get(id=job["launch"])
    assert (launch.state, launch.error) == ("failed", "no such directory")
    assert WorkerSession.objects.get(id=launch.session_id).expired_at is not None
    age(harness, 11)
    [again] = jobs(harness.tick({"kind": "wake"}), "launch")
    report(harness, again["launch"], "launch", ok=False, error="again")
    age(harness, 11)
    assert jobs(harness.tick({"kind": "wake"}), "launch") == []
    age(harness, 10)
    assert len(jobs(harness.tick({"kind": "wake"}), "launch")) == 1


def test_disabling_a_pool_drains_its_workers(harness):
    job, _ = launched(harness)
    connect_launched(harness, job)

    Pool.objects.filter(name="local").update(state="disabled")
    outbox = harness.tick({"kind": "wake"})

    assert len(jobs(outbox, "stop")) == 1
    assert Launch.objects.get(id=job["launch"]).state == "draining"
    queue_run(harness.workspace, "Rafter")
    assert messages(harness.tick({"kind": "wake"}), "execute") == []


def test_deleting_a_pool_drains_its_workers(harness):
    job, _ = launched(harness)

    Pool.objects.filter(name="local").delete()
    outbox = harness.tick({"kind": "wake"})

    assert len(jobs(outbox, "stop")) == 1
    report(harness, job["launch"], "stop")
    assert Launch.objects.get(id=job["launch"]).state == "stopped"


def test_archiving_a_workspace_drains_its_pools_workers(harness):
    job, _ = launched(harness)
    connect_launched(harness, job)

    command = {"type": "archive", "workspace": "default"}
    outbox = harness.tick({"kind": "command", "command": command, "reply_to": "r"})

    assert len(jobs(outbox, "stop")) == 1


def test_a_stop_that_fails_is_tried_again(harness):
    job, _ = launched(harness)
    Pool.objects.filter(name="local").update(state="disabled")
    harness.tick({"kind": "wake"})

    report(harness, job["launch"], "stop", ok=False, error="docker is down")

    assert Launch.objects.get(id=job["launch"]).error == "docker is down"
    assert jobs(harness.tick({"kind": "wake"}), "stop") == []
    age(harness, 31)
    assert len(jobs(harness.tick({"kind": "wake"}), "stop")) == 1


def test_a_worker_that_never_connects_fails(harness):
    job, _ = launched(harness)
    report(harness, job["launch"], "poll", alive=True)

    age(harness, 601)
    [stop] = jobs(harness.tick({"kind": "wake"}), "stop")
    report(harness, job["launch"], "stop")

    launch = Launch.objects.get(id=job["launch"])
    assert (launch.state, launch.error) == ("failed", "the worker never connected")


def test_a_launch_cut_short_by_a_restart_fails(harness):
    make_pool(harness)
    queue_run(harness.workspace)
    [job] = jobs(harness.tick({"kind": "wake"}), "launch")

    Orchestrator(harness.project.id, holder=harness.orchestrator.holder).load()

    launch = Launch.objects.get(id=job["launch"])
    assert launch.state == "failed" and "restarted" in launch.error


def test_after_a_restart_launched_workers_are_polled_at_once(harness):
    job, execution_id = launched(harness)
    connect_launched(harness, job)
    harness.send(result(execution_id, data=2))

    restarted = Orchestrator(harness.project.id, holder=harness.orchestrator.holder)
    restarted.load()
    outbox = restarted.tick([{"kind": "wake"}])

    [poll] = jobs(outbox, "poll")
    assert poll["handle"] == {"pid": 4242}
    assert Launch.objects.get(id=job["launch"]).state == "active"
    assert job["launch"] in restarted.memory.fleet.launches


def test_a_worker_whose_connection_drops_is_polled_at_once(harness):
    job, _ = launched(harness)
    connect_launched(harness, job)
    report(harness, job["launch"], "poll", alive=True)

    outbox = harness.tick({"kind": "disconnect", "session": harness.session, "channel": CHANNEL})

    assert len(jobs(outbox, "poll")) == 1
    report(harness, job["launch"], "poll", alive=False, error="killed by signal 9")
    assert Launch.objects.get(id=job["launch"]).state == "dead"
