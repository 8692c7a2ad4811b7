"""Inputs in Studio: a prompt drawn as sanitised Markdown, and a form made from its JSON schema.

Placeholders in a template: ``{name}`` shows the value inline (as text, never as Markdown),
``{{name}}`` as a block, ``{{{name}}}`` as Markdown; names the input has no value for stay as
they are. The whole is then rendered and sanitised by ``runs.studio.markdown``.

The form: no schema asks for approval only (the respond button answers ``true``); a schema of
one primitive type (string, with its date and time formats, integer, number, boolean, or an
enum) is one typed field; an object whose properties are all such is a field per property;
anything else is a JSON box. ``initial`` fills the fields. ``response_from`` reads a posted
form back into the value to respond with; the server checks it against the schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString

from projects.permissions import Action, may, meets_requires
from runs.inputs import for_whom, response_of, workspace_inputs
from runs.models import Input, Run
from runs.studio.markdown import render_markdown
from runs.values import describe
from workspaces.models import Workspace

_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}|\{(\w+)\}")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_INPUT_TYPES = {"date": "date", "time": "time", "date-time": "datetime-local"}
JSON_FIELD = "value"

INPUTS = "studio/inputs/_list.html"
PROMPT = "studio/inputs/_prompt.html"
RUN_INPUTS = "studio/run/_inputs.html"
ANSWERED_SHOWN = 20
"""Answered inputs the inputs page shows below the pending ones."""


def inputs_part(workspace: Workspace, user: Any) -> dict[str, Any]:
    """The workspace's pending inputs (oldest first), then the latest answered ones; the user
    may answer those whose ``requires`` they meet, if they may respond here at all."""
    allowed = may(user, Action.RESPOND, workspace)
    pending = workspace_inputs(workspace, state=Input.State.PENDING)
    answered = (
        Input.objects.filter(workspace=workspace)
        .exclude(state=Input.State.PENDING)
        .select_related("workspace")
        .order_by("-responded_at", "-created_at")[:ANSWERED_SHOWN]
    )
    return {
        "workspace": workspace,
        "pending": [prompt_of(found, _answers(user, found, allowed)) for found in pending],
        "answered": [prompt_of(found, _answers(user, found, allowed)) for found in answered],
    }


def run_inputs_part(run: Run, user: Any) -> dict[str, Any]:
    """The inputs a run asked, in order."""
    found = Input.objects.filter(run=run).select_related("workspace").order_by("number")
    return {
        "run": run,
        "prompts": [
            prompt_of(i, _answers(user, i, may(user, Action.RESPOND, i.workspace))) for i in found
        ],
    }


def _answers(user: Any, found: Input, may_respond: bool) -> bool:
    """Whether the user, who ``may_respond`` in the input's workspace, may answer it. Their
    groups are read only for an input with ``requires``, and once (cached on the user)."""
    return may_respond and meets_requires(user, found.requires)


def render_prompt(found: Input) -> SafeString:
    """The input's template with its placeholders, as safe HTML."""
    values = {name: describe(value) for name, value in found.placeholders.items()}

    def substitute(match: re.Match[str]) -> str:
        raw, block, inline = match.groups()
        name = raw or block or inline
        if name not in values:
            return match.group(0)
        value = values[name]
        text = value if isinstance(value, str) else json.dumps(value, indent=2 if block else None)
        if raw:
            return text
        if block:
            fence = "`" * max(3, _longest_run(text, "`") + 1)
            return f"\n{fence}\n{text}\n{fence}\n"
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")

    return render_markdown(_PLACEHOLDER.sub(substitute, found.template))


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


@dataclass
class Field:
    """One field of a prompt's form."""

    name: str
    label: str
    kind: str
    """``text``, ``number``, ``date``, ``time``, ``datetime-local``, ``checkbox``, ``select``,
    or ``json`` (a text box of JSON)."""
    value: Any = ""
    required: bool = False
    step: str = ""
    options: list[str] = field(default_factory=list)
    help: str = ""


@dataclass
class PromptView:
    """What the run page and the inputs page draw of an input."""

    input: Input
    html: SafeString
    fields: list[Field]
    approval: bool
    respond_label: str
    dismiss_label: str
    response: dict[str, Any] | None
    may_respond: bool
    for_whom: str
    """The groups the input is for (``team:ops or team:sre``); empty: anyone who may respond."""
    error: str = ""

    @property
    def anchor(self) -> str:
        return "input-" + self.input.id.replace("/", "-")


def prompt_of(found: Input, may_respond: bool, error: str = "") -> PromptView:
    schema = found.schema
    actions = found.actions or {}
    return PromptView(
        input=found,
        html=render_prompt(found),
        fields=form_fields(schema, found.initial) if schema is not None else [],
        approval=schema is None,
        respond_label=actions.get("respond") or ("Approve" if schema is None else "Respond"),
        dismiss_label=actions.get("dismiss") or "Dismiss",
        response=response_of(found),
        may_respond=may_respond,
        for_whom=for_whom(found),
        error=error,
    )


def form_fields(schema: dict[str, Any], initial: Any) -> list[Field]:
    """The form's fields for a schema, filled from ``initial``."""
    single = _field(JSON_FIELD, schema.get("title") or "Response", schema, initial, True)
    if single is not None:
        return [single]
    properties = schema.get("properties")
    if schema.get("type") == "object" and isinstance(properties, dict) and properties:
        required = set(schema.get("required") or [])
        values = initial if isinstance(initial, dict) else {}
        fields = []
        for name, spec in properties.items():
            made = _field(
                f"field.{name}",
                (spec or {}).get("title") or name,
                spec or {},
                values.get(name),
                name in required,
            )
            if made is None:
                break
            fields.append(made)
        else:
            return fields
    text = json.dumps(initial, indent=2) if initial is not None else ""
    return [Field(JSON_FIELD, "Response (JSON)", "json", text, True, help=_describe(schema))]


def _field(name: str, label: str, spec: Any, initial: Any, required: bool) -> Field | None:
    """A typed field for a primitive schema; ``None`` for any other."""
    if not isinstance(spec, dict):
        return None
    kind = spec.get("type")
    help_text = spec.get("description") or ""
    if isinstance(spec.get("enum"), list) and all(isinstance(o, str) for o in spec["enum"]):
        value = initial if isinstance(initial, str) else ""
        return Field(name, label, "select", value, required, options=spec["enum"], help=help_text)
    if kind == "string":
        input_type = _INPUT_TYPES.get(spec.get("format"), "text")
        value = _iso_for_field(initial, input_type) if isinstance(initial, str) else ""
        return Field(name, label, input_type, value, required, help=help_text)
    if kind in ("integer", "number"):
        number = isinstance(initial, int | float) and not isinstance(initial, bool)
        value = initial if number else ""
        step = "1" if kind == "integer" else "any"
        return Field(name, label, "number", value, required, step=step, help=help_text)
    if kind == "boolean":
        return Field(name, label, "checkbox", initial is True, False, help=help_text)
    return None


def _iso_for_field(value: str, input_type: str) -> str:
    """An ISO date-time as ``datetime-local`` shows it (no seconds' fraction, no zone)."""
    if input_type == "datetime-local":
        return value[:16]
    if input_type == "time":
        return value[:8]
    return value


def _describe(schema: dict[str, Any]) -> str:
    return "Must match the schema: " + json.dumps(schema)[:500]


class FormError(ValueError):
    """A field that could not be read as its type."""


def response_from(schema: dict[str, Any] | None, fields: list[Field], posted: Any) -> Any:
    """The value a submitted form responds with (``posted`` is ``request.POST``)."""
    if schema is None:
        return True
    if len(fields) == 1 and fields[0].name == JSON_FIELD:
        return _read(fields[0], posted)
    result: dict[str, Any] = {}
    for item in fields:
        value = _read(item, posted)
        if value is not None or item.required:
            result[item.name.removeprefix("field.")] = value
    return result


def _read(item: Field, posted: Any) -> Any:
    raw = posted.get(item.name, "")
    if item.kind == "checkbox":
        return raw in ("on", "true", "1")
    if item.kind == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise FormError(f"{item.label}: not JSON ({exc}).") from None
    if raw == "" and not item.required:
        return None
    if item.kind == "number":
        try:
            return int(raw)
        except ValueError:
            pass
        try:
            return float(raw)
        except ValueError:
            raise FormError(f"{item.label}: not a number.") from None
    if item.kind == "datetime-local" and raw:
        return raw + (":00" if len(raw) == 16 else "") + "Z"
    if item.kind == "time" and raw:
        return raw + (":00" if len(raw) == 5 else "") + "Z"
    return raw
