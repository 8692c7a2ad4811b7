"""Speaking the worker protocol by hand over a real websocket, as a worker (or someone
pretending to be one) would, with whatever credentials a test gives."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from coflux_wire import protocol
from tests.processes import Server

GREET_TARGET = {"module": "app.flows", "name": "greet", "type": "workflow"}


def hello(workspace: str, session: str | None = None) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": workspace,
        "session": session,
        "concurrency": 0,
        "provides": {},
        "accepts": {},
        "targets": [GREET_TARGET],
    }


def value(data: Any) -> dict[str, Any]:
    return {"type": "inline", "format": "json", "data": data, "refs": []}


class FakeWorker:
    """One connection to the worker websocket."""

    def __init__(
        self,
        server: Server,
        token: str | None,
        *,
        project: str = "default",
        origin: str | None = None,
    ) -> None:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if origin is not None:
            headers["Origin"] = origin
        self.stack = ExitStack()
        self.ws: ClientConnection = self.stack.enter_context(
            connect(
                f"ws://{server.host}/api/projects/{project}/worker",
                additional_headers=headers,
                open_timeout=10,
            )
        )
        self.unread: list[dict[str, Any]] = []

    def close(self) -> None:
        self.stack.close()

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def next(self, timeout: float = 10) -> dict[str, Any]:
        if not self.unread:
            self.unread.extend(protocol.messages_of(self.ws.recv(timeout=timeout)))
        return self.unread.pop(0)

    def next_of(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The next message of type ``kind``, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.1, deadline - time.monotonic()))
            if message["type"] == kind:
                return message

    def say_hello(self, workspace: str, session: str | None = None) -> dict[str, Any]:
        """The server's first answer to a hello: a welcome or an error."""
        self.send(hello(workspace, session))
        return self.next()

    def refusal(self) -> tuple[dict[str, Any], int | None]:
        """The error the server sent, and the code it then closed the connection with."""
        error = self.next()
        try:
            while True:
                self.ws.recv(timeout=10)
        except ConnectionClosed as closed:
            return error, closed.rcvd.code if closed.rcvd is not None else None

    def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """What arrives within ``seconds``."""
        got = list(self.unread)
        self.unread.clear()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.extend(protocol.messages_of(self.ws.recv(timeout=left)))
            except TimeoutError:
                break
        return got
