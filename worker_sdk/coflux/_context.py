"""The state of the execution running in this executor process (``coflux._current`` says which
one that is).

Two threads touch a context. The main thread runs user code, which submits calls and reads
results; a reader thread hands over what the worker sends back (``submitted``, ``resolved``,
``pending``, ``error``). They meet under one condition variable. Submissions are pipelined:
``submit`` returns at once and only reading a handle's ID or result waits for the replies.

Waiting. A result that is not known yet is asked for with a ``wait`` wanting a reply. The reply
to each target is either its ``resolved`` result or ``pending`` (the worker answers for the
execution's own children itself), so one round trip tells whether a result exists: that is all
``poll`` and a suspense timeout of 0 wait for. ``resolved`` follows later for pending targets.
Inputs (``cf.Prompt``) are waited for the same way; asking one (``submit_input``) waits for the
server's reply, which names it or says why it is refused.

Blocking. A wait for results that lasts longer than ``BLOCKED_AFTER`` (``result()`` of a
handle not resolved yet, ``select``, ``poll`` with a timeout) sends ``waiting`` true, and false
when the execution runs on: the server does not count a blocked execution against its worker's
concurrency, so the work it waits for can run there. Waits that end sooner (most, and every
one-round-trip ``poll``) send nothing. While several threads of the execution wait, it counts as
blocked until the last of them resumes.

Suspending. An execution that suspends (``cf.suspend``, or a wait in ``cf.suspense`` that ran
out) records its ``suspended`` result here and raises ``Suspend`` to unwind the user's code. The
executor reports the recorded result whatever the code does with the exception.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import ExecutionError, result_exception
from ._execution import Execution
from ._input import Input
from ._limits import MAX_LOG_LINE, clip
from ._metrics import MetricRecorder
from ._serialization import deserialize, serialize

if TYPE_CHECKING:
    from ._capture import LogBuffer
    from ._outgoing import Outgoing
    from ._targets import Target

Handle = Execution[Any] | Input[Any]
"""What an execution may wait for: another execution's result, or an input's answer."""

BLOCKED_AFTER = 0.05
"""Seconds a wait for results lasts before the execution reports itself blocked."""

suspense_timeout: ContextVar[float | None] = ContextVar("coflux_suspense_timeout", default=None)
"""Seconds a wait may take before the execution suspends; ``None`` (outside ``cf.suspense``)
waits without limit. A context variable, as the scope of a ``with`` block: threads the user
starts are not in it."""


class Suspend(BaseException):
    """Unwinds the code of an execution that suspends itself; the executor catches it.

    Not an ``Exception``, so that ``except Exception`` in the user's code lets it through.
    """


class ExecutionContext:
    def __init__(self, execution_id: str, outgoing: Outgoing, logs: LogBuffer) -> None:
        self.execution_id = execution_id
        self.logs = logs
        self.started = time.monotonic()
        """When the execution started: metric points are ``at`` seconds since then."""
        self._metrics: MetricRecorder | None = None
        self._outgoing = outgoing
        self._send = outgoing.send
        self._changed = threading.Condition()
        self._next_ref = 0
        self._ids: dict[str, str] = {}
        self._submit_errors: dict[str, str] = {}
        self._asks: set[str] = set()
        """Refs of ``submit_input`` messages (the rest are calls)."""
        self._results: dict[str, dict[str, Any]] = {}
        self._arrivals: dict[str, int] = {}
        """When each result arrived (a sequence number), so that ``select`` knows the first."""
        self._sequence = itertools.count()
        self._blocked = 0
        """Threads blocked on results past ``BLOCKED_AFTER``; ``_blocking`` orders the reports."""
        self._blocking = threading.Lock()
        self._asked: dict[str, int] = {}
        """Waits wanting a reply sent per target; ``_answered`` counts ``pending`` replies."""
        self._answered: dict[str, int] = {}
        self._group: tuple[int, str | None] | None = None
        self._groups = 0
        self.suspension: dict[str, Any] | None = None
        """The ``suspended`` result, once the execution has suspended itself."""

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
        message: dict[str, Any] = {
            "type": "submit",
            "ref": ref,
            "parent": self.execution_id,
            "module": target.module,
            "target": target.name,
            "target_type": target.type,
            "arguments": encoded,
            "options": target.options,
            "group": None,
            "wait": wait,
        }
        if group is not None:
            message["group"], message["group_name"] = group
        # The lines logged so far go first, ahead of any the call itself logs.
        self.logs.flush()
        self._send(message)
        return Execution(target.module, target.name, context=self, ref=ref)

    def submit_input(self, prompt: dict[str, Any]) -> str:
        """Ask people a question (``cf.Prompt``): the input's ID, once the server replied.

        Raises ``ValueError`` if the server refuses it (the same key with other content,
        initial values without a schema, a schema that is not one).
        """
        with self._changed:
            self._next_ref += 1
            ref = str(self._next_ref)
            self._asks.add(ref)
        self.logs.flush()
        self._send({"type": "submit_input", "ref": ref, "execution": self.execution_id, **prompt})
        self._block_until(lambda: ref in self._ids or ref in self._submit_errors)
        with self._changed:
            if ref in self._ids:
                return self._ids[ref]
            raise ValueError(self._submit_errors[ref])

    def id_for(self, ref: str) -> str:
        """The ID the server gave the call submitted as ``ref``; waits for the reply."""
        self._block_until(lambda: ref in self._ids or ref in self._submit_errors)
        with self._changed:
            if ref in self._ids:
                return self._ids[ref]
            raise ExecutionError(self._submit_errors[ref])

    def result(self, handle: Handle) -> Any:
        """The outcome, waiting as long as the suspense timeout allows, then suspending."""
        target_id = handle.id
        if self._known(target_id):
            # Reading a result the server already pushed still records the dependency.
            self._record([target_id])
        elif self._wait_any([target_id], suspense_timeout.get()) is None:
            self.suspend(None, [target_id])
        return self._outcome(target_id)

    def poll(self, handle: Handle, timeout: float | None, default: Any) -> Any:
        """The outcome if there is one within ``timeout`` seconds, else ``default``.

        Asks the server at least once (one round trip, even with no timeout); never suspends.
        """
        target_id = handle.id
        if self._known(target_id):
            self._record([target_id])
        elif self._wait_any([target_id], timeout or 0) is None:
            return default
        return self._outcome(target_id)

    def select(self, handles: list[Handle]) -> int:
        """The index of the first handle to resolve (of the earliest if several already are).

        Waits as long as the suspense timeout allows, then suspends on all of them.
        """
        ids = [None if handle._local else handle.id for handle in handles]
        targets = _unique(target for target in ids if target is not None)
        with self._changed:
            first = next(
                (i for i, target in enumerate(ids) if target is None or target in self._results),
                None,
            )
        if first is not None:
            if targets:
                self._record(targets)
            return first
        winner = self._wait_any(targets, suspense_timeout.get())
        if winner is None:
            self.suspend(None, targets)
        return ids.index(winner)

    def cancel(self, handles: Iterable[Handle]) -> None:
        """Ask the server to cancel the executions (and their descendants) not known to be done.

        Does not wait: their ``cancelled`` results arrive like any other.
        """
        ids = _unique(handle.id for handle in handles if not handle._local)
        with self._changed:
            targets = [target for target in ids if target not in self._results]
        if targets:
            self._send({"type": "cancel", "execution": self.execution_id, "targets": targets})

    def suspend(self, after: int | None, dependencies: list[str]) -> NoReturn:
        """Stop the execution, to be started again from the top after ``after`` (epoch ms) and
        once one of ``dependencies`` (if any) has a result."""
        with self._changed:
            if self.suspension is None:
                self.suspension = {
                    "type": "suspended",
                    "after": after,
                    "dependencies": dependencies,
                }
        raise Suspend

    def _known(self, target_id: str) -> bool:
        with self._changed:
            return target_id in self._results

    def _record(self, targets: list[str]) -> None:
        """A wait wanting no reply: it records dependencies on results already read."""
        self._send(
            {"type": "wait", "execution": self.execution_id, "targets": targets, "reply": False}
        )

    def _wait_any(self, targets: list[str], timeout: float | None) -> str | None:
        """Ask for the targets' results; return the first of them to resolve, or ``None``.

        With ``timeout`` ``None`` this waits until one resolves. Otherwise it waits at least
        until every target is resolved or reported pending (one round trip), and at most until
        ``timeout`` seconds have passed since the call.
        """
        deadline = time.monotonic() + (timeout or 0)
        with self._changed:
            for target in targets:
                self._asked[target] = self._asked.get(target, 0) + 1
            asked = {target: self._asked[target] for target in targets}
        self._send(
            {"type": "wait", "execution": self.execution_id, "targets": targets, "reply": True}
        )

        def resolved() -> bool:
            return any(target in self._results for target in targets)

        def answered() -> bool:
            return resolved() or all(
                self._answered.get(target, 0) >= asked[target] for target in targets
            )

        if timeout is None:
            self._block_until(resolved, blocking=True)
        else:
            self._block_until(answered)
            remaining = deadline - time.monotonic()
            if remaining > 0:
                self._block_until(resolved, remaining, blocking=True)
        with self._changed:
            done = [target for target in targets if target in self._results]
            return min(done, key=self._arrivals.__getitem__) if done else None

    def _block_until(
        self, predicate: Callable[[], bool], timeout: float | None = None, *, blocking: bool = False
    ) -> None:
        """Wait for a reply; held messages (see ``coflux._outgoing``) are sent first.

        A ``blocking`` wait (for results, not a round trip) that lasts longer than
        ``BLOCKED_AFTER`` reports the execution blocked until it ends.
        """
        with self._changed:
            if predicate():
                return
        self._outgoing.flush()
        if not blocking:
            with self._changed:
                self._changed.wait_for(predicate, timeout)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        moment = BLOCKED_AFTER if timeout is None else min(timeout, BLOCKED_AFTER)
        with self._changed:
            if self._changed.wait_for(predicate, moment):
                return
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return
        self._report_blocked(1)
        try:
            with self._changed:
                self._changed.wait_for(predicate, remaining)
        finally:
            self._report_blocked(-1)

    def _report_blocked(self, change: int) -> None:
        """Count a thread in or out of a blocking wait; the first in and last out tell."""
        with self._blocking:
            self._blocked += change
            if self._blocked == (1 if change > 0 else 0):
                waiting = change > 0
                self._send({"type": "waiting", "execution": self.execution_id, "waiting": waiting})

    def _outcome(self, target_id: str) -> Any:
        with self._changed:
            result = self._results[target_id]
        if result.get("type") == "value":
            return deserialize(result["value"])
        raise result_exception(result, target_id)

    # --- groups and logs -----------------------------------------------------------------

    @contextlib.contextmanager
    def group(self, name: str | None = None) -> Iterator[int]:
        with self._changed:
            self._groups += 1
            group_id = self._groups
            outer, self._group = self._group, (group_id, name)
        try:
            yield group_id
        finally:
            self._group = outer

    def log(self, level: int, template: str | None, values: dict[str, Any]) -> None:
        # Entries always carry a template string: without one, only the values are shown.
        encoded = {name: _log_value(value) for name, value in values.items()}
        self.logs.add(level, clip(template or "", MAX_LOG_LINE), encoded)

    def metrics(self) -> MetricRecorder:
        """The execution's metrics, made with the first point recorded."""
        if self._metrics is not None:
            return self._metrics
        with self._changed:
            if self._metrics is None:
                self._metrics = MetricRecorder(self.execution_id, self._send, started=self.started)
            return self._metrics

    def close(self) -> None:
        """Send what the execution recorded and has not sent yet (before its result)."""
        with self._changed:
            metrics = self._metrics
        if metrics is not None:
            metrics.close()
        self.logs.close()

    # --- replies from the worker (reader thread) -----------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        answers_submit = False
        with self._changed:
            if kind == "submitted":
                self._ids[message["ref"]] = message["execution"]
                answers_submit = True
            elif kind == "input_submitted":
                self._ids[message["ref"]] = message["input"]
            elif kind == "resolved":
                self._resolve(message["target"], message["result"])
            elif kind == "pending":
                for target in message["targets"]:
                    # Replies beyond the waits sent (a wait re-sent after a reconnect) would
                    # answer a later wait before the server has.
                    count = self._answered.get(target, 0) + 1
                    self._answered[target] = min(count, self._asked.get(target, 0))
            elif kind == "error" and "ref" in message:
                self._submit_errors[message["ref"]] = message.get("message") or message["error"]
                # Only calls (``submit``) count as unanswered in ``Outgoing``; asks do not.
                answers_submit = message["ref"] not in self._asks
            elif kind == "error" and isinstance(message.get("target"), str):
                # A wait for an execution the server does not know: waiting would never end.
                error = {"type": "builtins.LookupError", "message": message.get("message", "")}
                self._resolve(message["target"], {"type": "error", "error": error})
            else:
                return
            self._changed.notify_all()
        if answers_submit:
            self._outgoing.answered()

    def _resolve(self, target: str, result: dict[str, Any]) -> None:
        if target not in self._results:
            self._arrivals[target] = next(self._sequence)
        self._results[target] = result


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


MAX_LOG_REPR = 1000


def _log_value(value: Any) -> dict[str, Any]:
    # A log call must not fail the execution because a value has no encoding, nor because the
    # blob store cannot take it: it is logged as (the start of) its repr instead.
    try:
        return serialize(value)
    except Exception:
        try:
            text = repr(value)[:MAX_LOG_REPR]
        except Exception:
            text = f"<{type(value).__name__}>"
        return {"type": "inline", "format": "json", "data": text, "refs": []}
