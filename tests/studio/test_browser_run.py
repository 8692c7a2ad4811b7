"""The run page in a real browser, against a real server and real workers: the graph turning
green without a reload, a failure's traceback, re-running a step in a child workspace from the
panel, cancelling a running run, following logs, and payloads that stay inert."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import AUTH, Worker
from tests.studio.browser import Studio

pytestmark = pytest.mark.e2e

MODULE = "tests.studio.flows.runs"
XSS = "<img src=x onerror=\"document.title='xss'\">"


@pytest.fixture(scope="module")
def workers(studio_server: Studio) -> Iterator[None]:
    """A worker in ``default`` and one in ``dev``, a workspace based on it."""
    api(studio_server, "POST", "/workspaces", json={"name": "dev", "base": "default"})
    started = [
        Worker(studio_server.server, MODULE),
        Worker(studio_server.server, MODULE, workspace="dev"),
    ]
    yield
    for worker in started:
        worker.kill()


def api(studio: Studio, method: str, path: str, **kwargs: Any) -> httpx.Response:
    url = f"{studio.url}/api/projects/default{path}"
    return httpx.request(method, url, headers=AUTH, timeout=60, **kwargs)


def submit(studio: Studio, target: str, *arguments: Any) -> str:
    body = {"module": MODULE, "target": target, "arguments": list(arguments)}
    response = api(studio, "POST", "/workspaces/default/runs", json=body)
    assert response.status_code == 201, response.text
    return response.json()["runId"]


def outcome(studio: Studio, run_id: str) -> dict[str, Any]:
    return api(studio, "GET", f"/runs/{run_id}/result", params={"wait": 30}).json()


def gate(tmp_path: Path) -> Path:
    return tmp_path / f"gate-{uuid.uuid4().hex[:8]}"


def open_live(page: Any, url: str) -> None:
    """Open a page and wait for the push that follows its socket's connection (which redraws
    the page: a click before it could land on an element it replaces); mark the document to
    tell a reload later."""
    page.goto(url)
    page.wait_for_selector("html[data-live-pushes]")
    page.evaluate("document.documentElement.dataset.loadedOnce = 'yes'")


def not_reloaded(page: Any) -> bool:
    return page.evaluate("document.documentElement.dataset.loadedOnce") == "yes"


def test_the_graph_turns_green_without_a_reload(page, studio_server, workers, tmp_path):
    path = gate(tmp_path)
    run_id = submit(studio_server, "gated", str(path))
    open_live(page, f"/runs/{run_id}")
    page.wait_for_selector(f"[data-node='step:{run_id}:2']", timeout=15_000)
    assert "state-succeeded" not in page.get_attribute(f"[data-node='step:{run_id}:1']", "class")
    path.write_text("go")
    page.wait_for_selector(f"[data-node='step:{run_id}:2'].state-succeeded", timeout=20_000)
    page.wait_for_selector(f"[data-node='step:{run_id}:1'].state-succeeded", timeout=20_000)
    page.wait_for_selector("#run-header [data-run-status]:has-text('succeeded')")
    assert not_reloaded(page)
    assert page.watched.errors == []


def test_a_failed_step_shows_its_traceback(page, studio_server, workers):
    run_id = submit(studio_server, "exploding", "the reactor is on fire")
    assert outcome(studio_server, run_id)["status"] == "failed"
    open_live(page, f"/runs/{run_id}")
    page.click(f"[data-node='step:{run_id}:2'] .node-link")
    page.wait_for_url(re.compile(rf".*/runs/{run_id}\?step=2&attempt=1$"))
    panel = page.locator("#step-panel")
    panel.locator(".error-view").wait_for()
    assert panel.locator(".error-type").inner_text() == "builtins.ValueError"
    assert "the reactor is on fire" in panel.locator(".error-message").inner_text()
    frames = panel.locator(".frame")
    assert frames.count() >= 1
    assert "flows/runs.py" in frames.last.inner_text() and "in explode" in frames.last.inner_text()
    assert "raise ValueError(message)" in frames.last.locator(".frame-code").inner_text()
    # The root failed because of it: its panel links to the failed dependency.
    page.click(f"[data-node='step:{run_id}:1'] .node-link")
    page.wait_for_selector("#step-panel h3:has-text('Failed dependencies')")
    assert page.locator(f"#step-panel a:has-text('{run_id}:2:1')").count() == 1


def test_rerunning_a_step_in_a_child_workspace(page, studio_server, workers):
    run_id = submit(studio_server, "shouting", "quiet")
    assert outcome(studio_server, run_id)["status"] == "succeeded"
    open_live(page, f"/runs/{run_id}?step=2")
    page.select_option("#step-panel select[name=workspace]", "dev")
    page.watched.accept_dialogs = True
    page.click("#step-panel button:has-text('Re-run')")
    page.wait_for_url(re.compile(rf".*/runs/{run_id}\?step=2&attempt=2$"))
    assert "Re-run step" in page.watched.dialogs[0]
    attempt = page.locator("#step-panel .attempt.current")
    assert attempt.inner_text().startswith("#2")
    page.wait_for_selector("#step-panel .attempt.current.state-succeeded", timeout=20_000)
    page.wait_for_selector("#step-panel .note:has-text('Ran in workspace')")
    assert "dev" in page.inner_text("#step-panel .note")
    assert page.locator(f"[data-node='step:{run_id}:2'] .ws-badge").text_content() == "dev"
    snapshot = api(studio_server, "GET", f"/runs/{run_id}").json()
    executions = snapshot["steps"][1]["executions"]
    assert [(e["attempt"], e["workspace"], e["state"]) for e in executions] == [
        (1, "default", "succeeded"),
        (2, "dev", "succeeded"),
    ]


def test_cancelling_a_running_run(page, studio_server, workers, tmp_path):
    path = gate(tmp_path)
    run_id = submit(studio_server, "gated", str(path))
    open_live(page, f"/runs/{run_id}")
    page.wait_for_selector(f"[data-node='step:{run_id}:2'].state-assigned", timeout=15_000)
    page.click("#run-header button:has-text('Cancel run')")  # dismissed: nothing happens
    assert api(studio_server, "GET", f"/runs/{run_id}/result").json()["status"] == "running"
    page.watched.accept_dialogs = True
    page.click("#run-header button:has-text('Cancel run')")
    page.wait_for_selector("#run-header [data-run-status]:has-text('cancelled')", timeout=20_000)
    assert all("Cancel run" in dialog for dialog in page.watched.dialogs)
    page.wait_for_selector(f"[data-node='step:{run_id}:2'].state-cancelled", timeout=20_000)
    assert outcome(studio_server, run_id)["status"] == "cancelled"
    assert page.locator("#run-header button:has-text('Cancel run')").count() == 0


def test_following_logs_live(page, studio_server, workers, tmp_path):
    path = gate(tmp_path)
    run_id = submit(studio_server, "chatty", str(path))
    open_live(page, f"/runs/{run_id}?tab=logs")
    page.click("a:has-text('Follow')")
    page.wait_for_url(re.compile(r".*follow=1.*"))
    page.wait_for_selector(".log-line:has-text('first line 1')", timeout=15_000)
    assert page.locator(".log-line:has-text('second line')").count() == 0
    path.write_text("go")
    line = page.locator(".log-line:has-text('second line 2')")
    line.wait_for(timeout=20_000)
    assert line.locator(".log-level").inner_text() == "WARNING" or "warning" in line.inner_text()
    assert "extra" in line.locator(".chip").inner_text() and "chip" in line.inner_text()
    assert not_reloaded(page)


def test_payloads_in_values_and_logs_stay_inert(page, studio_server, workers):
    run_id = submit(studio_server, "echo", XSS)
    assert outcome(studio_server, run_id)["status"] == "succeeded"
    for url in (
        f"/runs/{run_id}",
        f"/runs/{run_id}?step=1",
        f"/runs/{run_id}?step=2",
        f"/runs/{run_id}?tab=logs",
        f"/runs/{run_id}?step=1&panel=logs",
        f"/runs/{run_id}?tab=timeline",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.watched.dialogs == [] and page.watched.errors == [], url
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0, url
        assert "xss" not in page.title(), url
    # The payload is there, as text.
    page.goto(f"/runs/{run_id}?step=1")
    assert "<img src=x onerror=" in page.inner_text("#step-panel .result-value")
    page.goto(f"/runs/{run_id}?tab=logs")
    assert XSS in page.inner_text(".log-lines")


def test_a_value_in_the_blob_store_loads_on_demand(page, studio_server, workers):
    run_id = submit(studio_server, "big_value", 50)
    assert outcome(studio_server, run_id)["status"] == "succeeded"
    open_live(page, f"/runs/{run_id}?step=1")
    button = page.locator("#step-panel .result-value .v-load")
    assert re.fullmatch(r"Load \d+(\.\d)? (B|KB)", button.inner_text())
    button.click()
    tree = page.locator("#step-panel .result-value .v-list")
    tree.wait_for()
    assert "50 items" in tree.locator("summary").first.inner_text()
    assert "'item <49>'" in page.inner_text("#step-panel .result-value")
    assert page.watched.errors == []


def test_the_graph_pans_zooms_fits_and_highlights(page, studio_server, workers):
    run_id = submit(studio_server, "shouting", "graph")
    assert outcome(studio_server, run_id)["status"] == "succeeded"
    open_live(page, f"/runs/{run_id}")
    svg = page.locator("[data-graph-svg]")

    def view_box() -> list[float]:
        return [float(n) for n in svg.get_attribute("viewBox").split()]

    before = view_box()
    page.click("[data-graph-zoom=in]")
    zoomed = view_box()
    assert zoomed[2] < before[2] and zoomed[3] < before[3]
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 140, box["y"] + 90, steps=5)
    page.mouse.up()
    panned = view_box()
    assert panned[0] < zoomed[0] and panned[1] < zoomed[1]
    assert run_id in page.url and "step=" not in page.url  # a drag selects nothing
    page.click("[data-graph-fit]")
    assert view_box() != panned
    page.hover(f"[data-node='step:{run_id}:2'] .node-link")
    assert "hl" in page.get_attribute(f"path[data-to='{run_id}:2']", "class")
    # The view survives a pushed redraw of the graph.
    page.click("[data-graph-zoom=in]")
    kept = view_box()
    page.evaluate(
        "htmx.ajax('GET', location.pathname, {target: '#run-tab', swap: 'outerHTML',"
        " headers: {'HX-Target': 'run-tab'}})"
    )
    page.wait_for_timeout(500)
    assert view_box() == kept
