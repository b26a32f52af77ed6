"""The work log's rules: what one entry of work done by hand may say.

The report counts these minutes against the hours the plan includes, so an entry is
bounded (a day at most, a note that says what was done) and dated by the day it was done.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sitekeeper.errors import UsageError

MAX_MINUTES = 24 * 60  # one entry is one day's work at most
MAX_NOTE = 2000

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)]
Who = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WorkFields(BaseModel):
    """One entry: when, how long, what, by whom (on a site or for the client as a whole)."""

    model_config = ConfigDict(extra="forbid")

    day: date
    minutes: Annotated[int, Field(ge=1, le=MAX_MINUTES)]
    note: Note
    by: Who


def checked(*, day: date, minutes: int, note: str, by: str) -> WorkFields:
    """The entry after the rules; UsageError names what is wrong."""
    try:
        return WorkFields(day=day, minutes=minutes, note=note, by=by)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "entry"
        raise UsageError(f"invalid work entry {where}: {first['msg']}") from None
