"""Studio in a real browser against a real server and worker: logging in, the chrome, creating
a workspace, submitting from the form, errors per argument, live lists, and payloads that stay
inert."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.studio.browser import Studio

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=\"document.title='xss'\">"


def api(studio: Studio, method: str, path: str, **kwargs) -> httpx.Response:
    """The project's REST API, as the server helper authenticates to it."""
    return studio.server.api(method, path, **kwargs)


def no_injection(page) -> None:
    """Nothing a payload could have done happened: no dialog, no script error, no injected
    element, the title untouched, and the Content-Security-Policy refused nothing."""
    assert page.watched.dialogs == []
    assert page.watched.errors == []
    assert page.evaluate("document.querySelectorAll('img[src=x], script:not([src])').length") == 0
    assert page.title() != "xss"  # what the payloads would set it to


def test_logging_in_and_out(chromium, studio_server: Studio) -> None:
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(f"{studio_server.url}/w/default/")
        assert "/login/" in page.url
        page.fill("input[name=username]", studio_server.username)
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert page.locator(".errors").is_visible()
        page.fill("input[name=username]", studio_server.username)
        page.fill("input[name=password]", studio_server.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{studio_server.url}/w/default/")
        page.click(".user-menu summary")
        page.click("text=Log out")
        page.wait_for_url("**/login/")
        page.goto(f"{studio_server.url}/w/default/")
        assert "/login/" in page.url
    finally:
        context.close()


def test_the_admin_view_site_link_opens_studio(page, studio_server: Studio) -> None:
    page.goto("/admin/workspaces/workspace/")
    assert page.watched.errors == []  # the admin runs under the same policy
    page.click("text=View site")
    page.wait_for_url(f"{studio_server.url}/w/default/")
    assert page.locator("#sidebar").is_visible()


def test_creating_a_workspace_on_a_base(page, studio_server: Studio) -> None:
    page.goto("/w/default/")
    page.click("#switcher summary")
    page.fill(".create-workspace input[name=name]", "dev/browser")
    page.select_option(".create-workspace select[name=base]", "default")
    page.click(".create-workspace button")
    page.wait_for_url("**/w/dev/browser/")
    assert "Workspace “dev/browser” created." in page.inner_text(".messages")
    page.click("#switcher summary")
    row = page.locator(".tree li.current")
    assert row.inner_text().strip().startswith("↳")
    assert "depth-1" in row.get_attribute("class")
    listed = api(studio_server, "GET", "/workspaces").json()["workspaces"]
    assert {"name": "dev/browser", "base": "default", "state": "active"} in listed


def test_pausing_asks_first_and_resuming_restores(page, studio_server: Studio) -> None:
    api(studio_server, "POST", "/workspaces", json={"name": "pausable"})
    page.goto("/w/pausable/")
    page.click("#switcher summary")
    page.watched.accept_dialogs = True
    page.click(".workspace-actions button:has-text('Pause')")
    page.wait_for_selector(".page-header .badge.state-paused")
    assert "Pause workspace “pausable”?" in page.watched.dialogs[0]
    page.click("#switcher summary")
    page.click(".workspace-actions button:has-text('Resume')")
    page.wait_for_selector("text=Workspace “pausable” resumed.")


def test_archiving_a_workspace_with_confirmation(page, studio_server: Studio) -> None:
    api(studio_server, "POST", "/workspaces", json={"name": "doomed"})
    page.goto("/w/doomed/")
    page.click("#switcher summary")
    page.click(".workspace-actions button:has-text('Archive')")  # dismissed: nothing happens
    assert page.url.endswith("/w/doomed/")
    assert page.watched.dialogs and "Archive workspace “doomed”" in page.watched.dialogs[0]
    page.watched.accept_dialogs = True  # the menu is still open
    page.click(".workspace-actions button:has-text('Archive')")
    page.wait_for_selector("text=Workspace “doomed” archived")
    names = [w["name"] for w in api(studio_server, "GET", "/workspaces").json()["workspaces"]]
    assert "doomed" not in names


def test_submitting_from_the_form_opens_the_run(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/workflows/tests.studio.flows.forms/typed")
    page.fill("#id-arg-text", "from the browser")
    page.fill("#id-arg-count", "5")
    page.select_option("#id-arg-loud", "true")
    page.select_option("#id-arg-mode", '"slow"')
    page.fill("#id-arg-extra", '{"a": 1}')
    page.click("button:has-text('Run typed')")
    page.wait_for_url(re.compile(r".*/runs/R\w+$"))
    run_id = page.url.rsplit("/", 1)[1]
    assert run_id in page.inner_text("#run-header")
    result = studio_server.server.result(run_id, wait=30)
    assert result["status"] == "succeeded", result
    assert result["result"]["value"]["data"] == {
        "type": "dict",
        "items": [
            "count", 5, "extra", {"type": "dict", "items": ["a", 1]}, "loud", True,
            "mode", "slow", "ratio", 0.5, "text", "from the browser",
        ],
    }  # fmt: skip
    # The run page turns to succeeded without a reload.
    page.wait_for_selector("#run-header [data-run-status]:has-text('succeeded')", timeout=30_000)


def test_errors_show_beside_each_argument(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/workflows/tests.studio.flows.forms/typed")
    page.fill("#id-arg-count", "many")
    page.fill("#id-arg-extra", "{not json")
    page.click("button:has-text('Run typed')")
    page.wait_for_selector("#field-count.invalid")
    assert "Required" in page.inner_text("#field-text .field-errors")
    assert "Enter a whole number." in page.inner_text("#field-count .field-errors")
    assert "Not valid JSON" in page.inner_text("#field-extra .field-errors")
    assert page.input_value("#id-arg-count") == "many"
    assert not page.locator("#field-ratio.invalid").count()


def test_the_raw_json_switch_needs_no_script(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/workflows/tests.studio.flows.forms/greet")
    assert page.locator("#id-arguments").is_hidden()
    page.check("input[data-raw-switch]")
    assert page.locator("#id-arg-name").is_hidden()
    page.fill("#id-arguments", '["raw", "?"]')
    page.click("button:has-text('Run greet')")
    page.wait_for_url(re.compile(r".*/runs/R\w+$"))
    run_id = page.url.rsplit("/", 1)[1]
    result = studio_server.server.result(run_id, wait=30)
    assert result["result"]["value"]["data"] == "Hello, raw?"


def test_the_overview_lists_new_runs_live(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/")
    page.wait_for_selector("#live-toggle.connected")
    run_id = studio_server.server.submit("tests.studio.flows.forms", "greet", "live")
    row = page.locator(f"#runs tr:has(a[href='/runs/{run_id}'])")
    row.wait_for(timeout=30_000)
    row.locator(".status:has-text('succeeded')").wait_for(timeout=30_000)


def test_go_to_opens_a_workflow_with_the_keyboard(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/")
    page.keyboard.press("Control+k")
    page.keyboard.type("typed")
    page.wait_for_selector("#goto-results a:has-text('typed')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/workflows/tests.studio.flows.forms/typed")


def test_the_theme_toggle_is_remembered(page, studio_server: Studio) -> None:
    page.goto("/w/default/")
    assert page.evaluate("document.documentElement.dataset.theme") is None
    page.click("#theme-toggle")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") is None


def test_payloads_stay_inert(page, studio_server: Studio, studio_worker) -> None:
    # A module registered with markup in its target's name, annotation and docstring.
    manifest = {
        "modules": {
            "inert.flows": [
                {
                    "name": XSS,
                    "type": "workflow",
                    "parameters": [{"name": "p", "annotation": XSS, "default": json.dumps(XSS)}],
                    "instruction": f"Docs {XSS} <script>document.title='xss'</script>",
                    "options": {},
                }
            ]
        }
    }
    assert api(studio_server, "POST", "/workspaces/default/manifests", json=manifest).is_success
    page.goto("/w/default/")
    page.locator("#sidebar a", has_text="onerror").wait_for()
    page.locator("#sidebar a", has_text="onerror").click()
    page.wait_for_selector("#run-form")
    assert XSS in page.inner_text("h1")
    # An argument with markup, submitted and shown back after a refusal.
    page.fill("#id-arg-p", XSS)
    page.click("details.options summary")
    page.fill("#id-retries", XSS)
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("#option-retries.invalid")
    assert page.input_value("#id-arg-p") == XSS
    # A refused workspace name, echoed in the message.
    page.click("#switcher summary")
    page.fill(".create-workspace input[name=name]", XSS)
    page.click(".create-workspace button")
    page.wait_for_selector(".message.error")
    assert "<img src=x onerror=" in page.inner_text(".message.error")  # shown as text
    # "Go to…" with markup typed.
    page.keyboard.press("Control+k")
    page.keyboard.type(XSS)
    page.wait_for_selector("#goto-results li")
    no_injection(page)


@pytest.mark.parametrize(
    "path",
    [
        "/w/default/",
        "/w/default/?status=succeeded",
        "/w/default/workflows/tests.studio.flows.forms/typed",
        "/w/default/modules/tests.studio.flows.forms",
        "/w/default/workers",
        "/w/default/queue",
        "/admin/workspaces/workspace/1/change/",
    ],
)
def test_pages_run_under_the_policy_without_errors(page, studio_worker, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.watched.errors == []


def test_cancelling_from_the_queue(page, studio_server: Studio) -> None:
    api(studio_server, "POST", "/workspaces", json={"name": "held"})
    manifest = {"modules": {"held.flows": [{"name": "wait", "type": "workflow"}]}}
    assert api(studio_server, "POST", "/workspaces/held/manifests", json=manifest).is_success
    run_id = studio_server.server.submit("held.flows", "wait", workspace="held")
    execution_id = f"{run_id}:1:1"
    page.goto("/w/held/queue")
    row = page.locator(f"#queue-entries tr:has-text('{execution_id}')")
    assert "No connected worker hosts held.flows/wait." in row.inner_text()
    page.watched.accept_dialogs = True
    row.locator("button:has-text('Cancel')").click()
    page.wait_for_selector("#queue-entries td.empty")
    assert studio_server.server.result(run_id, wait=10)["status"] == "cancelled"
    assert f"Cancel {execution_id}" in page.watched.dialogs[0]


def test_a_filtered_list_stays_filtered_as_it_moves(page, studio_server, studio_worker) -> None:
    page.goto("/w/default/")
    page.select_option(".filters select[name=status]", "succeeded")
    page.wait_for_url(re.compile(r".*/w/default/\?status=succeeded$"))
    page.wait_for_selector("#studio-live[ws-connect*='status=succeeded']", state="attached")
    page.wait_for_selector("#live-toggle.connected")
    # Read once: the list may move between two reads.
    assert all(status == "succeeded" for status in page.locator("#runs .status").all_inner_texts())
    run_id = studio_server.server.submit("tests.studio.flows.forms", "greet", "filtered")
    page.locator(f"#runs a[href='/runs/{run_id}']").wait_for(timeout=30_000)
    statuses = page.locator("#runs .status").all_inner_texts()
    assert set(statuses) == {"succeeded"}
