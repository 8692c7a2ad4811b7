"""The API's browsable docs (/api/docs/) in a real browser: Swagger UI from the server's own
files, every endpoint drawn from the schema, under Studio's Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_docs_draw_every_endpoint_without_a_csp_refusal(page: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/api/docs/")
    page.wait_for_selector(".opblock")

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.endswith("/workspaces/{workspace}/runs") for p in paths)
    assert "/blobs/{key}" in [p.strip() for p in paths]
    assert "websocket" in page.locator(".information-container").inner_text()
    assert page.watched.errors == []
    origin = page.url.split("/api/")[0]
    assert all(url.startswith(origin) for url in requested), requested


def test_an_endpoint_lists_its_error_codes(page: Any) -> None:
    page.goto("/api/docs/")
    page.locator(".opblock-summary", has_text="/steps/{step_id}/rerun").first.click()

    responses = page.locator(".opblock.is-open .responses-table").inner_text()
    assert "step_not_found" in responses and "workspace_invalid" in responses
