"""IANA time zones by name (the system's tz database), for clients' maintenance windows
and reports. Kept out of ``domain``: looking a zone up reads files."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sitekeeper.errors import UsageError


def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (``Europe/Berlin``); UsageError if the system has none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}: an IANA name like Europe/Berlin") from None
