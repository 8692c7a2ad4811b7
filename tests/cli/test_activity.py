"""``coflux sessions list`` and ``coflux queue`` against the real server."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys

from tests.processes import SUPER_TOKEN, wait_until


def test_sessions_list_shows_the_connected_worker(run_cli, worker, workspace_name):
    listed = wait_until(lambda: run_cli.json("sessions", "list", "-o", "json")["sessions"])
    (session,) = listed
    assert session["state"] == "connected"
    assert session["targets"] >= 1 and session["load"] == 0

    table = run_cli("sessions", "list")
    assert table.exit_code == 0, table.output
    assert session["id"] in table.stdout and "connected" in table.stdout


def test_the_queue_shows_a_run_nobody_can_take(run_cli, client, registered):
    run_id = client.submit(registered, "app.flows", "greet", ["world"])["runId"]

    (queued,) = run_cli.json("queue", "-o", "json")["executions"]
    table = run_cli("queue")

    assert (queued["id"], queued["status"]) == (f"{run_id}:1:1", "no session")
    assert table.exit_code == 0, table.output
    assert "no session" in table.stdout and "app.flows/greet" in table.stdout


def test_an_empty_workspace_says_so(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)
    assert run_cli("queue").stdout.strip() == "Nothing queued or running."
    assert run_cli("sessions", "list").stdout.strip() == "No worker sessions."


def test_an_unknown_workspace_is_an_error(run_cli):
    result = run_cli("queue", "-w", "no-such-workspace")
    assert result.exit_code == 1
    assert "no-such-workspace" in result.output


def test_on_a_terminal_the_queue_is_kept_up_to_date_until_interrupted(host, client, registered):
    """Run in a pseudo-terminal: a run submitted while it watches appears, and Ctrl-C ends it."""
    env = {**os.environ, "COFLUX_HOST": host, "COFLUX_WORKSPACE": registered, "COLUMNS": "120"}
    env["COFLUX_TOKEN"] = SUPER_TOKEN
    for name in ("COFLUX_PROJECT", "COFLUX_CONFIG", "DATABASE_URL"):
        env.pop(name, None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "coflux", "queue"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        # A background job of a script (as the test command runs pytest) ignores Ctrl-C, and
        # its children would too; a terminal's foreground process does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(terminal)
    seen = b""

    def shown(text: str) -> bool:
        nonlocal seen
        with contextlib.suppress(OSError):  # EIO once the process has closed the terminal
            while select.select([controller], [], [], 0.1)[0]:
                seen += os.read(controller, 65536)
        return text.encode() in seen

    try:
        wait_until(lambda: shown("Nothing queued or running."), message="the empty queue")
        run_id = client.submit(registered, "app.flows", "greet", ["world"])["runId"]
        wait_until(lambda: shown(f"{run_id}:1:1"), message="the new run in the queue")
        process.send_signal(signal.SIGINT)
        # Keep reading: a terminal nobody reads fills up, and the last refresh would block.
        wait_until(lambda: shown("") and process.poll() is not None, message="Ctrl-C to end it")
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
