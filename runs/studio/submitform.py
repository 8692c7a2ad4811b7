"""The **Run…** form of a workflow page: one field per registered parameter, the options a
submission may override, and reading a posted form into a submission.

A parameter's input follows its annotation as the worker registered it (text): ``str``,
``int``, ``float`` and ``bool`` get typed inputs, ``Literal[...]`` a select of its values, and
anything else a JSON box; ``X | None`` and ``Optional[X]`` are drawn as ``X``. The default is
shown as the placeholder. Arguments are positional: a field left empty takes its default, and
trailing ones are left out so that the worker applies its own defaults. A "raw JSON" switch
takes the whole argument list as one JSON array instead.

The options are those the CLI can override (``requires``, ``memo``, ``delay``, ``retries``), in
the shapes ``runs.submission`` stores; the server's own checks (``check_arguments``) name the
arguments they refuse, which are shown beside their fields.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from runs.submission import UNSET, overrides_of
from workspaces.models import Target

MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_RETRIES = 10_000
_OPTIONAL = re.compile(r"^(?:typing\.)?Optional\[(?P<inner>.+)\]$")
_LITERAL = re.compile(r"^(?:typing(?:_extensions)?\.)?Literal\[(?P<values>.+)\]$", re.DOTALL)
_SCALARS = {"str": "text", "int": "int", "float": "float", "bool": "bool"}


@dataclass
class Choice:
    value: str
    """The choice's JSON text (what the select posts)."""
    label: str


@dataclass
class Field:
    name: str
    annotation: str | None
    default: str | None
    """The default's JSON text, or ``None`` if the parameter has none (it is required)."""
    widget: str
    """``text``, ``int``, ``float``, ``bool``, ``select`` or ``json``."""
    choices: list[Choice] = field(default_factory=list)
    value: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return self.default is None

    @property
    def input_name(self) -> str:
        return f"arg-{self.name}"

    @property
    def placeholder(self) -> str:
        """The default as the user would type it in this field."""
        if self.default is None:
            return ""
        if self.widget == "text":
            try:
                decoded = json.loads(self.default)
            except ValueError:
                return self.default
            return decoded if isinstance(decoded, str) else self.default
        return self.default


@dataclass
class OptionsForm:
    """The overridable options as posted (text), with the registered ones for placeholders."""

    registered: dict[str, Any]
    delay: str = ""
    retries: str = ""
    requires: str = ""
    memo: str = ""
    """``""`` (as registered), ``"true"`` or ``"false"``."""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def registered_delay(self) -> str:
        delay_ms = self.registered.get("delay_ms") or 0
        return f"{delay_ms / 1000:g}" if delay_ms else "0"

    @property
    def registered_retries(self) -> str:
        retries = self.registered.get("retries")
        return str(retries.get("limit", 0)) if isinstance(retries, dict) else "0"

    @property
    def registered_requires(self) -> str:
        return _requires_text(self.registered.get("requires"))

    @property
    def registered_memo(self) -> bool:
        return bool(self.registered.get("memo"))


@dataclass
class RunForm:
    target: Target
    fields: list[Field]
    options: OptionsForm
    raw: bool = False
    raw_arguments: str = ""
    raw_errors: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Errors about the whole submission."""

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.raw_errors
            or self.options.errors
            or any(f.errors for f in self.fields)
        )

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class Submission:
    arguments: list[Any]
    """Plain JSON values, in parameter order."""
    overrides: dict[str, Any]
    """Options of the root step to replace, in their stored shape."""


def _widget(annotation: str | None) -> tuple[str, list[Choice]]:
    if not annotation:
        return "json", []
    text = annotation.strip()
    optional = _OPTIONAL.match(text)
    if optional:
        text = optional["inner"].strip()
    parts = [p.strip() for p in text.split("|")]
    if len(parts) == 2 and "None" in parts:
        text = next(p for p in parts if p != "None")
    if text in _SCALARS:
        return _SCALARS[text], []
    match = _LITERAL.match(text)
    if match:
        choices = _literal_choices(match["values"])
        if choices:
            return "select", choices
    return "json", []


def _literal_choices(values: str) -> list[Choice]:
    """The choices of ``Literal[...]``'s arguments, when they are plain constants."""
    try:
        parsed = ast.literal_eval(f"({values},)")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return []
    choices = []
    for value in parsed:
        if value is not None and not isinstance(value, str | int | float | bool):
            return []
        choices.append(
            Choice(json.dumps(value), repr(value) if not isinstance(value, str) else value)
        )
    return choices


def build_form(target: Target, data: QueryDict | None = None) -> RunForm:
    """The form for ``target``, holding ``data`` (a posted form) when given."""
    fields = []
    for parameter in target.parameters:
        widget, choices = _widget(parameter.get("annotation"))
        fields.append(
            Field(
                name=parameter["name"],
                annotation=parameter.get("annotation"),
                default=parameter.get("default"),
                widget=widget,
                choices=choices,
                value=data.get(f"arg-{parameter['name']}", "") if data is not None else "",
            )
        )
    options = OptionsForm(registered=target.options or {})
    form = RunForm(target=target, fields=fields, options=options)
    if data is not None:
        options.delay = data.get("delay", "").strip()
        options.retries = data.get("retries", "").strip()
        options.requires = data.get("requires", "").strip()
        options.memo = data.get("memo", "")
        form.raw = data.get("raw") == "on"
        form.raw_arguments = data.get("arguments", "")
    return form


def read_submission(form: RunForm) -> Submission | None:
    """The submission the posted ``form`` describes, or ``None`` with its errors recorded in
    the form (per field, per option, for the raw argument list)."""
    arguments = _raw_arguments(form) if form.raw else _field_arguments(form)
    overrides = _overrides(form.options)
    if form.has_errors or arguments is None:
        return None
    return Submission(arguments=arguments, overrides=overrides)


def _raw_arguments(form: RunForm) -> list[Any] | None:
    text = form.raw_arguments.strip() or "[]"
    try:
        arguments = json.loads(text)
    except ValueError as error:
        form.raw_errors.append(f"Not valid JSON: {error}.")
        return None
    if not isinstance(arguments, list):
        form.raw_errors.append("The arguments must be a JSON array, one value per parameter.")
        return None
    return arguments


_EMPTY = object()


def _field_arguments(form: RunForm) -> list[Any] | None:
    values: list[Any] = []
    for field_ in form.fields:
        raw = field_.value
        if raw.strip() == "" and not (field_.widget == "text" and raw):
            if field_.default is None:
                field_.errors.append("Required: this parameter has no default.")
                values.append(_EMPTY)
            else:
                values.append(_EMPTY)
            continue
        values.append(_parse_field(field_, raw))
    if any(f.errors for f in form.fields):
        return None
    # Trailing parameters left empty are left out: the worker applies its defaults.
    while values and values[-1] is _EMPTY:
        values.pop()
    arguments = []
    for field_, value in zip(form.fields, values, strict=False):
        arguments.append(json.loads(field_.default or "null") if value is _EMPTY else value)
    return arguments


def _parse_field(field_: Field, raw: str) -> Any:
    if field_.widget == "text":
        return raw
    text = raw.strip()
    if field_.widget == "int":
        try:
            return int(text)
        except ValueError:
            field_.errors.append("Enter a whole number.")
            return None
    if field_.widget == "float":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            field_.errors.append("Enter a finite number.")
            return None
        return number
    if field_.widget == "bool":
        if text in ("true", "false"):
            return text == "true"
        field_.errors.append("Choose true or false.")
        return None
    if field_.widget == "select" and text not in {c.value for c in field_.choices}:
        field_.errors.append("Choose one of the listed values.")
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        field_.errors.append(f"Not valid JSON: {error}.")
        return None


def _overrides(options: OptionsForm) -> dict[str, Any]:
    """The form's options, checked, as the stored options they replace (errors on ``options``)."""
    delay = retries = None
    requires: dict[str, list[str]] | None | object = UNSET
    if options.delay:
        try:
            delay = float(options.delay)
        except ValueError:
            delay = math.nan
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            options.errors["delay"] = [f"A number of seconds from 0 to {MAX_DELAY_SECONDS}."]
            delay = None
    if options.retries:
        if not options.retries.isdigit() or int(options.retries) > MAX_RETRIES:
            options.errors["retries"] = [f"A whole number from 0 (no retries) to {MAX_RETRIES}."]
        else:
            retries = int(options.retries)
    if options.requires:
        parsed = _parse_requires(options.requires)
        if parsed is None:
            options.errors["requires"] = [
                "One tag per line as key=value (several values: key=a,b); 'none' for no requires."
            ]
        else:
            requires = parsed or None
    memo = options.memo == "true" if options.memo in ("true", "false") else None
    return overrides_of(delay=delay, retries=retries, requires=requires, memo=memo)


_TAG = re.compile(r"^(?P<key>[^=\s]{1,100})\s*=\s*(?P<values>.+)$")


def _parse_requires(text: str) -> dict[str, list[str]] | None:
    """``key=value`` lines (``key=a,b`` for several values) as requires; ``none`` for none."""
    if text.strip().lower() == "none":
        return {}
    requires: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _TAG.match(line.strip())
        if match is None:
            return None
        values = [v.strip() for v in match["values"].split(",") if v.strip()]
        if not values:
            return None
        requires.setdefault(match["key"], []).extend(values)
    return requires


def _requires_text(requires: Any) -> str:
    if not isinstance(requires, dict) or not requires:
        return ""
    return "\n".join(
        f"{key}={','.join(str(v) for v in values)}"
        for key, values in requires.items()
        if isinstance(values, list)
    )


def apply_server_errors(form: RunForm, message: str, details: dict[str, Any] | None) -> None:
    """Show the server's refusal of the arguments beside the fields it names."""
    if form.raw:
        form.raw_errors.append(message)
        return
    missing = (details or {}).get("missing") or []
    placed = False
    for name in missing:
        found = form.field_named(str(name))
        if found is not None:
            found.errors.append("Required by the workflow.")
            placed = True
    if not placed:
        form.errors.append(message)
