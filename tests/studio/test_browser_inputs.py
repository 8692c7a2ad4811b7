"""Answering prompts in Studio, in a real browser against a real server and worker: the run
page draws the prompt as Markdown with a form from its schema (initial values filled in), the
answer reaches the execution, the inputs page lists what waits and counts it in the chrome, and
a placeholder's markup stays inert."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.processes import AUTH, Worker, wait_until
from tests.studio.browser import Studio

pytestmark = pytest.mark.e2e

FLOWS = "tests.studio.flows.prompts"
XSS = "<img src=x onerror=\"document.title='xss'\">"


@pytest.fixture(scope="module")
def prompts_worker(studio_server: Studio) -> Iterator[Worker]:
    worker = Worker(studio_server.server, FLOWS)
    yield worker
    worker.kill()


def submit(studio: Studio, target: str, *arguments) -> str:
    return studio.server.submit(FLOWS, target, *arguments)


def pending(studio: Studio, run_id: str) -> dict:
    def find():
        response = httpx.get(
            f"{studio.url}/api/projects/default/workspaces/default/inputs",
            params={"run": run_id, "state": "pending"},
            headers=AUTH,
            timeout=30,
        )
        return (response.json()["inputs"] or [None])[0]

    return wait_until(find, timeout=30, message=f"an input of {run_id}")


def test_answering_a_prompt_from_the_run_page(page, studio_server, prompts_worker) -> None:
    run_id = submit(studio_server, "ships", "api", f"- faster\n- {XSS}")
    found = pending(studio_server, run_id)
    page.goto(f"/runs/{run_id}")
    card = page.locator(f"#input-{found['id'].replace('/', '-')}")
    card.wait_for()
    assert card.locator(".prompt-text strong").inner_text() == "api"
    assert XSS in card.locator(".prompt-text pre").inner_text()  # shown, as text
    assert card.locator("input[name='field.version']").input_value() == "1.0"
    assert card.locator("input[name='field.replicas']").get_attribute("type") == "number"
    assert card.locator("input[name='field.replicas']").input_value() == "2"
    assert card.locator("button.primary").inner_text() == "Ship it"

    card.locator("input[name='field.version']").fill("2.1")
    card.locator("input[name='field.approved']").check()
    card.locator("button.primary").click()
    page.locator(f"#input-{found['id'].replace('/', '-')}.answered").wait_for()
    assert "2.1" in page.locator(".prompt-answer").inner_text()
    assert studio_server.server.result(run_id, wait=30)["result"]["value"]["data"] == [
        "2.1",
        2,
        True,
    ]
    assert page.watched.errors == []
    assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert page.title() != "xss"


def test_a_refused_response_is_shown_on_the_card(page, studio_server, prompts_worker) -> None:
    run_id = submit(studio_server, "ships", "db", "nothing")
    found = pending(studio_server, run_id)
    anchor = f"#input-{found['id'].replace('/', '-')}"
    page.goto(f"/runs/{run_id}")
    # The push that follows the live socket's connection redraws the card: wait for it, so
    # that the error drawn in the card is not drawn over.
    page.wait_for_selector("html[data-live-pushes]")
    replicas = page.locator(f"{anchor} input[name='field.replicas']")
    replicas.evaluate("e => e.step = 'any'")  # the browser would refuse 1.5 for an integer
    replicas.fill("1.5")
    page.locator(f"{anchor} button.primary").click()
    page.locator(f"{anchor} .form-error").wait_for()
    assert "does not match the schema" in page.locator(f"{anchor} .form-error").inner_text()
    page.watched.accept_dialogs = True
    page.locator(f"{anchor} button.danger").click()
    page.locator(f"{anchor}.answered").wait_for()
    assert studio_server.server.result(run_id, wait=30)["result"]["value"]["data"] == ["held"]


def test_the_inputs_page_lists_what_waits_and_the_chrome_counts_it(
    page, studio_server, prompts_worker
) -> None:
    run_id = submit(studio_server, "approves", "cache")
    found = pending(studio_server, run_id)
    page.goto("/w/default/inputs")
    anchor = f"#input-{found['id'].replace('/', '-')}"
    page.locator(anchor).wait_for()
    assert page.locator(".nav-inputs .count").inner_text().strip() != ""
    assert page.locator(f"{anchor} .prompt-text").inner_text().strip() == "Restart cache?"
    assert page.locator(f"{anchor} button.primary").inner_text() == "Approve"
    page.locator(f"{anchor} button.primary").click()
    page.locator(f"{anchor}.answered").wait_for()
    assert studio_server.server.result(run_id, wait=30)["result"]["value"]["data"] == "approved"
