"""Web forms derived from an entity's declaration: the inputs to draw, and what was sent.

The page draws :func:`form_fields` with ``_entity_form.html``; a submitted form becomes the
store's values with :func:`form_values` — one rule for every entity, so a declared field
appears on its form without touching a template or a route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, get_args

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel
from starlette.datastructures import FormData

from sitekeeper.domain.fields import Declared, fields, nested
from sitekeeper.errors import UsageError

MAX_FIELD = 10_000  # characters in one form field (a body cap also applies)
Choices = Mapping[str, Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class FormField:
    """One input of a form, ready for the template."""

    name: str
    label: str
    input: str
    value: str
    hint: str
    required: bool
    choices: Sequence[tuple[str, str]]


def _declared(model: type[BaseModel]) -> list[Declared]:
    """The fields a form shows, a nested declaration's (the plan's options) flattened in."""
    found: list[Declared] = []
    for field in fields(model):
        inner = nested(model, field.name)
        if inner is not None:
            found += [f for f in fields(inner) if f.spec.form]
        elif field.spec.form:
            found.append(field)
    return found


def _text(field: Declared, value: Any) -> str:
    if field.spec.input == "checkbox":
        return "on" if value in (True, "on") else ""
    if field.spec.show is not None and value is not None:
        return field.spec.show(value)
    if field.spec.multiple:
        return "\n".join(value or [])
    return "" if value is None else str(value)


def _required(field: Declared) -> bool:
    """Whether the input must be filled: required, or with a default that is a value (a
    select then offers no empty choice). Not a checkbox, a list or a secret."""
    spec = field.spec
    if spec.input == "checkbox" or spec.multiple or spec.secret:
        return False
    return field.info.is_required() or field.default is not None


def form_fields(
    model: type[BaseModel],
    values: Mapping[str, Any],
    *,
    sent: Mapping[str, str] | None = None,
    choices: Choices | None = None,
    editing: bool = False,
) -> list[FormField]:
    """The inputs of the model's form: the stored ``values`` (declared defaults for a new
    object), or what was ``sent`` when the store refused it. ``choices`` fill the selects
    of references (a contract's plan). The edit form leaves out what is set once (a
    contract's client); a secret is never drawn back: empty keeps it, a checkbox clears it."""
    drawn: list[FormField] = []
    for field in _declared(model):
        if editing and not field.spec.editable:
            continue
        if field.spec.secret:
            text = ""
        elif sent is not None and field.spec.input == "checkbox":
            text = "on" if sent.get(field.name) == "on" else ""
        elif sent is not None and field.name in sent:
            text = sent[field.name]
        else:
            text = _text(field, values.get(field.name, field.default))
        options = list((choices or {}).get(field.name, ())) or [(c, c) for c in field.choices]
        drawn.append(
            FormField(
                name=field.name,
                label=field.spec.label,
                input="select" if options else field.spec.input,
                value=text,
                hint=field.spec.hint[:-1] + "; empty keeps them)"
                if editing and field.spec.secret
                else field.spec.hint,
                required=_required(field),
                choices=options,
            )
        )
        clear = field.spec.clear
        if editing and field.spec.secret and clear is not None:
            drawn.append(
                FormField(f"clear_{field.name}", clear.label, "checkbox", "", "", False, ())
            )
    return drawn


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (a dependency; files are refused)."""
    form: FormData = await request.form()
    sent: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            raise HTTPException(400, f"{key}: a text field was expected")
        if len(value) > MAX_FIELD:
            raise HTTPException(400, f"{key}: at most {MAX_FIELD} characters")
        sent[key] = value
    return sent


Sent = Annotated[dict[str, str], Depends(read_form)]  # a route's submitted form


def _value(field: Declared, text: str) -> Any:
    """One sent field as the store takes it; None: leave it as it is (or the default)."""
    kinds = set(get_args(field.info.annotation)) or {field.info.annotation}
    optional = type(None) in kinds
    if field.spec.input == "checkbox":
        return text == "on"
    if field.spec.parse is not None:
        if field.spec.multiple:
            return field.spec.parse(text)
        return field.spec.parse(text) if text.strip() else None
    if field.spec.multiple:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if int in kinds:
        if not text.strip():
            return None
        if not text.strip().isdigit() or len(text.strip()) > 10:
            raise UsageError(f"{field.spec.label} must be a whole number")
        return int(text.strip())
    if date in kinds:
        if not text.strip():
            return None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            label = field.spec.label.lower()
            raise UsageError(f"invalid {label} date {text!r}: use YYYY-MM-DD") from None
    if not text.strip() and optional:
        return ""  # the store reads an empty text as "clear it"
    return text


def form_values(
    model: type[BaseModel], sent: Mapping[str, str], *, editing: bool = False
) -> dict[str, Any]:
    """The declared fields that were sent, as the store's add/update take them (a nested
    declaration's fields gathered under its dict field). On the edit form an emptied
    field that can be cleared is cleared; an empty secret is kept."""
    values: dict[str, Any] = {}
    for field in fields(model):
        text = sent.get(field.name, "")
        if editing and field.spec.clear is not None:
            ticked = sent.get(field.clear_key) == "on"
            emptied = field.name in sent and not text.strip() and not field.spec.secret
            if ticked or emptied:
                values[field.clear_key] = True
                continue
        if editing and field.spec.secret and not text.strip():
            continue
        inner = nested(model, field.name)
        if inner is not None:
            given = {
                sub.name: _value(sub, sent[sub.name])
                for sub in fields(inner)
                if sub.spec.form and sub.name in sent
            }
            # None clears an optional option (the SLA) and leaves any other alone
            options = {
                name: value
                for name, value in given.items()
                if value is not None
                or (
                    not inner.model_fields[name].is_required()
                    and inner.model_fields[name].default is None
                )
            }
            if options:
                values[field.name] = options
        elif field.spec.form and (field.spec.editable or not editing):
            if field.name not in sent and field.spec.input != "checkbox":
                continue  # a checkbox left unticked is not sent at all
            value = _value(field, text)
            if value is not None:
                values[field.name] = value
    return values
