"""The state of the execution running in this executor process.

An executor process runs exactly one execution, so the context is a process-wide global rather
than a context variable: threads the user starts see it too.

Two threads touch a context. The main thread runs user code, which submits calls and reads
results; a reader thread hands over what the worker sends back (``submitted``, ``resolved``,
``error``). They meet under one condition variable. Submissions are pipelined: ``submit``
returns at once and only reading a handle's ID or result waits for the replies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import ExecutionError, result_exception
from .execution import Execution
from .serialization import deserialize, serialize

if TYPE_CHECKING:
    from .capture import LogBuffer
    from .outgoing import Outgoing
    from .targets import Target

_current: ExecutionContext | None = None


def current() -> ExecutionContext | None:
    """The running execution's context, or ``None`` outside an executor."""
    return _current


def activate(context: ExecutionContext | None) -> None:
    global _current
    _current = context


class ExecutionContext:
    def __init__(self, execution_id: str, outgoing: Outgoing, logs: LogBuffer) -> None:
        self.execution_id = execution_id
        self.logs = logs
        self._outgoing = outgoing
        self._send = outgoing.send
        self._changed = threading.Condition()
        self._next_ref = 0
        self._ids: dict[str, str] = {}
        self._submit_errors: dict[str, str] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._asked: set[str] = set()
        self._group: int | None = None
        self._groups = 0

    # --- calls ---------------------------------------------------------------------------

    def submit(
        self, target: Target[Any, Any], arguments: list[Any], *, wait: bool
    ) -> Execution[Any]:
        """Send a ``submit`` for a call and return its (pending) handle without waiting."""
        encoded = [serialize(argument) for argument in arguments]
        with self._changed:
            self._next_ref += 1
            ref = str(self._next_ref)
            group = self._group
        self._send(
            {
                "type": "submit",
                "ref": ref,
                "parent": self.execution_id,
                "module": target.module,
                "target": target.name,
                "target_type": target.type,
                "arguments": encoded,
                "options": target.options,
                "group": group,
                "wait": wait,
            }
        )
        return Execution(target.module, target.name, context=self, ref=ref)

    def id_for(self, ref: str) -> str:
        """The ID the server gave the call submitted as ``ref``; waits for the reply."""
        self._block_until(lambda: ref in self._ids or ref in self._submit_errors)
        with self._changed:
            if ref in self._ids:
                return self._ids[ref]
            raise ExecutionError(self._submit_errors[ref])

    def result(self, handle: Execution[Any]) -> Any:
        target_id = handle.id
        with self._changed:
            known = target_id in self._results
        # Reading a result the server already pushed still records the dependency.
        self._wait_message(target_id, reply=not known)
        self._block_until(lambda: target_id in self._results)
        with self._changed:
            result = self._results[target_id]
        return self._outcome(target_id, result)

    def poll(self, handle: Execution[Any], timeout: float | None, default: Any) -> Any:
        """Children's results are pushed unasked; for other executions ask once for a reply."""
        target_id = handle.id
        with self._changed:
            known = target_id in self._results
            ask = not known and target_id not in self._asked and bool(timeout)
        if known or ask:
            self._wait_message(target_id, reply=ask)
        if timeout:
            self._block_until(lambda: target_id in self._results, timeout)
        with self._changed:
            result = self._results.get(target_id)
        if result is None:
            return default
        return self._outcome(target_id, result)

    def _wait_message(self, target_id: str, *, reply: bool) -> None:
        if reply:
            with self._changed:
                self._asked.add(target_id)
        self._send(
            {"type": "wait", "execution": self.execution_id, "targets": [target_id], "reply": reply}
        )

    def _block_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait for a reply; held messages (see ``coflux.outgoing``) are sent first."""
        with self._changed:
            if predicate():
                return
        self._outgoing.flush()
        with self._changed:
            self._changed.wait_for(predicate, timeout)

    @staticmethod
    def _outcome(target_id: str, result: dict[str, Any]) -> Any:
        if result.get("type") == "value":
            return deserialize(result["value"])
        raise result_exception(result, target_id)

    # --- groups and logs -----------------------------------------------------------------

    @contextlib.contextmanager
    def group(self) -> Iterator[int]:
        with self._changed:
            self._groups += 1
            group_id = self._groups
            outer, self._group = self._group, group_id
        try:
            yield group_id
        finally:
            self._group = outer

    def log(self, level: int, template: str | None, values: dict[str, Any]) -> None:
        # Entries always carry a template string: without one, only the values are shown.
        encoded = {name: _log_value(value) for name, value in values.items()}
        self.logs.add(level, template or "", encoded)

    # --- replies from the worker (reader thread) -----------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        with self._changed:
            if kind == "submitted":
                self._ids[message["ref"]] = message["execution"]
            elif kind == "resolved":
                self._results[message["target"]] = message["result"]
            elif kind == "error" and "ref" in message:
                self._submit_errors[message["ref"]] = message.get("message") or message["error"]
            else:
                return
            self._changed.notify_all()
        if kind != "resolved":
            self._outgoing.answered()


def _log_value(value: Any) -> dict[str, Any]:
    # A log call must not fail the execution because a value has no encoding.
    try:
        return serialize(value)
    except TypeError:
        return serialize(repr(value))
