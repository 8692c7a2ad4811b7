"""Driving an orchestrator directly with envelopes, as the worker consumer would."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from coflux_wire import protocol
from projects.models import Project
from runs.creation import create_run
from runs.orchestration.orchestrator import Orchestrator
from workspaces.models import Workspace

CHANNEL = "worker-channel-1"
TARGETS = [
    {"module": "app.flows", "name": "main", "type": "workflow"},
    {"module": "app.flows", "name": "inc", "type": "task"},
]


def value(data):
    return {"type": "inline", "format": "json", "data": data, "refs": []}


def hello(session=None, workspace="default", concurrency=0, targets=TARGETS, **tags):
    return {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": workspace,
        "session": session,
        "concurrency": concurrency,
        "provides": {},
        "accepts": {},
        "targets": targets,
        **tags,
    }


def queue_run(
    workspace: Workspace, run_id: str = "Rtest1", options: dict[str, Any] | None = None
) -> str:
    """A run of ``app.flows/main`` whose root step (with these options) is queued."""
    execution = create_run(
        project_id=workspace.project_id,
        workspace_id=workspace.pk,
        module="app.flows",
        target="main",
        arguments=[value(1)],
        options=options or {},
        now=timezone.now(),
        due=None,
        run_id=run_id,
    )
    return execution.id


class Harness:
    def __init__(self) -> None:
        self.project = Project.objects.ensure("default")
        self.workspace = Workspace.objects.create(project=self.project, name="default")
        self.orchestrator = Orchestrator(self.project.id)
        self.orchestrator.load()
        self.session = ""
        self.token = ""
        """The last new session's token, which resuming it takes."""

    def tick(self, *envelopes):
        return self.orchestrator.tick(list(envelopes))

    def connect(self, channel=CHANNEL, **kwargs):
        outbox = self.tick({"kind": "connect", "channel": channel, "hello": hello(**kwargs)})
        welcome = [m for c, m in outbox if m["type"] == "welcome"][0]
        self.session = welcome["session"]
        self.token = welcome.get("token", self.token)
        return outbox

    def send(self, message, channel=CHANNEL):
        return self.tick(
            {"kind": "message", "session": self.session, "channel": channel, "message": message}
        )


def messages(outbox, kind):
    return [m for _, m in outbox if m["type"] == kind]


def submit(parent, ref="1", target="inc", arguments=None, options=None, wait=False, **extra):
    return {
        "type": "submit",
        "ref": ref,
        "parent": parent,
        "module": "app.flows",
        "target": target,
        "target_type": "workflow" if target == "main" else "task",
        "arguments": arguments if arguments is not None else [value(1)],
        "options": options or {},
        "group": None,
        "wait": wait,
        **extra,
    }


def result(execution, kind="value", data=None, **fields):
    outcome = {"type": kind, **fields}
    if kind == "value":
        outcome["value"] = value(data)
    return {"type": "result", "execution": execution, "result": outcome}


def error(execution, error_type="builtins.ValueError", retryable=None):
    return {
        "type": "result",
        "execution": execution,
        "result": {
            "type": "error",
            "error": {"type": error_type, "message": "no", "frames": [], "retryable": retryable},
        },
    }
