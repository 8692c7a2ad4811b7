"""A client of the server's REST API, for the CLI and the worker.

Errors::

    ClientError
    ├── ApiError            the server answered with an error ({"error", "message", "details"})
    └── ServerUnreachable   no answer: refused, timed out, or not an HTTP server

Riding out a restart. A client made with ``notice`` retries reads (``GET``) that find the server
gone, or answered 502/503/504 by a proxy in front of it, once it has reached that server: with
backoff (1→10 s plus jitter, as the worker reconnects), saying each time through ``notice``
what failed and when it tries again. A server that cannot be reached at the first request still
fails at once, and writes are never repeated (a run must not be submitted twice).
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

import httpx

from ._version import __version__

UNFINISHED = frozenset({"queued", "running"})
MAX_WAIT = 60.0
"""The longest wait the server holds a result request for; longer waits take several."""
POLL_INTERVAL = 0.25
"""How often ``wait_for_execution`` looks at an unfinished execution."""
STATUS_OF_RESULT = {
    "value": "succeeded",
    "error": "failed",
    "timeout": "timeout",
    "abandoned": "abandoned",
    "cancelled": "cancelled",
}
"""A final result's type as a status, named as the server names runs' statuses."""


RETRIED_STATUSES = frozenset({502, 503, 504})
_LOST = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)
"""Failures of a request that reached a server (as against one that could not connect)."""
"""Answers of a proxy whose server is away, or of one still starting."""


def backoff_delay(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row: 1, 2, 4, 8, then 10, plus 0–1."""
    return min(10.0, 2.0 ** (max(failures, 1) - 1)) + random.uniform(0, 1)


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET
"""An argument left out, where ``None`` means something (e.g. clearing a setting)."""


class ClientError(Exception):
    """Talking to the server failed."""


class ApiError(ClientError):
    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class ServerUnreachable(ClientError):
    pass


class Client:
    def __init__(
        self,
        host: str,
        project: str,
        *,
        secure: bool = False,
        token: str | None = None,
        timeout: float = 30.0,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        """``notice`` makes reads ride out a restart of the server (see the module's doc)."""
        self.base_url = f"{'https' if secure else 'http'}://{host}"
        self.project = project
        self.timeout = timeout
        self._notice = notice
        self._reached = False
        headers = {"User-Agent": f"coflux/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        failures = 0
        while True:
            try:
                body = self._request_once(method, path, timeout=timeout, **kwargs)
            except (ServerUnreachable, ApiError) as exc:
                if not self._retries(method, exc):
                    raise
                failures += 1
                delay = backoff_delay(failures)
                assert self._notice is not None
                self._notice(f"{exc}; trying again in {delay:.1f} s")
                time.sleep(delay)
                continue
            if failures:
                assert self._notice is not None
                self._notice(f"reached the server at {self.base_url} again")
            return body

    def _retries(self, method: str, exc: ClientError) -> bool:
        if self._notice is None or not self._reached or method != "GET":
            return False
        return not isinstance(exc, ApiError) or exc.status in RETRIED_STATUSES

    def _request_once(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        try:
            response = self._http.request(
                method, path, timeout=timeout if timeout is not None else self.timeout, **kwargs
            )
        except httpx.TransportError as exc:
            # Connected, then lost: the server was there (this may be its first answer, held
            # while it waits for a result).
            self._reached |= isinstance(exc, _LOST)
            if isinstance(exc, httpx.TimeoutException):
                raise ServerUnreachable(
                    f"the server at {self.base_url} did not answer in time"
                ) from None
            raise ServerUnreachable(
                f"cannot reach the server at {self.base_url} ({exc or type(exc).__name__})"
            ) from None
        if response.is_error:
            self._reached |= response.status_code not in RETRIED_STATUSES
            raise _api_error(response)
        if response.status_code == 204:
            self._reached = True
            return None
        try:
            body = response.json()
        except ValueError:
            raise ServerUnreachable(
                f"the server at {self.base_url} did not answer with JSON (is it a Coflux server?)"
            ) from None
        self._reached = True
        return body

    def _project_path(self, path: str) -> str:
        return f"/api/projects/{quote(self.project, safe='')}/{path}"

    def _workspace_path(self, workspace: str, path: str) -> str:
        return self._project_path(f"workspaces/{quote(workspace, safe='/')}/{path}")

    def discover(self) -> dict[str, Any]:
        return self._request("GET", "/api/discover")

    def register_manifests(
        self, workspace: str, modules: dict[str, list[dict[str, Any]]]
    ) -> list[str]:
        """Register each module's workflows (replacing what it had); the modules registered."""
        body = self._request(
            "POST", self._workspace_path(workspace, "manifests"), json={"modules": modules}
        )
        return body["modules"]

    def manifests(self, workspace: str) -> dict[str, list[dict[str, Any]]]:
        return self._request("GET", self._workspace_path(workspace, "manifests"))["modules"]

    def archive_module(self, workspace: str, module: str) -> dict[str, Any]:
        """Hide the module's registered workflows until it is registered again."""
        path = self._workspace_path(workspace, f"manifests/{quote(module, safe='')}/archive")
        return self._request("POST", path, json={})

    def submit(
        self,
        workspace: str,
        module: str,
        target: str,
        arguments: list[Any],
        *,
        idempotency_key: str | None = None,
        delay: float | None = None,
        retries: int | None = None,
        requires: dict[str, list[str]] | None | _Unset = UNSET,
        memo: bool | None = None,
    ) -> dict[str, str]:
        """Start a run; ``arguments`` are plain JSON. ``{"runId", "stepId", "executionId"}``.

        ``delay`` (seconds), ``retries`` (0: none), ``requires`` (``None`` clears them) and
        ``memo`` replace the workflow's registered options for this run; left out, they stay.
        """
        body: dict[str, Any] = {"module": module, "target": target, "arguments": arguments}
        if idempotency_key:
            body["idempotencyKey"] = idempotency_key
        if delay is not None:
            body["delay"] = delay
        if retries is not None:
            body["retries"] = retries
        if requires is not UNSET:
            body["requires"] = requires
        if memo is not None:
            body["memo"] = memo
        return self._request("POST", self._workspace_path(workspace, "runs"), json=body)

    def runs(
        self,
        workspace: str,
        *,
        status: str | None = None,
        workflow: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The workspace's runs, newest first: ``[{"id", "module", "target", "status",
        "createdAt"}]``; only those with ``status``, of ``workflow`` (MODULE/TARGET) or created
        at or after ``since`` (ISO 8601) when given, at most ``limit`` (default 50)."""
        filters = {"status": status, "workflow": workflow, "since": since, "limit": limit}
        params = {name: value for name, value in filters.items() if value is not None}
        return self._request("GET", self._workspace_path(workspace, "runs"), params=params)["runs"]

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's snapshot: its steps and their executions."""
        return self._request("GET", self._project_path(f"runs/{quote(run_id, safe='')}"))

    def result(self, run_id: str, *, wait: float = 0.0) -> dict[str, Any]:
        """``{"runId", "status", "result"}``, held up to ``wait`` seconds while unfinished."""
        wait = min(max(wait, 0.0), MAX_WAIT)
        return self._request(
            "GET",
            self._project_path(f"runs/{quote(run_id, safe='')}/result"),
            params={"wait": f"{wait:g}"} if wait else None,
            timeout=self.timeout + wait,
        )

    def logs(
        self,
        run_id: str,
        *,
        execution: str | None = None,
        after: int | None = None,
        from_ms: int | None = None,
        wait: float = 0.0,
    ) -> dict[str, Any]:
        """A page of the run's log lines: ``{"logs", "cursor", "done"}`` (see ``runs.logs``).

        Held up to ``wait`` seconds while there is nothing new and the run goes on.
        """
        wait = min(max(wait, 0.0), MAX_WAIT)
        params: dict[str, Any] = {}
        for name, value in (("execution", execution), ("after", after), ("from", from_ms)):
            if value is not None:
                params[name] = value
        if wait:
            params["wait"] = f"{wait:g}"
        return self._request(
            "GET",
            self._project_path(f"runs/{quote(run_id, safe='')}/logs"),
            params=params,
            timeout=self.timeout + wait,
        )

    def metrics(self, run_id: str, *, execution: str | None = None) -> dict[str, Any]:
        """The run's metric definitions and points per execution (see ``runs.metrics``)."""
        return self._request(
            "GET",
            self._project_path(f"runs/{quote(run_id, safe='')}/metrics"),
            params={"execution": execution} if execution else None,
        )

    def cancel(self, execution_id: str) -> list[str]:
        """Cancel the execution and its unfinished descendants; the IDs that were cancelled."""
        path = self._project_path(f"executions/{quote(execution_id, safe='')}/cancel")
        return self._request("POST", path, json={})["cancelled"]

    def rerun(self, step_id: str, *, workspace: str | None = None) -> dict[str, Any]:
        """Start a new attempt at the step: ``{"runId", "stepId", "executionId", "attempt"}``.

        In ``workspace``, or by default in the workspace of the step's latest execution.
        """
        path = self._project_path(f"steps/{quote(step_id, safe='')}/rerun")
        return self._request("POST", path, json={"workspace": workspace})

    def inputs(
        self, workspace: str, *, run: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """The workspace's inputs, oldest first, as the API shows them (camelCase)."""
        params = {key: value for key, value in (("run", run), ("state", state)) if value}
        return self._request("GET", self._workspace_path(workspace, "inputs"), params=params)[
            "inputs"
        ]

    def input(self, input_id: str) -> dict[str, Any]:
        """An input (``<run>/i<n>``): its prompt, schema, state and response."""
        return self._request("GET", self._input_path(input_id, ""))

    def respond_input(self, input_id: str, value: Any) -> dict[str, Any]:
        """Answer an input with JSON ``value``; the input as it is now."""
        return self._request("POST", self._input_path(input_id, "/respond"), json={"value": value})

    def dismiss_input(self, input_id: str) -> dict[str, Any]:
        return self._request("POST", self._input_path(input_id, "/dismiss"), json={})

    def _input_path(self, input_id: str, action: str) -> str:
        # ``<run>/i<n>``: the slash is part of the path the API expects.
        return self._project_path(f"inputs/{quote(input_id, safe='/')}{action}")

    def create_asset(
        self,
        entries: dict[str, dict[str, Any]],
        *,
        name: str | None = None,
        execution: str | None = None,
    ) -> dict[str, Any]:
        """Record an asset whose entries (``{path: {"blobKey", "size", "metadata"}}``) are in
        the blob store: ``{"id", "name", "count", "size", …}``."""
        body = {"name": name, "executionId": execution, "entries": entries}
        return self._request("POST", self._project_path("assets"), json=body)

    def asset(self, asset_id: str) -> dict[str, Any]:
        """``{"id", "name", "executionId", "createdAt", "count", "size", "entries": [{"path",
        "blobKey", "size", "metadata"}]}``."""
        return self._request("GET", self._project_path(f"assets/{quote(asset_id, safe='')}"))

    def workspaces(self) -> list[dict[str, Any]]:
        """The project's workspaces that are not archived: ``[{"name", "base", "state"}]``."""
        return self._request("GET", self._project_path("workspaces"))["workspaces"]

    def create_workspace(self, name: str, *, base: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if base is not None:
            body["base"] = base
        return self._request("POST", self._project_path("workspaces"), json=body)

    def update_workspace(
        self, workspace: str, *, name: str | None = None, base: str | None | _Unset = UNSET
    ) -> dict[str, Any]:
        """Rename the workspace and/or change its base (``None`` removes it)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if base is not UNSET:
            body["base"] = base
        path = self._project_path(f"workspaces/{quote(workspace, safe='/')}")
        return self._request("PATCH", path, json=body)

    def set_workspace_paused(self, workspace: str, paused: bool) -> dict[str, Any]:
        action = "pause" if paused else "resume"
        return self._request("POST", self._workspace_path(workspace, action), json={})

    def archive_workspace(self, workspace: str) -> dict[str, Any]:
        """Archive the workspace: ``{"name", "base", "state", "cancelled", "sessions"}``."""
        return self._request("POST", self._workspace_path(workspace, "archive"), json={})

    def sessions(self, workspace: str) -> list[dict[str, Any]]:
        """The workspace's live worker sessions: ``[{"id", "state", "load", "concurrency",
        "provides", "accepts", "targets", "createdAt", "lastSeenAt"}]``."""
        return self._request("GET", self._workspace_path(workspace, "sessions"))["sessions"]

    def queue(self, workspace: str) -> list[dict[str, Any]]:
        """The workspace's unfinished executions: ``[{"id", "module", "target", "status",
        "sessionId", "createdAt", "executeAfter"}]``."""
        return self._request("GET", self._workspace_path(workspace, "queue"))["executions"]

    def pools(self, workspace: str) -> list[dict[str, Any]]:
        """The workspace's pools: ``[{"name", "type", "state", "modules", "provides",
        "accepts", "fields", "createdAt", "updatedAt"}]``."""
        return self._request("GET", self._workspace_path(workspace, "pools"))["pools"]

    def pool(self, workspace: str, name: str) -> dict[str, Any]:
        return self._request("GET", self._pool_path(workspace, name))

    def create_pool(self, workspace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a pool from ``{"name", "type", "modules"?, "provides"?, "accepts"?,
        "fields"?}``."""
        return self._request("POST", self._workspace_path(workspace, "pools"), json=body)

    def update_pool(self, workspace: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``{"set"?, "unset"?, "modules"?, "provides"?, "accepts"?}`` into a pool."""
        return self._request("PATCH", self._pool_path(workspace, name), json=changes)

    def delete_pool(self, workspace: str, name: str) -> None:
        self._request("DELETE", self._pool_path(workspace, name))

    def set_pool_enabled(self, workspace: str, name: str, enabled: bool) -> dict[str, Any]:
        action = "enable" if enabled else "disable"
        return self._request("POST", self._pool_path(workspace, name, action), json={})

    def pool_launches(self, workspace: str, name: str) -> list[dict[str, Any]]:
        """The workers a pool launched, newest first: ``[{"id", "pool", "state", "session",
        "error", "createdAt", "launchedAt", "activatedAt", "drainingAt", "stoppedAt"}]``."""
        return self._request("GET", self._pool_path(workspace, name, "launches"))["launches"]

    def export_pools(self, workspace: str, only: list[str] | None = None) -> dict[str, Any]:
        path = self._workspace_path(workspace, "pools/export")
        return self._request("GET", path, params={"only": only or []})["pools"]

    def import_pools(
        self,
        workspace: str,
        pools: dict[str, Any],
        *,
        only: list[str] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Create or replace pools: ``{"created", "updated", "unchanged", "dryRun"}``."""
        body = {"pools": pools, "only": only or [], "dryRun": dry_run}
        return self._request("POST", self._workspace_path(workspace, "pools/import"), json=body)

    def _pool_path(self, workspace: str, name: str, action: str = "") -> str:
        path = f"pools/{quote(name, safe='')}" + (f"/{action}" if action else "")
        return self._workspace_path(workspace, path)

    def tokens(self) -> list[dict[str, Any]]:
        """The project's service tokens this client's token administers (never their secrets)."""
        return self._request("GET", self._project_path("tokens"))["tokens"]

    def create_token(self, name: str, workspaces: list[str]) -> dict[str, Any]:
        """A new service token; its secret is in ``token``, this once only."""
        body = {"name": name, "workspaces": workspaces}
        return self._request("POST", self._project_path("tokens"), json=body)

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        path = self._project_path(f"tokens/{quote(token_id, safe='')}/revoke")
        return self._request("POST", path, json={})

    def wait_for_result(self, run_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The run's result once it has finished (or as it stands after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = MAX_WAIT if deadline is None else deadline - time.monotonic()
            outcome = self.result(run_id, wait=max(min(remaining, MAX_WAIT), 0.0))
            if outcome["status"] not in UNFINISHED or remaining <= 0:
                return outcome

    def wait_for_execution(
        self, execution_id: str, *, timeout: float | None = None, own_attempt: bool = False
    ) -> dict[str, Any]:
        """``{"executionId", "status", "result"}`` of the execution once it has finished.

        Forwarded results are followed to the execution with the final result, whose ID is
        returned: a retry, a suspension's or recurrence's next attempt, a spawned run, a cached
        or deferred execution. With ``own_attempt`` the attempt's own outcome comes back
        instead: forwards to a later attempt of the same step are not followed, so a failed
        attempt that was retried reports its own error, a suspended one ``suspended`` (cache
        hits, deferred calls and spawned runs are still followed to their source). After
        ``timeout`` seconds, the status is as it stands ("queued", "running").
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: set[str] = set()
        while True:
            run_id = execution_id.split(":", 1)[0]
            execution = _find_execution(self.run(run_id), execution_id)
            result = execution["result"]
            successor = result.get("successorId") if result is not None else None
            if own_attempt and successor and _same_step(successor, execution_id):
                status = STATUS_OF_RESULT.get(result["type"], result["type"])
                return {"executionId": execution_id, "status": status, "result": result}
            if successor and execution_id not in seen:
                seen.add(execution_id)
                execution_id = successor
                continue
            if result is not None and result["type"] in STATUS_OF_RESULT:
                status = STATUS_OF_RESULT[result["type"]]
                return {"executionId": execution_id, "status": status, "result": result}
            if deadline is not None and time.monotonic() >= deadline:
                status = "queued" if execution["state"] == "queued" else "running"
                return {"executionId": execution_id, "status": status, "result": None}
            time.sleep(POLL_INTERVAL)


def _same_step(one: str, other: str) -> bool:
    """Whether two execution IDs (``<run>:<step>:<attempt>``) are attempts of one step."""
    return one.rsplit(":", 1)[0] == other.rsplit(":", 1)[0]


def _find_execution(snapshot: dict[str, Any], execution_id: str) -> dict[str, Any]:
    for step in snapshot["steps"]:
        for execution in step["executions"]:
            if execution["id"] == execution_id:
                return execution
    raise ApiError(404, "execution_not_found", f"No execution {execution_id!r}.")


def _api_error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return ApiError(
            response.status_code,
            body["error"],
            str(body.get("message") or body["error"]),
            body.get("details") if isinstance(body.get("details"), dict) else None,
        )
    return ApiError(
        response.status_code,
        "http_error",
        f"the server answered {response.status_code} {response.reason_phrase}",
    )
