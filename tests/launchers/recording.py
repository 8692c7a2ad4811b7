"""A local HTTP server standing in for the Docker Engine API or the Kubernetes API: it records
each request (method, path, query, headers, JSON body) and answers as the API documents, from
routes a test declares. The launchers talk to it through their official clients, unmodified."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any] | tuple[int, Any, str]
"""(status, JSON body) or (status, raw body, content type)."""
Route = Callable[["Request", re.Match[str]], Answer]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class RecordingServer:
    routes: list[tuple[str, re.Pattern[str], Route]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def route(self, method: str, pattern: str, answer: Route) -> None:
        """Answer ``method`` requests whose path matches ``pattern`` (a regex, whole path)."""
        self.routes.insert(0, (method, re.compile(pattern), answer))

    def made(self, method: str, pattern: str) -> list[Request]:
        """The requests made with this method to paths matching ``pattern``."""
        return [
            request
            for request in self.requests
            if request.method == method and re.fullmatch(pattern, request.path)
        ]

    def serve(self) -> Iterator[str]:
        """Serve in a thread; yields the address (``127.0.0.1:port``)."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                recorder.requests.append(request)
                for method, pattern, answer in recorder.routes:
                    match = pattern.fullmatch(parts.path)
                    if method == self.command and match:
                        self._answer(*answer(request, match))
                        return
                self._answer(404, {"message": f"no route for {self.command} {parts.path}"})

            def _answer(self, status: int, body: Any, content_type: str = "") -> None:
                if content_type:
                    data = body if isinstance(body, bytes) else str(body).encode()
                else:
                    data = b"" if body is None else json.dumps(body).encode()
                    content_type = "application/json"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
