"""Inputs: questions executions ask people (SPEC §1 Input, §3.15).

An execution asks with ``submit_input``; the orchestrator makes the input ``<run>/i<n>``, or
returns the run's input with the same key if the asking execution's workspace sees it (its own
or a base's, as memo hits), and replies ``input_submitted``. The same key with another prompt,
schema or requires is refused (``input_mismatch``), and so is ``initial`` without a schema.

An input is waited for as an execution is: ``outcomes.chains`` resolves input IDs here, to
("pending", id) while unanswered and ("done", result) once responded (``value``), dismissed or
cancelled; waiters are filed under the input's ID. Answers come from the API as commands
(``respond_input``, ``dismiss_input``), cancellations from executions (``cancel``): each is
final, and tells the waiters, which resumes executions suspended on the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jsonschema import SchemaError, validators
from jsonschema.exceptions import best_match

from coflux_wire import protocol
from projects.errors import Code
from runs.models import Input, InputDependency
from runs.orchestration import outcomes, records
from runs.orchestration.envelopes import Incoming, Reply, refusal
from runs.orchestration.memory import Chain, Memory, remember
from runs.orchestration.tick import Tick
from runs.values import from_plain_json

INPUT_ID = re.compile(r"R[0-9A-Za-z]{1,32}/i[1-9][0-9]{0,8}")
"""``<run>/i<n>``: an input's ID (execution IDs never hold a ``/``)."""


def is_input_id(value: Any) -> bool:
    return isinstance(value, str) and INPUT_ID.fullmatch(value) is not None


def run_of(input_id: str) -> str:
    return input_id.split("/", 1)[0]


# --- asking -------------------------------------------------------------------------------


def submitted(memory: Memory, tick: Tick, items: list[Incoming[protocol.SubmitInput]]) -> None:
    """Make (or find) the inputs running executions ask for, and reply with their IDs."""
    accepted = []
    for item in items:
        problem = _refusal(item)
        if problem is None:
            accepted.append(item)
        else:
            tick.send(item.channel, {**records.error(*problem), "ref": item.message["ref"]})
    if not accepted:
        return
    runs = {run_of_execution(item.message["execution"]) for item in accepted}
    asked = _already_asked(accepted)
    keyed = _keyed(runs, {item.message.get("key") for item in accepted} - {None, ""})
    counts = _counts(runs)
    rows: list[Input] = []
    for item in accepted:
        message = item.message
        execution_id, ref = message["execution"], message["ref"]
        run_id = run_of_execution(execution_id)
        workspace_id = memory.running[execution_id].workspace_id
        existing = asked.get((execution_id, ref))
        if existing is None and message.get("key"):
            existing = _visible(memory, keyed.get((run_id, message["key"]), []), workspace_id)
            if existing is not None and not _same_prompt(existing, message):
                error = records.error(
                    Code.INPUT_MISMATCH,
                    f"input {existing.id} has the key {message['key']!r} but asks something "
                    "else (its template, placeholders, schema or requires differ)",
                )
                tick.send(item.channel, {**error, "ref": ref})
                continue
        if existing is None:
            counts[run_id] = counts.get(run_id, 0) + 1
            existing = _new_input(message, run_id, counts[run_id], workspace_id, tick.now)
            rows.append(existing)
            keyed.setdefault((run_id, existing.key), []).insert(0, existing)
            memory.pending_inputs.add(existing.id)
            tick.inputs[existing.id] = workspace_id
        asked[(execution_id, ref)] = existing
        tick.send(item.channel, {"type": "input_submitted", "ref": ref, "input": existing.id})
    tick.writes.insert(rows)


def run_of_execution(execution_id: str) -> str:
    return execution_id.split(":", 1)[0]


def _refusal(item: Incoming[protocol.SubmitInput]) -> tuple[Code, str] | None:
    """Why an ask cannot be taken, if it cannot."""
    message = item.message
    if message["execution"] not in item.session.executions:
        return Code.INVALID_SUBMIT, f"{message['execution']} is not running on this worker"
    schema = message.get("schema")
    if message.get("initial") is not None and schema is None:
        return Code.INVALID_INPUT, "an input with 'initial' values needs a schema"
    if schema is not None:
        try:
            validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            return Code.INVALID_INPUT, f"the schema is not a valid JSON schema: {exc.message}"
    return None


def _already_asked(items: list[Incoming[protocol.SubmitInput]]) -> dict[tuple[str, str], Input]:
    """Inputs made by earlier copies of these asks (re-sent after a reconnect)."""
    executions = {item.message["execution"] for item in items}
    rows = Input.objects.filter(execution_id__in=executions).exclude(execution_ref="")
    return {(row.execution_id, row.execution_ref): row for row in rows}


def _keyed(runs: set[str], keys: set[str]) -> dict[tuple[str, str], list[Input]]:
    """The inputs of these runs with these keys, newest first."""
    found: dict[tuple[str, str], list[Input]] = {}
    if keys:
        rows = Input.objects.filter(run_id__in=runs, key__in=keys).order_by("-number")
        for row in rows:
            found.setdefault((row.run_id, row.key), []).append(row)
    return found


def _counts(runs: set[str]) -> dict[str, int]:
    """The highest input number of each run so far."""
    rows = Input.objects.filter(run_id__in=runs).order_by("run_id", "-number")
    counts: dict[str, int] = {}
    for run_id, number in rows.values_list("run_id", "number"):
        counts.setdefault(run_id, number)
    return counts


def _visible(memory: Memory, candidates: list[Input], workspace_id: int) -> Input | None:
    """The newest of a key's inputs asked in this workspace or one of its bases."""
    ancestry = memory.ancestry(workspace_id)
    return next((row for row in candidates if row.workspace_id in ancestry), None)


def _same_prompt(row: Input, message: protocol.SubmitInput) -> bool:
    return (
        row.template == message["template"]
        and row.placeholders == message["placeholders"]
        and row.schema == message.get("schema")
        and row.requires == (message.get("requires") or {})
    )


def _new_input(
    message: protocol.SubmitInput, run_id: str, number: int, workspace_id: int, now: datetime
) -> Input:
    actions = message.get("actions")
    return Input(
        id=f"{run_id}/i{number}",
        run_id=run_id,
        number=number,
        execution_id=message["execution"],
        execution_ref=message["ref"],
        workspace_id=workspace_id,
        key=message.get("key") or "",
        template=message["template"],
        placeholders=message["placeholders"],
        schema=message.get("schema"),
        title=message.get("title") or "",
        actions={"respond": actions[0], "dismiss": actions[1]} if actions else None,
        initial=message.get("initial"),
        requires=message.get("requires") or {},
        created_at=now,
    )


# --- waiting ------------------------------------------------------------------------------


def chains(memory: Memory, ids: Iterable[str]) -> dict[str, Chain]:
    """Where each input stands: ("pending", id), ("done", result) or ("unknown", None)."""
    found: dict[str, Chain] = {}
    missing = []
    for input_id in ids:
        if input_id in memory.results:
            found[input_id] = ("done", memory.results[input_id])
        elif input_id in memory.pending_inputs:
            found[input_id] = ("pending", input_id)
        else:
            missing.append(input_id)
    if missing:
        rows = Input.objects.filter(id__in=missing, run__project_id=memory.project_id).only(
            "id", "state", "response"
        )
        for row in rows:
            if row.state == Input.State.PENDING:
                memory.pending_inputs.add(row.id)
                found[row.id] = ("pending", row.id)
            else:
                result = answer(row)
                remember(memory.results, row.id, result)
                found[row.id] = ("done", result)
    for input_id in missing:
        found.setdefault(input_id, ("unknown", None))
    return found


def answer(row: Input) -> dict[str, Any]:
    """An answered input's result, as ``resolved`` carries it."""
    if row.state == Input.State.RESPONDED:
        return {"type": "value", "value": from_plain_json(row.response)}
    return {"type": str(row.state)}


def dependency_rows(pairs: list[tuple[str, str]], now: datetime) -> list[InputDependency]:
    """Rows recording that executions waited for inputs: (execution, input) pairs."""
    return [InputDependency(execution_id=e, input_id=i, created_at=now) for e, i in pairs]


def waited_by(executions: list[str]) -> list[tuple[str, str]]:
    """(execution, input) pairs: the inputs these executions waited for, from the database."""
    return list(
        InputDependency.objects.filter(execution_id__in=executions).values_list(
            "execution_id", "input_id"
        )
    )


# --- answering ----------------------------------------------------------------------------


def respond(memory: Memory, tick: Tick, command: dict[str, Any]) -> Reply:
    """Record a person's response; it must match the input's schema, if it has one."""
    row, problem = _pending_input(memory, command)
    if row is None:
        return problem
    value = command.get("value")
    mismatch = check_response(row.schema, value)
    if mismatch is not None:
        return refusal(Code.INVALID_RESPONSE, mismatch)
    result = {"type": "value", "value": from_plain_json(value)}
    _close(memory, tick, row, Input.State.RESPONDED, result, command, response=value)
    return {"ok": True, "input": row.id, "state": "responded"}


def dismiss(memory: Memory, tick: Tick, command: dict[str, Any]) -> Reply:
    """Record that a person declined to answer; waiters get ``dismissed``."""
    row, problem = _pending_input(memory, command)
    if row is None:
        return problem
    _close(memory, tick, row, Input.State.DISMISSED, {"type": "dismissed"}, command)
    return {"ok": True, "input": row.id, "state": "dismissed"}


def cancel(memory: Memory, tick: Tick, ids: list[str]) -> list[str]:
    """Cancel these inputs if they are still unanswered; returns those cancelled."""
    rows = Input.objects.filter(
        id__in=ids, run__project_id=memory.project_id, state=Input.State.PENDING
    )
    cancelled = []
    for row in rows:
        _close(memory, tick, row, Input.State.CANCELLED, {"type": "cancelled"}, {})
        cancelled.append(row.id)
    return cancelled


def check_response(schema: Any, value: Any) -> str | None:
    """Why ``value`` does not match ``schema`` (formats included), or None if it does."""
    if schema is None:
        return None
    validator = validators.validator_for(schema)
    checked = validator(schema, format_checker=validator.FORMAT_CHECKER)
    error = best_match(checked.iter_errors(value))
    if error is None:
        return None
    where = "".join(f"[{part!r}]" for part in error.absolute_path)
    at = f" at {where}" if where else ""
    return f"The response{at} does not match the schema: {error.message}"


def _pending_input(memory: Memory, command: dict[str, Any]) -> tuple[Input | None, Reply]:
    input_id = command.get("input")
    row = (
        Input.objects.filter(id=input_id, run__project_id=memory.project_id).first()
        if is_input_id(input_id)
        else None
    )
    if row is None:
        return None, refusal(Code.INPUT_NOT_FOUND, f"No input {input_id!r}.")
    if row.state != Input.State.PENDING:
        return None, refusal(
            Code.INPUT_ALREADY_ANSWERED, f"Input {row.id} was already {row.state}."
        )
    return row, {"ok": True}


def _close(
    memory: Memory,
    tick: Tick,
    row: Input,
    state: Input.State,
    result: dict[str, Any],
    command: dict[str, Any],
    response: Any = None,
) -> None:
    """Make an unanswered input final and tell whoever waits for it."""
    by = command.get("by")
    values: dict[str, Any] = {"state": state, "responded_at": tick.now}
    if state == Input.State.RESPONDED:
        values["response"] = response
    if isinstance(by, str):
        values["responded_by"] = by[:150]
    tick.writes.update(Input, [row.id], values, state=Input.State.PENDING)
    memory.pending_inputs.discard(row.id)
    tick.inputs[row.id] = row.workspace_id
    outcomes.announce(memory, tick, row.id, result)
