"""What running executions tell the orchestrator: starts, logs, calls (with memoisation), waits,
cancellations and results.

Each function takes one kind of message, already validated at the protocol boundary; what is
checked here depends on the orchestrator's state (is the execution running on that session?).
"""

from __future__ import annotations

from typing import Any

from coflux_wire import protocol
from projects.errors import Code
from runs import keys
from runs.models import Dependency, Execution, MetricDefinition, MetricPoint, Step
from runs.orchestration import inputs, loading, outcomes, policies, records
from runs.orchestration.envelopes import Incoming
from runs.orchestration.memory import ExecutionSpec, Memory, SessionState, remember
from runs.orchestration.tick import Tick


def started(
    memory: Memory, tick: Tick, items: list[Incoming[protocol.Started]], finishing: set[str]
) -> None:
    """Record when executions started; ``finishing`` are those whose result is in this tick,
    which get their start time with their result."""
    ids = [
        item.message["execution"]
        for item in items
        if item.message["execution"] in item.session.executions
    ]
    tick.starting = {i for i in ids if i in finishing}
    ids = [i for i in ids if i not in tick.starting]
    for execution_id in ids:
        tick.touch(execution_id)
    tick.writes.update(Execution, ids, {"started_at": tick.now}, started_at=None)


def logs(memory: Memory, tick: Tick, items: list[Incoming[protocol.Log]]) -> None:
    rows = []
    for item in items:
        execution_id = item.message["execution"]
        if execution_id not in item.session.executions:
            continue
        rows += [records.log_row(execution_id, entry) for entry in item.message["entries"]]
        tick.logged.add(execution_id.split(":", 1)[0])
    tick.writes.insert(rows)


def metrics(memory: Memory, tick: Tick, items: list[Incoming[protocol.MetricMessage]]) -> None:
    """Store metric definitions and points; a series defined again (a message sent twice
    after a reconnect) keeps its first definition."""
    definitions: list[MetricDefinition] = []
    points: list[MetricPoint] = []
    for item in items:
        execution_id = item.message["execution"]
        if execution_id not in item.session.executions:
            continue
        tick.measured.add(execution_id.split(":", 1)[0])
        definitions += [
            MetricDefinition(
                execution_id=execution_id,
                key=definition["key"],
                group=definition.get("group"),
                scale=definition.get("scale"),
                throttle=definition.get("throttle"),
            )
            for definition in item.message["definitions"]
        ]
        points += [
            MetricPoint(execution_id=execution_id, key=key, value=value, at=at)
            for key, value, at in item.message["points"]
        ]
    tick.writes.insert(definitions, ignore_conflicts=True)
    tick.writes.insert(points)


def submits(memory: Memory, tick: Tick, items: list[Incoming[protocol.Submit]]) -> None:
    """Calls of running executions become steps, unless memoised or already submitted (a
    re-sent submit after a reconnect finds the step it made)."""
    accepted = []
    for item in items:
        if item.message["parent"] in item.session.executions:
            accepted.append(item)
            continue
        tick.send(
            item.channel,
            {
                **records.error(
                    Code.INVALID_SUBMIT,
                    f"the parent execution {item.message['parent']} is not running on this worker",
                ),
                "ref": item.message["ref"],
            },
        )
    if not accepted:
        return
    run_ids = {_run_of(item.message["parent"]) for item in accepted}
    loading.load_submitted_refs(memory, {item.message["parent"] for item in accepted})
    loading.load_step_counts(memory, run_ids)
    loading.load_runs(memory, run_ids)
    wanted = set()
    for item in accepted:
        run_id = _run_of(item.message["parent"])
        memo = _memo_key(memory, run_id, item.message)
        if memo:
            wanted.add((run_id, memo))
    loading.load_memos(memory, wanted)
    steps: list[Step] = []
    dependencies: list[Dependency] = []
    for item in accepted:
        message = item.message
        parent_id, ref = message["parent"], message["ref"]
        run_id = _run_of(parent_id)
        existing = memory.submitted.get((parent_id, ref))
        memo = _memo_key(memory, run_id, message)
        reused = memoised(memory, tick, run_id, memo, item.session.workspace_id) if memo else None
        if existing is not None:
            step_id, execution_id = existing
        elif reused is not None:
            step_id, execution_id = reused.rsplit(":", 1)[0], reused
            memory.submitted[(parent_id, ref)] = (step_id, execution_id)
        else:
            step = _new_step(memory, tick, item.session, message, run_id, memo)
            steps.append(step)
            step_id, execution_id = step.id, f"{step.id}:1"
            memory.submitted[(parent_id, ref)] = (step_id, execution_id)
            if memo:
                remember(memory.memos, (run_id, memo), execution_id)
        if message["wait"] or reused is not None:
            dependencies.append(
                Dependency(
                    execution_id=parent_id,
                    dependency_id=execution_id,
                    memo_hit=reused is not None,
                    created_at=tick.now,
                )
            )
        tick.send(
            item.channel,
            {"type": "submitted", "ref": ref, "execution": execution_id, "step": step_id},
        )
        if existing is not None or reused is not None:
            # Not a new child: its outcome may be known already, and is not pushed unasked.
            outcomes.watch(memory, tick, parent_id, execution_id)
    tick.writes.insert(steps)
    tick.writes.insert(dependencies, ignore_conflicts=True)


def _run_of(execution_id: str) -> str:
    """The run of an execution (``R…:n:m``) or an input (``R…/in``)."""
    return execution_id.split(":", 1)[0].split("/", 1)[0]


def _not_running(execution_id: str, code: Code) -> dict[str, Any]:
    return {**records.error(code, f"{execution_id} is not running here"), "execution": execution_id}


def _new_step(
    memory: Memory,
    tick: Tick,
    session: SessionState,
    message: protocol.Submit,
    run_id: str,
    memo: str,
) -> Step:
    """Record a call as a new step with a queued first execution."""
    number = memory.step_counts[run_id] = memory.step_counts[run_id] + 1
    step_id = f"{run_id}:{number}"
    options, arguments = message["options"], message["arguments"]
    module, target = message["module"], message["target"]
    step = Step(
        id=step_id,
        run_id=run_id,
        number=number,
        module=module,
        target=target,
        target_type=message["target_type"],
        parent_id=message["parent"],
        parent_ref=message["ref"],
        group=message["group"],
        group_name=(message.get("group_name") or "")[:255],
        arguments=arguments,
        options=options,
        memo_key=memo,
        defer_key=keys.defer_key(module, target, arguments, options.get("defer")),
        cache_key=keys.cache_key(module, target, arguments, options.get("cache")),
        created_at=tick.now,
    )
    spec = ExecutionSpec(
        id=f"{step_id}:1",
        step_id=step_id,
        run_id=run_id,
        attempt=1,
        workspace_id=session.workspace_id,
        module=module,
        target=target,
        target_type=step.target_type,
        arguments=arguments,
        options=options,
        created_at=tick.now,
        execute_after=None,
        parent_id=message["parent"],
        owner_id=message["parent"],
        requires=policies.step_requires(memory.runs[run_id].requires, options, root=False),
        defer_key=step.defer_key,
        cache_key=step.cache_key,
    )
    # Inserted after dispatch, so that most are written once, already assigned.
    outcomes.next_attempt(
        memory, tick, spec, policies.due_at(tick.now, options.get("delay_ms")), attempt=1
    )
    return step


def _memo_key(memory: Memory, run_id: str, message: protocol.Submit) -> str:
    memo = message["options"].get("memo")
    if memo is None:
        memo = memory.runs[run_id].memo if run_id in memory.runs else False
    return keys.memo_key(message["module"], message["target"], message["arguments"], memo)


def memoised(memory: Memory, tick: Tick, run_id: str, memo: str, workspace_id: int) -> str | None:
    """The execution a memoised call reuses: pending or succeeded, in this workspace or an
    ancestor."""
    execution_id = memory.memos.get((run_id, memo))
    if execution_id is None:
        return None
    status, end = outcomes.chains(memory, [execution_id])[execution_id]
    if status == "unknown" or status == "done" and end.get("type") != "value":
        return None
    workspace = loading.workspace_of(memory, tick, execution_id)
    if workspace is not None and workspace not in memory.ancestry(workspace_id):
        return None
    return execution_id


def waits(memory: Memory, tick: Tick, items: list[Incoming[protocol.Wait]]) -> None:
    """Record what executions wait for; answer those asking for a reply with the outcomes
    known now, and file them as waiters for the rest."""
    if not items:
        return
    found = outcomes.chains(memory, {t for item in items for t in item.message["targets"]})
    dependencies = []
    waited_inputs = []
    for item in items:
        waiter = item.message["execution"]
        if waiter not in item.session.executions:
            tick.send(item.channel, _not_running(waiter, Code.INVALID_WAIT))
            continue
        unresolved = []
        for target in item.message["targets"]:
            status, end = found[target]
            if status == "unknown":
                tick.send(
                    item.channel,
                    {
                        **records.error(Code.UNKNOWN_EXECUTION, f"no execution or input {target}"),
                        "execution": waiter,
                        "target": target,
                    },
                )
                continue
            if inputs.is_input_id(target):
                waited_inputs.append((waiter, target))
            else:
                dependencies.append(
                    Dependency(execution_id=waiter, dependency_id=target, created_at=tick.now)
                )
            if not item.message["reply"]:
                continue
            if status == "done":
                tick.send(item.channel, records.resolved(waiter, target, end))
            else:
                memory.waiters[end].add((waiter, target))
                unresolved.append(target)
        if unresolved:
            tick.send(item.channel, {"type": "pending", "execution": waiter, "targets": unresolved})
    tick.writes.insert(dependencies, ignore_conflicts=True)
    tick.writes.insert(inputs.dependency_rows(waited_inputs, tick.now), ignore_conflicts=True)


def cancels(memory: Memory, tick: Tick, items: list[Incoming[protocol.Cancel]]) -> None:
    """Cancel executions (with their descendants) and inputs, on behalf of an execution
    running on the sender's session, and only within the runs that session works on: a worker
    cannot cancel what belongs to other runs or other workers' runs."""
    targets = []
    for item in items:
        if item.message["execution"] not in item.session.executions:
            tick.send(item.channel, _not_running(item.message["execution"], Code.INVALID_CANCEL))
            continue
        runs = {_run_of(e) for e in item.session.executions}
        targets += [t for t in item.message["targets"] if _run_of(t) in runs]
    asked = [t for t in targets if inputs.is_input_id(t)]
    if asked:
        inputs.cancel(memory, tick, asked)
    if len(asked) < len(targets):
        outcomes.cancel(memory, tick, [t for t in targets if not inputs.is_input_id(t)])


def results(memory: Memory, tick: Tick, items: list[Incoming[protocol.ResultMessage]]) -> None:
    """Results of executions running on the sender's session are recorded (first result
    wins); any other is acknowledged so the worker forgets it."""
    accepted: list[outcomes.Outcome] = []
    for item in items:
        execution_id = item.message["execution"]
        running = memory.running.get(execution_id)
        if running is not None and running.session_id == item.session.id:
            accepted.append((execution_id, _without_successor(item.message["result"])))
        else:
            tick.send(item.channel, {"type": "ack", "execution": execution_id})
    outcomes.finish(memory, tick, accepted, ack=True)


def _without_successor(result: dict[str, Any]) -> dict[str, Any]:
    """A worker's result never names a successor: only the server forwards."""
    return {key: value for key, value in result.items() if key != "successor"}
