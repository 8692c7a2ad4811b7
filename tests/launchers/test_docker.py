"""The Docker launcher, through Docker's Python client, against a local server answering as the
Engine API documents (https://docs.docker.com/reference/api/engine/version/v1.44/): the
requests it makes to create, start, inspect, read the logs of, stop and remove a container.
No Docker engine runs here; what an engine does with these requests is not exercised."""

from __future__ import annotations

import struct

import pytest

from tests.launchers.recording import RecordingServer
from workspaces.launchers import LaunchError, WorkerSpec
from workspaces.launchers.docker import DockerLauncher

API = r"/v1\.44"
CONTAINER = "4f1c0ffee"


def inspected(running: bool, exit_code: int = 0) -> dict:
    return {
        "Id": CONTAINER,
        "Name": "/coflux-Labc",
        "State": {
            "Status": "running" if running else "exited",
            "Running": running,
            "ExitCode": exit_code,
            "Error": "",
        },
        "Config": {"Tty": False, "Image": "app:1"},
    }


def multiplexed(*lines: tuple[int, str]) -> bytes:
    """Log lines as the Engine frames them without a TTY: stream, 3 zero bytes, size, data."""
    return b"".join(
        struct.pack(">BxxxL", stream, len(text)) + text.encode() for stream, text in lines
    )


@pytest.fixture
def engine():
    server = RecordingServer()
    server.route("GET", r"/version", lambda r, m: (200, {"ApiVersion": "1.44", "Version": "25.0"}))
    server.route(
        "POST", API + r"/containers/create", lambda r, m: (201, {"Id": CONTAINER, "Warnings": []})
    )
    server.route("POST", API + rf"/containers/{CONTAINER}/start", lambda r, m: (204, None))
    server.route("GET", API + rf"/containers/{CONTAINER}/json", lambda r, m: (200, inspected(True)))
    server.route("POST", API + rf"/containers/{CONTAINER}/stop", lambda r, m: (204, None))
    server.route("DELETE", API + rf"/containers/{CONTAINER}", lambda r, m: (204, None))
    serving = server.serve()
    server.host = next(serving)
    yield server
    serving.close()


def config(engine, **fields):
    return {"image": "app:1", "dockerHost": f"tcp://{engine.host}", **fields}


SPEC = WorkerSpec(
    launch_id="Labc",
    modules=["app.flows", "app.more"],
    env={"COFLUX_HOST": "10.0.0.1:7777", "COFLUX_SESSION": "S1.secret", "MODE": "x"},
)


def test_it_creates_and_starts_a_container_running_the_worker(engine):
    handle = DockerLauncher(stop_seconds=30).launch(SPEC, config(engine))

    assert handle == {"container": CONTAINER}
    [create] = engine.made("POST", API + r"/containers/create")
    assert create.query["name"] == ["coflux-Labc"]
    body = create.body
    assert body["Image"] == "app:1"
    assert body["Cmd"] == ["coflux", "worker", "app.flows", "app.more"]
    assert sorted(body["Env"]) == [
        "COFLUX_HOST=10.0.0.1:7777",
        "COFLUX_SESSION=S1.secret",
        "MODE=x",
    ]
    assert body["Labels"] == {"coflux.launch": "Labc"}
    assert body["HostConfig"]["NetworkMode"] == "host"
    assert len(engine.made("POST", API + rf"/containers/{CONTAINER}/start")) == 1


def test_the_adapter_and_network_mode_come_from_the_pool(engine):
    spec = WorkerSpec("Labc", ["app"], {}, adapter=["python", "-m", "coflux"])

    DockerLauncher().launch(spec, config(engine, networkMode="bridge"))

    [create] = engine.made("POST", API + r"/containers/create")
    assert create.body["Cmd"] == ["python", "-m", "coflux", "worker", "app"]
    assert create.body["HostConfig"]["NetworkMode"] == "bridge"


def test_a_missing_image_is_a_launch_error(engine):
    engine.route(
        "POST", API + r"/containers/create", lambda r, m: (404, {"message": "No such image: x"})
    )
    engine.route("POST", API + r"/images/create", lambda r, m: (404, {"message": "not found"}))

    with pytest.raises(LaunchError, match="no image"):
        DockerLauncher().launch(SPEC, config(engine))


def test_a_running_container_is_alive(engine):
    status = DockerLauncher().poll({"container": CONTAINER}, config(engine))

    assert status.alive
    assert engine.made("DELETE", API + rf"/containers/{CONTAINER}") == []


def test_an_exited_container_is_reported_with_its_output_and_removed(engine):
    engine.route(
        "GET", API + rf"/containers/{CONTAINER}/json", lambda r, m: (200, inspected(False, 3))
    )
    logs = multiplexed((1, "starting\n"), (2, "ModuleNotFoundError: app\n"))
    engine.route(
        "GET",
        API + rf"/containers/{CONTAINER}/logs",
        lambda r, m: (200, logs, "application/vnd.docker.multiplexed-stream"),
    )

    status = DockerLauncher().poll({"container": CONTAINER}, config(engine))

    assert not status.alive
    assert status.error.startswith("exited with code 3")
    assert "ModuleNotFoundError: app" in status.error
    [read] = engine.made("GET", API + rf"/containers/{CONTAINER}/logs")
    assert read.query["tail"] == ["20"]
    assert len(engine.made("DELETE", API + rf"/containers/{CONTAINER}")) == 1


def test_a_container_that_is_gone_is_not_alive(engine):
    status = DockerLauncher().poll({"container": "other"}, config(engine))

    assert (status.alive, status.error) == (False, "the container is gone")


def test_stopping_gives_the_worker_time_to_drain_then_removes_the_container(engine):
    DockerLauncher(stop_seconds=42).stop({"container": CONTAINER}, config(engine))

    [stop] = engine.made("POST", API + rf"/containers/{CONTAINER}/stop")
    assert stop.query["t"] == ["42"]
    assert len(engine.made("DELETE", API + rf"/containers/{CONTAINER}")) == 1


def test_stopping_a_container_that_is_gone_is_done(engine):
    DockerLauncher().stop({"container": "other"}, config(engine))

    assert engine.made("POST", API + r"/containers/other/stop") == []


def test_an_engine_that_cannot_be_reached_is_a_launch_error():
    with pytest.raises(LaunchError, match="Docker"):
        DockerLauncher().launch(SPEC, {"image": "app:1", "dockerHost": "tcp://127.0.0.1:1"})


def test_an_engine_refusing_is_a_launch_error(engine):
    engine.route(
        "POST", API + rf"/containers/{CONTAINER}/start", lambda r, m: (500, {"message": "boom"})
    )

    with pytest.raises(LaunchError, match="boom"):
        DockerLauncher().launch(SPEC, config(engine))
