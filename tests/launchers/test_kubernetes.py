"""The Kubernetes launcher, through the official Python client, against a local server
answering as the Kubernetes API documents (batch/v1 Jobs, core/v1 Pods and their logs): the
requests it makes to create a Job, read its status, read its pod's output, and delete it. No
cluster runs here; what a cluster does with the Job (scheduling, pulling, signals) is not
exercised, nor is in-cluster configuration."""

from __future__ import annotations

import pytest

from tests.launchers.recording import RecordingServer
from workspaces.launchers import LaunchError, WorkerSpec
from workspaces.launchers.kubernetes import KubernetesLauncher

JOBS = r"/apis/batch/v1/namespaces/workers/jobs"
JOB = JOBS + r"/coflux-labc"
SPEC = WorkerSpec(
    launch_id="Labc",
    modules=["app.flows"],
    env={"COFLUX_SESSION": "S1.secret", "COFLUX_HOST": "coflux:7777"},
)


def job(status: dict) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "coflux-labc", "namespace": "workers"},
        "status": status,
    }


@pytest.fixture
def cluster():
    server = RecordingServer()
    server.route("POST", JOBS, lambda r, m: (201, r.body))
    server.route("GET", JOB + r"/status", lambda r, m: (200, job({"active": 1})))
    deleted = {"kind": "Status", "apiVersion": "v1", "status": "Success"}
    server.route("DELETE", JOB, lambda r, m: (200, deleted))
    serving = server.serve()
    server.host = next(serving)
    yield server
    serving.close()


def config(cluster, **fields):
    return {
        "image": "app:1",
        "namespace": "workers",
        "apiServer": f"http://{cluster.host}",
        "token": "k8s-token",
        **fields,
    }


def test_it_creates_a_job_running_the_worker(cluster):
    launcher = KubernetesLauncher(stop_seconds=60)
    fields = {
        "serviceAccount": "coflux",
        "imagePullPolicy": "Always",
        "imagePullSecrets": ["registry"],
        "nodeSelector": {"gpu": "a100"},
        "labels": {"team": "data"},
        "annotations": {"note": "x"},
        "resources": {"limits": {"nvidia.com/gpu": 1}},
        "activeDeadlineSeconds": 3600,
    }

    handle = launcher.launch(SPEC, config(cluster, **fields))

    assert handle == {"namespace": "workers", "job": "coflux-labc"}
    [create] = cluster.made("POST", JOBS)
    assert create.headers["authorization"] == "Bearer k8s-token"
    body = create.body
    assert (body["apiVersion"], body["kind"]) == ("batch/v1", "Job")
    assert body["metadata"]["name"] == "coflux-labc"
    assert body["metadata"]["labels"] == {"team": "data", "coflux/launch": "Labc"}
    spec = body["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 3600)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["terminationGracePeriodSeconds"] == 60
    assert pod["serviceAccountName"] == "coflux"
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    assert pod["nodeSelector"] == {"gpu": "a100"}
    [container] = pod["containers"]
    assert container["image"] == "app:1"
    assert container["command"] == ["coflux", "worker", "app.flows"]
    assert container["env"] == [
        {"name": "COFLUX_HOST", "value": "coflux:7777"},
        {"name": "COFLUX_SESSION", "value": "S1.secret"},
    ]
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 1}}


def test_a_refused_job_is_a_launch_error(cluster):
    forbidden = {"kind": "Status", "status": "Failure", "message": "jobs is forbidden"}
    cluster.route("POST", JOBS, lambda r, m: (403, forbidden))

    with pytest.raises(LaunchError, match="403"):
        KubernetesLauncher().launch(SPEC, config(cluster))


def test_an_active_job_is_alive(cluster):
    status = KubernetesLauncher().poll(
        {"namespace": "workers", "job": "coflux-labc"}, config(cluster)
    )

    assert status.alive
    assert cluster.made("DELETE", JOB) == []


def test_a_failed_job_is_reported_with_its_output_and_deleted(cluster):
    failed = {
        "failed": 1,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
        ],
    }
    cluster.route("GET", JOB + r"/status", lambda r, m: (200, job(failed)))
    pods = {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {},
        "items": [{"metadata": {"name": "coflux-labc-x1"}}],
    }
    cluster.route("GET", r"/api/v1/namespaces/workers/pods", lambda r, m: (200, pods))
    cluster.route(
        "GET",
        r"/api/v1/namespaces/workers/pods/coflux-labc-x1/log",
        lambda r, m: (200, "ImportError: app\n", "text/plain"),
    )

    status = KubernetesLauncher().poll(
        {"namespace": "workers", "job": "coflux-labc"}, config(cluster)
    )

    assert not status.alive
    assert status.error.startswith("the Job failed (BackoffLimitExceeded")
    assert "ImportError: app" in status.error
    [listed] = cluster.made("GET", r"/api/v1/namespaces/workers/pods")
    assert listed.query["labelSelector"] == ["job-name=coflux-labc"]
    [log] = cluster.made("GET", r"/api/v1/namespaces/workers/pods/coflux-labc-x1/log")
    assert log.query["tailLines"] == ["20"]
    [delete] = cluster.made("DELETE", JOB)
    assert delete.query["propagationPolicy"] == ["Background"]


def test_a_job_that_is_gone_is_not_alive(cluster):
    status = KubernetesLauncher().poll({"namespace": "workers", "job": "other"}, config(cluster))

    assert (status.alive, status.error) == (False, "the Job is gone")


def test_stopping_deletes_the_job_with_a_grace_period(cluster):
    KubernetesLauncher(stop_seconds=90).stop(
        {"namespace": "workers", "job": "coflux-labc"}, config(cluster)
    )

    [delete] = cluster.made("DELETE", JOB)
    assert delete.query == {"propagationPolicy": ["Background"], "gracePeriodSeconds": ["90"]}
    assert delete.headers["authorization"] == "Bearer k8s-token"


def test_stopping_a_job_that_is_gone_is_done(cluster):
    KubernetesLauncher().stop({"namespace": "workers", "job": "other"}, config(cluster))


def test_without_an_api_server_outside_a_cluster_is_a_launch_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(LaunchError, match="not inside a cluster"):
        KubernetesLauncher().launch(SPEC, {"image": "app:1"})


def test_an_api_server_that_cannot_be_reached_is_a_launch_error():
    unreachable = {"image": "app:1", "apiServer": "http://127.0.0.1:1"}

    with pytest.raises(LaunchError, match="cannot reach"):
        KubernetesLauncher().launch(SPEC, unreachable)
