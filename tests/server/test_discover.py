from __future__ import annotations

from coflux_server.api_views import api_version


def test_it_reports_the_server_and_api_versions(client, db):
    response = client.get("/api/discover")

    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["apiVersion"]) == ("0.1.0", "0.1")
    assert body["access"]["workspaces"] == ["*"]


def test_it_derives_the_api_version_from_the_minor_before_1_0_and_the_major_after():
    assert api_version("0.3.2") == "0.3"
    assert api_version("1.4.0") == "1"
    assert api_version("2.0.0") == "2"
