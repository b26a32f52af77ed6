"""Bounded, validated decoding of feed bodies: JSON and XML from the internet.

Every parser goes through here so that size caps, XML-bomb and external-entity
protection (``defusedxml``, no DTD at all) and type validation are applied the
same way, and every failure becomes one :class:`~sitekeeper.errors.InvalidFeed`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any, TypeVar

import defusedxml
import defusedxml.ElementTree as SafeET
import pydantic

from sitekeeper.errors import InvalidFeed

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # the largest real feed (Drupal core history) is ~1 MB
T = TypeVar("T")


def as_bytes(data: bytes | str, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The body as bytes, or InvalidFeed if it is larger than ``max_bytes``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise InvalidFeed(f"{what}: {len(raw)} bytes is over the {max_bytes}-byte limit")
    return raw


def as_text(data: bytes | str, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The body as text (UTF-8, undecodable bytes replaced: headers are free-form)."""
    return as_bytes(data, what=what, max_bytes=max_bytes).decode("utf-8", "replace")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def load_json(data: bytes | str, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode JSON under the size cap; NaN/Infinity and absurd nesting are rejected."""
    raw = as_bytes(data, what=what, max_bytes=max_bytes)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidFeed(f"{what}: not valid JSON ({exc})") from exc


def parse_xml(data: bytes | str, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ET.Element:
    """Parse XML under the size cap; any DTD, entity or external reference is refused."""
    raw = as_bytes(data, what=what, max_bytes=max_bytes)
    try:
        root: ET.Element = SafeET.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise InvalidFeed(f"{what}: refused hostile XML ({exc})") from exc
    except (ET.ParseError, ValueError, RecursionError) as exc:
        raise InvalidFeed(f"{what}: not well-formed XML ({exc})") from exc
    return root


def validate(model: type[T], value: object, *, what: str) -> T:
    """Check decoded data against a model; the error names the first bad field."""
    try:
        return pydantic.TypeAdapter(model).validate_python(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise InvalidFeed(f"{what}: {where}: {first['msg']}") from exc


def text_of(element: ET.Element, path: str, *, what: str, required: bool = True) -> str | None:
    """Stripped text of the child at ``path``; InvalidFeed if required and missing or empty."""
    child = element.find(path)
    value = (child.text or "").strip() if child is not None else ""
    if not value and required:
        raise InvalidFeed(f"{what}: <{element.tag}> has no <{path}>")
    return value or None


def expect_root(root: ET.Element, tag: str, *, what: str) -> None:
    """InvalidFeed unless the document element is ``tag``: a wrong feed must not half-parse."""
    if root.tag != tag:
        raise InvalidFeed(f"{what}: expected <{tag}>, got <{root.tag}>")
