"""Templates and the filters pages share (ages, durations, sizes, certificate days, events)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from sitekeeper.domain.client_view import cause_category, client_facts
from sitekeeper.domain.humanize import size
from sitekeeper.domain.journal_text import EventText, describe
from sitekeeper.web.auth import Viewer

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """``3d 4h``, ``12m``: how long ago, at the two coarsest units."""
    if moment is None:
        return "–"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    parts: list[str] = []
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, length)
        if count or parts:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2]) if parts else "<1m"


def duration(seconds: float | None) -> str:
    """A duration as ``1h 5m`` (for incidents)."""
    if seconds is None:
        return "ongoing"
    start = datetime.fromtimestamp(0, UTC)
    return age(start, datetime.fromtimestamp(seconds, UTC))


def stamp(moment: datetime | None) -> str:
    """``2026-03-01 12:00 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "–"


def days_left(moment: datetime | None) -> int | None:
    """Whole days until ``moment``."""
    return None if moment is None else (moment - datetime.now(UTC)).days


TEMPLATES.env.filters.update(
    age=age, stamp=stamp, days_left=days_left, duration=duration, size=size
)
TEMPLATES.env.globals["now"] = lambda: datetime.now(UTC)
TEMPLATES.env.globals["describe"] = describe  # journal events in words


def event_text(who: Viewer, kind: str, data: dict[str, Any] | None) -> EventText:
    """A journal event in words for this viewer: a client user's from the client's facts
    only (no error texts, paths or hosts)."""
    return describe(kind, data if who.is_staff else client_facts(kind, data))


TEMPLATES.env.globals["event_text"] = event_text
TEMPLATES.env.globals["cause_category"] = cause_category


def page(
    request: Request, name: str, who: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the viewer (for the navigation and the CSRF token)."""
    values = {"who": who, "csrf": who.csrf if who else None, **context}
    return TEMPLATES.TemplateResponse(request, name, values, status_code=status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """A plain error page (the viewer is unknown here, so no navigation)."""
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Slow down"}
    return page(
        request,
        "error.html",
        None,
        status=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
        code=status,
    )
