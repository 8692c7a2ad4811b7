"""Browser tests' fixtures (a pytest plugin loaded by ``conftest.py``): one real server for the
session with a Studio account, a worker hosting ``tests.studio.flows``, and Chromium driven by
Playwright, logged in once and handed to each test as a fresh page.

Debian's Chromium (``/usr/bin/chromium``) is used; ``.ci/run`` installs it when it is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, Server, Worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
USERNAME = "coflux"
FLOWS = ("tests.studio.flows.forms",)


@dataclass
class Studio:
    """The server Studio is served by, and the account to log in with."""

    server: Server
    username: str
    password: str

    @property
    def url(self) -> str:
        return self.server.url


def _create_account(server: Server) -> str:
    env = {**server.env}
    process = subprocess.run(
        [sys.executable, "manage.py", "local_account", "--username", USERNAME],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    password_file = Path(server.data_dir) / "studio-password"
    assert password_file.is_file(), process.stdout + process.stderr
    return password_file.read_text().strip()


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    server = Server(tmp_path_factory.mktemp("studio")).start()
    try:
        yield Studio(server, USERNAME, _create_account(server))
    finally:
        server.close()


@pytest.fixture(scope="session")
def studio_worker(studio_server: Studio) -> Iterator[Worker]:
    worker = Worker(studio_server.server, *FLOWS)
    yield worker
    worker.kill()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, which Django's guard against
    # calling the ORM from async code would take for one; the tests' own ORM use is sync.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def log_in(page: Any, studio: Studio) -> None:
    page.goto(f"{studio.url}/login/")
    page.fill("input[name=username]", studio.username)
    page.fill("input[name=password]", studio.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{studio.url}/w/**")


@pytest.fixture(scope="session")
def logged_in_state(chromium: Any, studio_server: Studio) -> dict[str, Any]:
    """The cookies of a logged-in session, so that each test starts logged in."""
    context = chromium.new_context()
    try:
        log_in(context.new_page(), studio_server)
        return context.storage_state()
    finally:
        context.close()


@dataclass
class Watched:
    """What a page did that a test may assert never happens: dialogs, errors, CSP refusals.

    Dialogs are dismissed, or accepted once a test sets ``accept_dialogs``.
    """

    dialogs: list[str]
    errors: list[str]
    accept_dialogs: bool = False


@pytest.fixture
def page(chromium: Any, logged_in_state: dict[str, Any], studio_server: Studio) -> Iterator[Any]:
    """A fresh logged-in page; ``page.watched`` records dialogs (dismissed) and page errors."""
    context = chromium.new_context(
        storage_state=logged_in_state,
        base_url=studio_server.url,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    watched = Watched(dialogs=[], errors=[])

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        if watched.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            watched.errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.watched = watched
    try:
        yield page
    finally:
        context.close()
