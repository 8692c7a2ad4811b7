"""Several server processes behind one port: ``manage.py serve --processes N``.

The supervisor binds the port once and starts N copies of ``manage.py serve`` that share the
listening socket (``--fd``): each accepts connections from it, so the kernel spreads HTTP
requests and worker websockets over the processes. They meet on the Redis channel layer and
the database; each project's orchestrator runs in the one process holding its lease, and moves
to another when that one dies (``runs.orchestration.lease``). A process that exits is started
again after a pause; SIGTERM or SIGINT to the supervisor stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

RESTART_PAUSE_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 15.0


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (IPv4) all processes share; raises ``OSError`` if the port is
    taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, sock: socket.socket, processes: int, say: Callable[[str], None]) -> None:
        self.sock = sock
        self.count = processes
        self.say = say
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def run(self) -> int:
        """Keep ``count`` processes serving until told to stop; returns an exit status."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for slot in range(self.count):
            self._start(slot)
        while not self.stopping:
            for slot, child in list(self.children.items()):
                status = child.poll()
                if status is None or self.stopping:
                    continue
                self.say(f"server process {child.pid} exited ({status}); starting another")
                time.sleep(RESTART_PAUSE_SECONDS)
                self._start(slot)
            time.sleep(0.1)
        return self._stop_all()

    def _start(self, slot: int) -> None:
        fd = self.sock.fileno()
        host, port = self.sock.getsockname()[:2]
        command = ["serve", "--fd", str(fd), "--host", host, "--port", str(port)]
        child = subprocess.Popen(
            [sys.executable, "-m", "django", *command],
            pass_fds=(fd,),
            env={**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]},
        )
        self.children[slot] = child

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_all(self) -> int:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children.values():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 0
