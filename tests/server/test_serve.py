"""``manage.py serve``, started as a real process by the ``live_server_url`` fixture."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from urllib.parse import urlsplit

from tests.processes import AUTH, ROOT, Server


def test_it_serves_the_api_with_the_default_project_and_workspace(live_server_url):
    url = f"{live_server_url}/api/projects/default/workspaces/default/manifests"

    request = urllib.request.Request(url, headers=AUTH)
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert json.load(response) == {"modules": {}}


def test_it_serves_static_files(live_server_url):
    url = f"{live_server_url}/static/admin/css/base.css"

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200


def test_a_port_in_use_is_one_line_of_error_and_a_failed_exit(live_server_url, tmp_path):
    port = urlsplit(live_server_url).port
    second = Server(tmp_path)  # its own data directory and database, the first one's port
    try:
        process = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=second.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        second.close()

    assert process.returncode != 0
    assert "listening" not in process.stdout
    (line,) = process.stderr.splitlines()
    assert line.startswith(f"CommandError: cannot listen on 127.0.0.1:{port}: ")
    assert line.endswith("Address already in use")
