"""Pool workers as Kubernetes Jobs, through the official Python client.

A launch creates a Job ``coflux-<launch>`` in the pool's ``namespace`` (default ``default``):
one pod, never restarted (``backoffLimit: 0``), whose container runs ``<adapter or coflux>
worker <modules>`` from the pool's ``image`` with the spec's environment, and the pool's
``serviceAccount``, ``imagePullPolicy``, ``imagePullSecrets``, ``nodeSelector``, ``labels``,
``annotations``, ``resources`` and ``activeDeadlineSeconds``. The API server is the pool's
``apiServer`` with its bearer ``token`` (and ``caCert``, or ``insecure``), else the cluster the
server runs in (its service account).

A poll reads the Job's status; a finished Job is deleted once the end of its pod's output is
read. Stopping deletes the Job and its pod: the pod gets SIGTERM (the worker drains), then
SIGKILL once ``COFLUX_LAUNCH_STOP_SECONDS`` (its grace period) have passed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3
from django.conf import settings
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from workspaces.launchers.base import Handle, LaunchError, Status, WorkerSpec, tail

LABEL = "coflux/launch"
UNREACHABLE = (OSError, urllib3.exceptions.HTTPError)


@contextlib.contextmanager
def _api(config: Mapping[str, Any]) -> Iterator[k8s.ApiClient]:
    configuration = k8s.Configuration()
    if config.get("apiServer"):
        configuration.host = config["apiServer"]
        if config.get("token"):
            configuration.api_key = {"BearerToken": config["token"]}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        configuration.verify_ssl = not config.get("insecure", False)
        if config.get("caCert"):
            configuration.ssl_ca_cert = config["caCert"]
    else:
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise LaunchError(f"no apiServer given and not inside a cluster: {exc}") from None
    api = k8s.ApiClient(configuration)
    try:
        yield api
    finally:
        api.close()


def _refused(exc: ApiException) -> LaunchError:
    return LaunchError(f"Kubernetes refused ({exc.status} {exc.reason}): {exc.body or ''}"[:2000])


class KubernetesLauncher:
    def __init__(self, stop_seconds: float | None = None) -> None:
        self.stop_seconds = (
            settings.COFLUX_LAUNCH_STOP_SECONDS if stop_seconds is None else stop_seconds
        )

    def launch(self, spec: WorkerSpec, config: Mapping[str, Any]) -> Handle:
        namespace = config.get("namespace") or "default"
        job = self.job(spec, config)
        with _api(config) as api:
            try:
                k8s.BatchV1Api(api).create_namespaced_job(namespace, job)
            except ApiException as exc:
                raise _refused(exc) from None
            except UNREACHABLE as exc:
                raise LaunchError(f"cannot reach Kubernetes: {exc}") from None
        return {"namespace": namespace, "job": job["metadata"]["name"]}

    def job(self, spec: WorkerSpec, config: Mapping[str, Any]) -> dict[str, Any]:
        """The Job a launch creates, as the API takes it."""
        labels = {**(config.get("labels") or {}), LABEL: spec.launch_id}
        annotations = dict(config.get("annotations") or {})
        container: dict[str, Any] = {
            "name": "worker",
            "image": config["image"],
            "command": [*(spec.adapter or ["coflux"]), *spec.arguments()],
            "env": [{"name": name, "value": value} for name, value in sorted(spec.env.items())],
        }
        if config.get("imagePullPolicy"):
            container["imagePullPolicy"] = config["imagePullPolicy"]
        if config.get("resources"):
            container["resources"] = config["resources"]
        pod: dict[str, Any] = {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": round(self.stop_seconds),
            "containers": [container],
        }
        if config.get("serviceAccount"):
            pod["serviceAccountName"] = config["serviceAccount"]
        if config.get("imagePullSecrets"):
            pod["imagePullSecrets"] = [{"name": name} for name in config["imagePullSecrets"]]
        if config.get("nodeSelector"):
            pod["nodeSelector"] = dict(config["nodeSelector"])
        job_spec: dict[str, Any] = {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod},
        }
        if config.get("activeDeadlineSeconds"):
            job_spec["activeDeadlineSeconds"] = config["activeDeadlineSeconds"]
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"coflux-{spec.launch_id.lower()}",
                "labels": labels,
                "annotations": annotations,
            },
            "spec": job_spec,
        }

    def poll(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> Status:
        namespace, name = _job(handle)
        with _api(config) as api:
            batch = k8s.BatchV1Api(api)
            try:
                job = batch.read_namespaced_job_status(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return Status(alive=False, error="the Job is gone")
                raise _refused(exc) from None
            except UNREACHABLE as exc:
                raise LaunchError(f"cannot reach Kubernetes: {exc}") from None
            ended = _ended(job.status)
            if ended is None:
                return Status(alive=True)
            output = _output(api, namespace, name)
            with contextlib.suppress(ApiException, *UNREACHABLE):
                batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
        output = tail(output)
        return Status(alive=False, error=f"{ended}\n{output}" if output else ended)

    def stop(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        namespace, name = _job(handle)
        with _api(config) as api:
            try:
                k8s.BatchV1Api(api).delete_namespaced_job(
                    name,
                    namespace,
                    propagation_policy="Background",
                    grace_period_seconds=round(self.stop_seconds),
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise _refused(exc) from None
            except UNREACHABLE as exc:
                raise LaunchError(f"cannot reach Kubernetes: {exc}") from None


def _job(handle: Mapping[str, Any]) -> tuple[str, str]:
    namespace, name = handle.get("namespace"), handle.get("job")
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise LaunchError(f"not a Kubernetes launch: {dict(handle)!r}")
    return namespace, name


def _ended(status: Any) -> str | None:
    """Why the Job ended, or None while it runs."""
    if status is None:
        return None
    for condition in status.conditions or []:
        if condition.status == "True" and condition.type in ("Complete", "Failed"):
            reason = ": ".join(filter(None, (condition.reason, condition.message)))
            return f"the Job {'completed' if condition.type == 'Complete' else 'failed'}" + (
                f" ({reason})" if reason else ""
            )
    if status.succeeded:
        return "the Job completed"
    if status.failed:
        return "the Job failed"
    return None


def _output(api: k8s.ApiClient, namespace: str, name: str) -> str:
    """The end of what the Job's pod wrote, if it can still be read."""
    core = k8s.CoreV1Api(api)
    try:
        pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={name}")
        if not pods.items:
            return ""
        return core.read_namespaced_pod_log(pods.items[0].metadata.name, namespace, tail_lines=20)
    except (ApiException, *UNREACHABLE):
        return ""
