"""The Run… form of the workflow page: fields from the registered parameters, submitting, and
errors shown beside what they are about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from runs.models import Execution, Step
from runs.studio.submitform import build_form
from workspaces.models import Target, Workspace

pytestmark = pytest.mark.django_db

URL = "/w/default/workflows/app.flows/typed"
XSS = "<img src=x onerror=alert(1)>"


def root(run_id: str) -> Step:
    return Step.objects.get(run_id=run_id, number=1)


def arguments(run_id: str) -> list[Any]:
    return [argument["data"] for argument in root(run_id).arguments]


def posted(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    location = response["Location"]
    assert location.startswith("/runs/")
    return location.removeprefix("/runs/")


def test_fields_follow_the_annotations(registered: Workspace) -> None:
    form = build_form(Target.objects.get(name="typed"))
    widgets = {f.name: f.widget for f in form.fields}
    assert widgets == {
        "text": "text",
        "count": "int",
        "ratio": "float",
        "loud": "bool",
        "mode": "select",
        "extra": "json",
    }
    mode = form.field_named("mode")
    assert [(c.value, c.label) for c in mode.choices] == [('"fast"', "fast"), ('"slow"', "slow")]
    assert [f.required for f in form.fields] == [True, False, False, False, False, False]


def test_the_page_draws_a_typed_form(studio: Client, registered) -> None:
    html = studio.get(URL).content.decode()
    assert 'name="arg-text"' in html and 'name="arg-count"' in html
    assert 'inputmode="numeric"' in html and 'inputmode="decimal"' in html
    assert '<option value="&quot;slow&quot;">slow</option>' in html
    assert '<textarea id="id-arg-extra"' in html and 'placeholder="null"' in html
    assert 'placeholder="3"' in html  # the default as placeholder
    assert '<span class="hint">dict[str, int] | None</span>' in html
    assert 'name="raw"' in html and 'name="arguments"' in html
    for option in ("delay", "retries", "memo", "requires"):
        assert f'name="{option}"' in html
    assert 'placeholder="2"' in html  # the registered retries


def test_submitting_opens_the_new_run(studio: Client, registered) -> None:
    run_id = posted(studio.post(URL, {"arg-text": "hi", "arg-count": "7"}))
    # Trailing parameters left empty are left out; the worker applies their defaults.
    assert arguments(run_id) == ["hi", 7]
    execution = Execution.objects.get(step__run_id=run_id)
    assert execution.state == "queued"
    # The list says who submitted it; runs from the API say so.
    html = studio.get("/w/default/").content.decode()
    assert "<td>user alice</td>" in html


def test_an_empty_field_between_others_takes_its_default(studio: Client, registered) -> None:
    run_id = posted(
        studio.post(
            URL,
            {
                "arg-text": " spaced ",
                "arg-ratio": "",
                "arg-loud": "true",
                "arg-mode": '"slow"',
                "arg-extra": '{"b": 2}',
                "arg-count": "",
            },
        )
    )
    assert arguments(run_id) == [
        " spaced ",
        3,
        0.5,
        True,
        "slow",
        {"type": "dict", "items": ["b", 2]},
    ]


def test_errors_are_shown_beside_their_arguments(studio: Client, registered) -> None:
    response = studio.post(
        URL,
        {"arg-count": "seven", "arg-ratio": "nan", "arg-extra": "{nope", "arg-mode": '"medium"'},
    )
    assert response.status_code == 400
    form = response.context["form"]
    errors = {f.name: f.errors for f in form.fields if f.errors}
    assert errors == {
        "text": ["Required: this parameter has no default."],
        "count": ["Enter a whole number."],
        "ratio": ["Enter a finite number."],
        "mode": ["Choose one of the listed values."],
        "extra": [errors["extra"][0]],
    }
    assert errors["extra"][0].startswith("Not valid JSON")
    html = response.content.decode()
    assert 'class="field invalid" id="field-count"' in html
    assert 'value="seven"' in html  # what was typed stays
    assert not Execution.objects.exists()


def test_the_servers_own_check_names_the_missing_argument(studio: Client, workspace) -> None:
    # A parameter without a default after one with: the form may leave out only what the
    # server accepts, and the server's refusal lands beside the parameter it names.
    from workspaces.manifests import parse_manifests, register_manifests

    definition = {
        "name": "gap",
        "type": "workflow",
        "parameters": [
            {"name": "a", "annotation": "int", "default": "1"},
            {"name": "b", "annotation": "int", "default": None},
        ],
        "instruction": None,
        "options": {},
    }
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [definition]}}))
    response = studio.post("/w/default/workflows/app.flows/gap", {"raw": "on", "arguments": "[1]"})
    assert response.status_code == 400
    assert "missing argument(s): b" in " ".join(response.context["form"].raw_errors)

    response = studio.post("/w/default/workflows/app.flows/gap", {"arg-a": "2"})
    assert response.status_code == 400
    assert response.context["form"].field_named("b").errors


def test_raw_json_takes_the_whole_argument_list(studio: Client, registered) -> None:
    run_id = posted(studio.post(URL, {"raw": "on", "arguments": '["raw", 1, 2.5]'}))
    assert arguments(run_id) == ["raw", 1, 2.5]

    bad = studio.post(URL, {"raw": "on", "arguments": '{"text": 1}'})
    assert bad.status_code == 400
    assert bad.context["form"].raw_errors == [
        "The arguments must be a JSON array, one value per parameter."
    ]
    too_many = studio.post(URL, {"raw": "on", "arguments": json.dumps(list(range(7)))})
    assert too_many.status_code == 400
    assert "takes 6 argument(s), 7 given" in too_many.context["form"].raw_errors[0]
    assert 'class="field arguments-raw invalid"' in too_many.content.decode()


def test_options_override_the_registered_ones_as_the_api_does(
    studio: Client, registered, client
) -> None:
    form_run = posted(
        studio.post(
            URL,
            {
                "arg-text": "x",
                "delay": "90",
                "retries": "4",
                "requires": "gpu=A100,H100\nregion=eu",
                "memo": "true",
            },
        )
    )
    api = client.post(
        "/api/projects/default/workspaces/default/runs",
        json.dumps(
            {
                "module": "app.flows",
                "target": "typed",
                "arguments": ["x"],
                "delay": 90,
                "retries": 4,
                "requires": {"gpu": ["A100", "H100"], "region": ["eu"]},
                "memo": True,
            }
        ),
        content_type="application/json",
    )
    assert api.status_code == 201, api.content
    assert root(form_run).options == root(api.json()["runId"]).options
    assert root(form_run).options["requires"] == {"gpu": ["A100", "H100"], "region": ["eu"]}
    execution = Execution.objects.get(step__run_id=form_run)
    assert 89 < (execution.execute_after - execution.created_at).total_seconds() <= 90

    none = posted(studio.post(URL, {"arg-text": "x", "retries": "0", "requires": "none"}))
    assert root(none).options["retries"] is None
    assert root(none).options["requires"] is None


def test_bad_options_are_refused_beside_them(studio: Client, registered) -> None:
    response = studio.post(
        URL, {"arg-text": "x", "delay": "-1", "retries": "many", "requires": "gpu"}
    )
    assert response.status_code == 400
    assert set(response.context["form"].options.errors) == {"delay", "retries", "requires"}
    assert 'class="field invalid" id="option-delay"' in response.content.decode()


def test_what_was_typed_comes_back_inert(studio: Client, registered) -> None:
    response = studio.post(URL, {"arg-text": XSS, "arg-count": XSS, "requires": XSS})
    html = response.content.decode()
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_run_from_the_form_needs_the_workflow_registered(studio: Client, registered) -> None:
    assert studio.post("/w/default/workflows/app.flows/other", {}).status_code == 404
