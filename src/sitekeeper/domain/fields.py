"""One declaration per entity: its fields, their rules, and how each one shows to people.

An entity (plan, client, contract, site, user) is a pydantic model in ``domain/`` whose
fields carry a :class:`Spec`. The store validates with that model; the API's In/Patch
models, the CLI's ``add``/``edit`` options and the web forms are derived from it — so a
new field is written once, in the model, and every door shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo

from sitekeeper.errors import UsageError

MAX_ID = 2_147_483_647  # ids are 32-bit on both dialects; larger ones cannot exist

Input = Literal[
    "text", "number", "select", "textarea", "email", "url", "date", "checkbox", "password"
]


@dataclass(frozen=True)
class Clear:
    """A field that a change can empty: a flag on ``edit``, a checkbox on the edit form and
    (``api``) a ``clear_<field>`` boolean in the API's Patch."""

    option: str  # e.g. --no-end
    help: str
    label: str
    api: bool = True
    key: str = ""  # the flag's name in the API and the store; "" derives clear_<field>


@dataclass(frozen=True)
class Spec:
    """How one declared field shows outside the store (CLI option, form input)."""

    label: str  # the form's label
    help: str = ""  # the CLI option's help
    option: str | None = ""  # CLI option name; "" derives --field-name; None: not on the CLI
    edit_option: str | None = None  # ``edit``'s own spelling (a toggle: --pause/--resume)
    edit_help: str = ""  # ``edit``'s own help, when it differs from ``add``'s
    arg_help: str | None = None  # on ``add`` a positional argument with this help, not an option
    parse: Callable[[str], Any] | None = None  # the text of an option or form field → value
    show: Callable[[Any], str] | None = None  # a stored value → the form's text
    input: Input = "text"
    hint: str = ""  # shown after the label, e.g. the accepted formats
    form: bool = True  # on the web form
    multiple: bool = False  # a list: a repeatable option, one line each in a form
    secret: bool = False  # never shown back (a form leaves it empty: empty keeps it)
    editable: bool = True  # False: set once, on add (a contract's client)
    on_add: bool = True  # False: only a change sets it (a user's ``active``)
    defaulted: bool = False  # required, but the CLI and forms fill it (a start: today)
    ref: bool = False  # the id of another object: the CLI takes its id or name
    clear: Clear | None = None


@dataclass(frozen=True)
class Declared:
    """One field of a declaration with its pydantic info and its Spec."""

    name: str
    info: FieldInfo
    spec: Spec

    @property
    def option(self) -> str | None:
        """The CLI option's name (``--check-interval``), or None if not on the CLI."""
        if self.spec.option is None:
            return None
        return self.spec.option or "--" + self.name.replace("_", "-")

    @property
    def clear_key(self) -> str:
        """The name of the flag that empties this field (``clear_end``)."""
        clear = self.spec.clear
        return (clear.key if clear is not None else "") or f"clear_{self.name}"

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed values of a Literal field (a form's select), else empty."""
        kind = self.info.annotation
        if get_origin(kind) is Literal:
            return tuple(str(v) for v in get_args(kind))
        return ()

    @property
    def default(self) -> Any:
        """The declared default (None for required fields)."""
        if self.info.is_required():
            return None
        return self.info.get_default(call_default_factory=True)


def fields(model: type[BaseModel]) -> Iterator[Declared]:
    """The declared fields of an entity model, in declaration order."""
    for name, info in model.model_fields.items():
        yield Declared(name, info, _spec(info))


@dataclass(frozen=True)
class Nested:
    """Marks a dict field whose keys are another declaration's fields (merged on change)."""

    model: type[BaseModel]


def nested(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model a dict field holds (plan options), marked with :class:`Nested`."""
    info = model.model_fields[name]
    found = next((m for m in info.metadata if isinstance(m, Nested)), None)
    return found.model if found is not None else None


def validated(
    model: type[BaseModel], given: Mapping[str, Any], stored: Any = None
) -> dict[str, Any]:
    """Every field after the model's rules (defaults for those not given) for a new object;
    for a ``stored`` one, only the ``given`` fields (its required ones fill the rest).

    UsageError names the field's label; unknown names are refused, so a typo never
    passes silently.
    """
    cleared = [d.name for d in fields(model) if d.spec.clear is not None and given.get(d.clear_key)]
    given = {k: v for k, v in given.items() if not _is_clear(model, k)}
    if stored is not None:  # on a change, None leaves a field as it is
        given = {name: value for name, value in given.items() if value is not None}
    fixed = [n for n in given if stored is not None and not _spec(model.model_fields[n]).editable]
    if fixed:
        raise UsageError(f"{', '.join(fixed)} cannot be changed")
    unknown = set(given) - set(model.model_fields)
    if unknown:
        raise UsageError(f"unknown field(s) for {model.__name__}: {', '.join(sorted(unknown))}")
    current = {}
    if stored is not None:
        current = {
            name: getattr(stored, name)
            for name, info in model.model_fields.items()
            if info.is_required() and name not in given
        }
    try:
        checked = model.model_validate({**current, **given})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        info = model.model_fields.get(where)
        name = _spec(info).label if info is not None else where
        raise UsageError(f"invalid {name.lower()}: {first['msg']}") from None
    names = given if stored is not None else model.model_fields
    result = {name: getattr(checked, name) for name in names}
    for name in cleared:  # emptied on request: a list to [], anything else to None
        result[name] = [] if _spec(model.model_fields[name]).multiple else None
    return result


def _spec(info: FieldInfo) -> Spec:
    found = next((m for m in info.metadata if isinstance(m, Spec)), None)
    if found is None:
        raise TypeError("a declared field has no Spec")
    return found


def _is_clear(model: type[BaseModel], key: str) -> bool:
    """Whether ``key`` is the flag that empties one of the model's fields."""
    return any(d.spec.clear is not None and d.clear_key == key for d in fields(model))


Mode = Literal["in", "patch", "out"]


def _api_field(field: Declared, mode: Mode) -> tuple[Any, FieldInfo]:
    """The field as the API declares it: type, default and bounds; no store-side rules.
    An Out field is the plain type, always present (a secret list: how many there are)."""
    info = field.info
    if mode == "out" and field.spec.secret:
        return int, FieldInfo()
    extra: dict[str, Any] = {"description": info.description} if info.description else {}
    kind: Any = info.annotation
    if mode == "out":
        return kind, FieldInfo(**extra)
    if mode == "patch":
        made = FieldInfo(default=None, **extra)
        kind = kind | None
    elif info.is_required():
        made = FieldInfo(**extra)
    elif info.default_factory is not None:
        made = FieldInfo(default_factory=info.default_factory, **extra)
    else:
        made = FieldInfo(default=info.default, **extra)
    made.metadata = [
        m
        for m in info.metadata
        if isinstance(m, annotated_types.BaseMetadata | annotated_types.GroupedMetadata)
    ]
    return kind, made


def api_model(
    model: type[BaseModel],
    name: str,
    doc: str,
    mode: Mode,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> type[BaseModel]:
    """The API's In, Patch or Out model of an entity: the declared names, types, defaults and
    bounds (a Patch has each field optional: absent means unchanged). ``before``/``after``
    add fields only the API has (an Out's ``id``, a Patch's ``clear_end``); a name given
    there replaces the declared field (a secret shown as a count)."""
    extra = {**(before or {}), **(after or {})}
    declared: dict[str, Any] = {}
    for d in fields(model):
        if (mode == "patch" and not d.spec.editable) or (mode == "in" and not d.spec.on_add):
            continue
        declared[d.name] = extra.get(d.name) or _api_field(d, mode)
        if mode == "patch" and d.spec.clear is not None and d.spec.clear.api:
            declared[d.clear_key] = (bool, FieldInfo(default=False))
    definitions: dict[str, Any] = {
        **{k: v for k, v in (before or {}).items() if k not in declared},
        **declared,
        **{k: v for k, v in (after or {}).items() if k not in declared},
    }
    config = ConfigDict(extra="forbid") if mode != "out" else None
    made = create_model(name, __config__=config, __doc__=doc, **definitions)
    result: type[BaseModel] = made
    return result
