"""Inputs in Studio without a browser: the prompt's Markdown and placeholders, the form made
from a schema and read back, the inputs page and its count in the chrome, answering from a
form (with and without htmx) through a real orchestrator, and who may answer: those who may
respond, and for an input with ``requires``, only the people in its groups."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from projects.errors import Code, DomainError
from runs import inputs
from runs.models import Input
from runs.orchestration.bus import REPLY_PREFIX
from runs.studio.prompts import FormError, form_fields, render_prompt, response_from
from tests.orchestration.support import Harness, messages, queue_run, value
from tests.people import operator_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db: None) -> User:
    """A user allowed to answer (a superuser may do anything)."""
    return User.objects.create_superuser("alice", password="correct horse")


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Harness:
    harness = Harness()

    def call(project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        outbox = harness.tick({"kind": "command", "command": command, "reply_to": "studio"})
        [reply] = [m for channel, m in outbox if channel == REPLY_PREFIX + "studio"]
        if not reply["ok"]:
            raise DomainError(reply["message"], code=Code(reply["error"]))
        return reply

    monkeypatch.setattr(inputs, "call_orchestrator", call)
    harness.connect()
    queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    return harness


def ask(harness: Harness, ref: str = "1", **fields: Any) -> str:
    message = {
        "type": "submit_input",
        "ref": ref,
        "execution": "Rtest1:1:1",
        "template": "Deploy **{service}**?",
        "placeholders": {"service": value("api")},
        **fields,
    }
    [reply] = messages(harness.send(message), "input_submitted")
    return reply["input"]


def posted(**fields: str) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, item in fields.items():
        query[name.replace("__", ".")] = item
    return query


# --- drawing a prompt ---------------------------------------------------------------------


def test_placeholders_are_inline_text_blocks_or_markdown():
    found = Input(
        template="Hi {who}\n\n{{data}}\n\n{{{notes}}}\n\n{missing}",
        placeholders={
            "who": value("*bold* <b>"),
            "data": value({"type": "dict", "items": ["a", 1]}),
            "notes": value("# Notes\n<script>x</script>"),
        },
    )
    html = render_prompt(found)
    assert "*bold* &lt;b&gt;" in html and "<em>" not in html
    assert '<pre><code>{\n  "a": 1\n}\n</code></pre>' in html
    assert "<h1>Notes</h1>" in html and "<script>" not in html
    assert "{missing}" in html


def test_a_primitive_schema_is_one_typed_field():
    [field] = form_fields({"type": "string", "format": "date"}, "2026-01-02")
    assert (field.name, field.kind, field.value) == ("value", "date", "2026-01-02")
    [field] = form_fields({"type": "integer"}, None)
    assert (field.kind, field.step) == ("number", "1")
    [field] = form_fields({"enum": ["a", "b"]}, "b")
    assert (field.kind, field.options, field.value) == ("select", ["a", "b"], "b")


def test_an_object_of_primitives_is_a_field_each_and_anything_else_json():
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "ok": {"type": "boolean"},
            "at": {"type": "string", "format": "date-time"},
        },
        "required": ["n"],
    }
    fields = form_fields(schema, {"n": 3, "ok": True})
    assert [(f.name, f.kind, f.value, f.required) for f in fields] == [
        ("field.n", "number", 3, True),
        ("field.ok", "checkbox", True, False),
        ("field.at", "datetime-local", "", False),
    ]
    assert response_from(schema, fields, posted(field__n="4", field__at="2026-01-02T03:04")) == {
        "n": 4,
        "ok": False,
        "at": "2026-01-02T03:04:00Z",
    }
    nested = {"type": "object", "properties": {"tags": {"type": "array"}}}
    [box] = form_fields(nested, {"tags": ["x"]})
    assert box.kind == "json" and '"x"' in box.value
    assert response_from(nested, [box], posted(value='{"tags": []}')) == {"tags": []}
    with pytest.raises(FormError):
        response_from(nested, [box], posted(value="{nope"))


def test_without_a_schema_the_form_approves():
    assert response_from(None, [], posted()) is True


# --- pages --------------------------------------------------------------------------------


def test_the_run_page_draws_the_prompt_and_its_form(studio, harness):
    ask(harness, schema={"type": "integer"}, title="Count", initial=2, actions=["Go", "Stop"])
    page = studio.get("/runs/Rtest1").content.decode()
    assert 'id="input-Rtest1-i1"' in page
    assert "Deploy <strong>api</strong>?" in page
    assert 'name="value" value="2"' in page
    assert ">Go</button>" in page and ">Stop</button>" in page


def test_the_inputs_page_lists_the_pending_and_the_chrome_counts_them(studio, harness):
    ask(harness)
    ask(harness, ref="2", template="Other?", placeholders={})
    page = studio.get("/w/default/inputs").content.decode()
    assert page.count('class="prompt"') == 2
    assert 'title="2 waiting for an answer"' in page


def test_answering_from_the_form_redirects_back_and_htmx_gets_the_card(studio, harness):
    first = ask(harness, schema={"type": "integer"})
    response = studio.post("/inputs/Rtest1/i1/respond", {"value": "5", "next": "/w/default/inputs"})
    assert response.status_code == 302 and response["Location"] == "/w/default/inputs"
    found = Input.objects.get(id=first)
    assert (found.state, found.response, found.responded_by) == ("responded", 5, "alice")

    ask(harness, ref="2", template="Other?", schema={"type": "integer"})
    card = studio.post("/inputs/Rtest1/i2/respond", {"value": "five"}, HTTP_HX_REQUEST="true")
    assert card.status_code == 200
    assert "not a number" in card.content.decode()
    card = studio.post("/inputs/Rtest1/i2/respond", {"value": "5.5"}, HTTP_HX_REQUEST="true")
    assert "does not match the schema" in card.content.decode()
    card = studio.post("/inputs/Rtest1/i2/dismiss", HTTP_HX_REQUEST="true")
    assert 'class="prompt answered"' in card.content.decode()
    assert Input.objects.get(id="Rtest1/i2").state == "dismissed"


def test_an_unsafe_next_is_not_followed(studio, harness):
    ask(harness)
    response = studio.post("/inputs/Rtest1/i1/respond", {"next": "https://evil.example/"})
    assert response["Location"] == "/runs/Rtest1"


def test_only_those_allowed_see_the_form_and_may_answer(client, harness, monkeypatch):
    from runs.studio import http, prompts

    def may(user, action, workspace=None, **kwargs):
        return action != "respond"

    ask(harness)
    client.force_login(User.objects.create_user("bob"))
    monkeypatch.setattr(prompts, "may", may)
    monkeypatch.setattr(http, "may", may)
    page = client.get("/runs/Rtest1").content.decode()
    assert "Waiting for an answer from someone allowed" in page
    assert "/inputs/Rtest1/i1/respond" not in page
    assert client.post("/inputs/Rtest1/i1/respond", {}).status_code == 403
    assert Input.objects.get(id="Rtest1/i1").state == "pending"


def test_an_unknown_input_is_not_found(studio, harness):
    assert studio.post("/inputs/Rtest1/i9/respond", {}).status_code == 404


# --- inputs routed by their requires ------------------------------------------------------

TEAM = {"team": ["ops", "sre"]}


def test_a_routed_input_shows_its_form_only_to_its_groups(harness):
    ask(harness, requires=TEAM)
    outsider, member = operator_client("dev", "team:dev"), operator_client("sre", "team:sre")
    for path in ("/runs/Rtest1", "/w/default/inputs"):
        page = outsider.get(path).content.decode()
        assert "For team:ops or team:sre" in page, path
        assert "/inputs/Rtest1/i1/respond" not in page, path
        assert "/inputs/Rtest1/i1/dismiss" not in page, path
        page = member.get(path).content.decode()
        assert "For team:ops or team:sre" in page, path
        assert "/inputs/Rtest1/i1/respond" in page, path


def test_an_input_without_requires_keeps_its_form_for_anyone_who_may_respond(harness):
    ask(harness)
    page = operator_client("dev").get("/w/default/inputs").content.decode()
    assert "/inputs/Rtest1/i1/respond" in page and "For " not in page


def test_answering_outside_the_groups_is_refused_and_the_input_stays_pending(harness):
    ask(harness, requires=TEAM)
    outsider = operator_client("dev", "team:dev")
    refusal = "This input is for team:ops or team:sre."

    page = outsider.post(
        "/inputs/Rtest1/i1/respond", {"next": "/w/default/inputs"}, follow=True
    ).content.decode()
    assert refusal in page
    card = outsider.post("/inputs/Rtest1/i1/dismiss", HTTP_HX_REQUEST="true").content.decode()
    assert refusal in card
    assert "For team:ops or team:sre" in card and "<form" not in card
    assert Input.objects.get(id="Rtest1/i1").state == "pending"

    operator_client("ops", "team:ops").post("/inputs/Rtest1/i1/respond", {})
    found = Input.objects.get(id="Rtest1/i1")
    assert (found.state, found.responded_by) == ("responded", "ops")


def test_a_page_reads_the_users_groups_once(harness):
    ask(harness, requires=TEAM)
    ask(harness, ref="2", template="Other?", placeholders={}, requires={"region": ["eu"]})
    outsider = operator_client("dev", "team:dev")
    for path in ("/runs/Rtest1", "/w/default/inputs"):
        with CaptureQueriesContext(connection) as queries:
            assert outsider.get(path).status_code == 200
        reads = [q["sql"] for q in queries if '"auth_group"."name"' in q["sql"]]
        assert len(reads) == 1, (path, reads)
