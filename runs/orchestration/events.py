"""What changed in a tick, told to whoever listens once it has committed.

After each commit the orchestrator publishes, on channel-layer groups:

- ``run.<run>``: ``{"type": "run.changed", "run", "steps": [...], "logs": bool,
  "metrics": bool, "inputs": bool}`` (steps created or whose executions changed state, inputs
  asked or answered), and ``{"type": "run.finished", "run", "outcome"?}`` once the run's root
  has its final result (``outcome``: ``{"status", "result"}``, when that attempt is known to be
  the root's latest and the outcome is small);
- ``workspace.<id>``: ``{"type": "workspace.changed", "workspace", "runs": [...],
  "sessions": bool, "inputs": bool}`` (runs with changes in that workspace, sessions that came
  or went, inputs asked there or answered).

Studio's live pages and the API's waits for results listen there. Events name what changed,
not how (a finished run's outcome aside, pushed so that a waiting client needs no read): a
listener reads the database for the rest, so an event lost costs freshness, never correctness.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from coflux_wire import protocol
from runs.orchestration.bus import GROUP_PREFIX
from runs.orchestration.memory import Memory
from runs.orchestration.tick import Outbox, Tick

MAX_OUTCOME_BYTES = 64 * 1024
"""The largest outcome an event carries; a waiter reads a larger one from the database."""


def run_group(run_id: str) -> str:
    return f"run.{run_id}"


def workspace_group(workspace_id: int) -> str:
    return f"workspace.{workspace_id}"


def of_tick(memory: Memory, tick: Tick) -> Outbox:
    """The group messages announcing what ``tick`` changed."""
    steps: defaultdict[str, set[str]] = defaultdict(set)
    workspace_runs: defaultdict[int, set[str]] = defaultdict(set)
    for execution_id, workspace_id in tick.changed.items():
        run_id, _, rest = execution_id.partition(":")
        steps[run_id].add(f"{run_id}:{rest.partition(':')[0]}")
        run = memory.runs.get(run_id)
        for workspace in {workspace_id, run.workspace_id if run else None} - {None}:
            workspace_runs[workspace].add(run_id)
    asked_in = {input_id.split("/", 1)[0] for input_id in tick.inputs}
    input_workspaces = set(tick.inputs.values())
    outbox: Outbox = []
    for run_id in sorted(steps.keys() | tick.logged | tick.measured | asked_in):
        message: dict[str, Any] = {
            "type": "run.changed",
            "run": run_id,
            "steps": sorted(steps.get(run_id, ())),
            "logs": run_id in tick.logged,
            "metrics": run_id in tick.measured,
            "inputs": run_id in asked_in,
        }
        outbox.append((GROUP_PREFIX + run_group(run_id), message))
    for run_id, outcome in sorted(tick.finished_runs.items()):
        finished: dict[str, Any] = {"type": "run.finished", "run": run_id}
        if outcome is not None and len(protocol.encode(outcome)) <= MAX_OUTCOME_BYTES:
            finished["outcome"] = outcome
        outbox.append((GROUP_PREFIX + run_group(run_id), finished))
    for workspace_id in sorted(workspace_runs.keys() | tick.sessions_changed | input_workspaces):
        message = {
            "type": "workspace.changed",
            "workspace": workspace_id,
            "runs": sorted(workspace_runs.get(workspace_id, ())),
            "sessions": workspace_id in tick.sessions_changed,
            "inputs": workspace_id in input_workspaces,
        }
        outbox.append((GROUP_PREFIX + workspace_group(workspace_id), message))
    return outbox
