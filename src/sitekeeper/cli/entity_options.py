"""Typer options generated from an entity's declaration (``domain/``), for ``add`` and ``edit``.

A command declares only what is its own (the object to edit, ``--json``, clear flags) and
a ``values`` parameter; :func:`entity_options` adds one option per declared field (and per
field of a nested declaration, e.g. the plan's options) and hands the command the given
ones, parsed, as ``values`` — so a new field needs no edit here or in the command.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

import typer
from pydantic import BaseModel

from sitekeeper.domain.fields import Declared, fields, nested

Mode = Literal["add", "edit"]
Command = Callable[..., None]


def _cli_type(field: Declared) -> Any:
    """What the command line takes: text when the field parses text (durations, prices) or
    is one of a few words (validated by the store, as the API is), else the field's type."""
    kind = field.info.annotation
    if field.spec.multiple:
        return list[str]
    if field.spec.parse is not None or field.spec.ref or get_origin(kind) is Literal:
        return str
    plain = [a for a in get_args(kind) if a is not type(None)] or [kind]
    return plain[0]


def _parameter(field: Declared, mode: Mode) -> inspect.Parameter:
    if mode == "add" and field.spec.arg_help is not None:
        kind: Any = field.info.annotation
        return inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[kind, typer.Argument(help=field.spec.arg_help)],
        )
    name = field.spec.edit_option if mode == "edit" and field.spec.edit_option else field.option
    text = field.spec.edit_help if mode == "edit" and field.spec.edit_help else field.spec.help
    option = typer.Option(name, help=text)
    if mode == "add" and field.info.is_required() and not field.spec.defaulted:
        return inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[_cli_type(field), option],
        )
    return inspect.Parameter(
        field.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[_cli_type(field) | None, option],
    )


def _is_argument(parameter: inspect.Parameter) -> bool:
    return any(isinstance(m, typer.models.ArgumentInfo) for m in get_args(parameter.annotation))


def _clear_parameter(field: Declared) -> inspect.Parameter:
    """``edit``'s flag that empties the field (``--no-end``, ``--clear-alert-urls``)."""
    clear = field.spec.clear
    assert clear is not None
    return inspect.Parameter(
        field.clear_key,
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option(clear.option, help=clear.help)],
    )


def _declared(model: type[BaseModel]) -> list[tuple[Declared, str | None]]:
    """Each field on the command line, with the dict field it goes into (None: top level)."""
    found: list[tuple[Declared, str | None]] = []
    for field in fields(model):
        inner = nested(model, field.name)
        if inner is not None:
            found += [(sub, field.name) for sub in fields(inner) if sub.option is not None]
        elif field.option is not None:
            found.append((field, None))
    return found


def entity_options(model: type[BaseModel], mode: Mode) -> Callable[[Command], Command]:
    """Decorate a command taking ``values: dict[str, Any]`` with the model's options.

    The options go after the command's own arguments and before its own options; an option not
    given is left out of ``values`` (on ``add`` the declaration's default applies).
    """
    declared = _declared(model)

    def decorate(command: Command) -> Command:
        own = inspect.signature(command).parameters
        hints = get_type_hints(command, include_extras=True)
        head = [p.replace(annotation=hints[p.name]) for p in own.values() if p.name != "values"]
        tail = [p for p in head if p.name == "as_json"]
        head = [p for p in head if p.name != "as_json"]
        args = [
            _parameter(f, mode)
            for f, into in declared
            if into is None and (mode == "add" or f.spec.editable)
        ]
        arguments = [p for p in args if _is_argument(p)]
        options = [p for p in args if not _is_argument(p)]
        options += [_parameter(f, mode) for f, into in declared if into is not None]
        clears = [f for f, into in declared if into is None and f.spec.clear and mode == "edit"]
        options += [_clear_parameter(f) for f in clears]

        @functools.wraps(command)
        def run(*call_args: Any, **kwargs: Any) -> None:
            values: dict[str, Any] = {}
            for field, into in declared:
                given = kwargs.pop(field.name, None)  # absent: a field edit does not offer
                if given is None:
                    continue
                if field.spec.parse is not None and isinstance(given, str):
                    given = field.spec.parse(given)
                target = values.setdefault(into, {}) if into is not None else values
                target[field.name] = given
            for field in clears:
                if kwargs.pop(field.clear_key):
                    values[field.clear_key] = True
            command(*call_args, values=values, **kwargs)

        own_args = [p for p in head[1:] if p.default is inspect.Parameter.empty]
        own_opts = [p for p in head[1:] if p.default is not inspect.Parameter.empty]
        params = [*head[:1], *arguments, *own_args, *options, *own_opts, *tail]
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate
