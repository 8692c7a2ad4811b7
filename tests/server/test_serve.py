"""``manage.py serve``, started as a real process by the ``live_server_url`` fixture."""

from __future__ import annotations

import json
import urllib.request


def test_it_serves_the_api_with_the_default_project_and_workspace(live_server_url):
    url = f"{live_server_url}/api/projects/default/workspaces/default/manifests"

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert json.load(response) == {"modules": {}}


def test_it_serves_static_files(live_server_url):
    url = f"{live_server_url}/static/admin/css/base.css"

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
