"""Runs for the run page's tests, made by the real orchestrator from worker messages.

``RunBuilder`` plays a worker: it starts a run, makes its executions call, wait, log, succeed
and fail, each message applied by an orchestrator tick, so the rows are the ones a real run
leaves (steps, executions, results, dependencies, logs), invariants included.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from runs.models import Run
from tests.orchestration.support import Harness, messages, queue_run, submit, value

TARGETS = [
    {"module": "app.flows", "name": "main", "type": "workflow"},
    {
        "module": "app.flows",
        "name": "inc",
        "type": "task",
        "parameters": [{"name": "x", "annotation": "int", "default": None}],
    },
    {"module": "app.flows", "name": "fetch", "type": "task"},
]


class RunBuilder:
    def __init__(self) -> None:
        self.harness = Harness()
        self.harness.connect(targets=TARGETS)
        self.workspace = self.harness.workspace
        self.project = self.harness.project
        self.refs = 0

    def start(self, run_id: str = "Rtest1") -> str:
        """A run whose root is running; returns the root execution's ID."""
        root = queue_run(self.workspace, run_id)
        self.harness.tick({"kind": "wake"})
        self.send({"type": "started", "execution": root})
        return root

    def run(self, run_id: str = "Rtest1") -> Run:
        return Run.objects.select_related("workspace").get(pk=run_id)

    def send(self, *items: dict[str, Any]) -> list[Any]:
        """Apply worker messages, all in one tick."""
        envelopes = [
            {
                "kind": "message",
                "session": self.harness.session,
                "channel": "worker-channel-1",
                "message": item,
            }
            for item in items
        ]
        return self.harness.tick(*envelopes)

    def call(
        self,
        parent: str,
        target: str = "inc",
        *,
        arguments: list[Any] | None = None,
        group: int | None = None,
        group_name: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """``parent`` calls ``target``; returns the new execution's ID."""
        return self.calls(parent, [arguments or [1]], target, group, group_name, options)[0]

    def calls(
        self,
        parent: str,
        argument_lists: list[list[Any]],
        target: str = "inc",
        group: int | None = None,
        group_name: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> list[str]:
        """``parent`` makes one call per argument list, in one tick."""
        items = []
        for arguments in argument_lists:
            self.refs += 1
            items.append(
                submit(
                    parent,
                    ref=str(self.refs),
                    target=target,
                    arguments=[value(a) for a in arguments],
                    options=options,
                    group=group,
                    group_name=group_name,
                )
            )
        outbox = self.send(*items)
        return [m["execution"] for m in messages(outbox, "submitted")]

    def wait(self, execution: str, *targets: str) -> None:
        """``execution`` waits for (and so depends on) ``targets``."""
        self.send({"type": "wait", "execution": execution, "targets": list(targets), "reply": True})

    def succeed(self, execution: str, data: Any = None) -> None:
        self.send({"type": "started", "execution": execution})
        self.send(
            {
                "type": "result",
                "execution": execution,
                "result": {"type": "value", "value": value(data)},
            }
        )

    def fail(
        self, execution: str, message: str = "no", frames: list[dict[str, Any]] | None = None
    ) -> None:
        error = {
            "type": "builtins.ValueError",
            "message": message,
            "frames": frames or [],
            "retryable": None,
        }
        self.send(
            {"type": "result", "execution": execution, "result": {"type": "error", "error": error}}
        )

    def log(
        self, execution: str, template: str, values: dict[str, Any] | None = None, level: int = 2
    ) -> None:
        entry = [int(timezone.now().timestamp() * 1000), level, template, values or {}]
        self.send({"type": "log", "execution": execution, "entries": [entry]})

    def rerun(self, step: str, workspace: str | None = None) -> dict[str, Any]:
        outbox = self.harness.tick(
            {
                "kind": "command",
                "command": {"type": "rerun", "step": step, "workspace": workspace},
                "reply_to": "reply-1",
            }
        )
        [reply] = messages(outbox, "orchestrator.reply")
        return reply
