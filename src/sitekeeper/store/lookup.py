"""Find one object by what a user typed: its id or its exact name."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sitekeeper.errors import NotFound


class _Named(Protocol):
    id: int
    name: str


M = TypeVar("M", bound=_Named)


def by_id_or_name(
    session: Session, model: type[M], name_col: InstrumentedAttribute[str], ref: str, noun: str
) -> M:
    """The object whose id (if ``ref`` is a number) or name is ``ref``; NotFound otherwise.

    A name wins over an id only when no object has that id, so a client named
    "42" stays reachable by name as long as there is no client 42.
    """
    text = ref.strip()
    if text.isdigit():
        found = session.get(model, int(text))
        if found is not None:
            return found
    named = session.scalar(select(model).where(name_col == text))
    if named is None:
        raise NotFound(f"no {noun} {ref!r} (give its id or exact name)")
    return named


def name_taken(
    session: Session, name_col: InstrumentedAttribute[str], name: str, *, except_id: int | None
) -> bool:
    """Whether another object already uses ``name``."""
    owner = session.scalar(select(name_col.class_.id).where(name_col == name))
    return owner is not None and owner != except_id
