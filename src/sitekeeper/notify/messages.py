"""Alert texts: a title and a plain-text body per alert kind.

The functions take plain values (no ORM objects) so the engine, the CLI or a
test can render an alert from anywhere. Texts live in one catalogue per
language; only English exists today, and any other ``language`` falls back to
it, so translating later means adding a catalogue, not touching callers.
Values come from monitored (possibly hostile) sites, so they are bounded and
titles are kept on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sitekeeper.domain.durations import format_duration

TITLE_MAX = 500  # the notifications.title column
_DETAIL_MAX = 500


class AlertKind(StrEnum):
    """What an alert is about; a stable key into the text catalogues."""

    SITE_DOWN = "site_down"
    SITE_RECOVERED = "site_recovered"
    CERT_EXPIRING = "cert_expiring"
    CERT_INVALID = "cert_invalid"


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert, ready for the outbox."""

    kind: AlertKind
    title: str
    body: str


_EN: dict[AlertKind, tuple[str, str]] = {
    AlertKind.SITE_DOWN: (
        "DOWN: {site}",
        "{site} ({url}) is down since {since}.\n\n"
        "Error: {category}\n"
        "Detail: {detail}\n"
        "{client_line}",
    ),
    AlertKind.SITE_RECOVERED: (
        "RECOVERED: {site}",
        "{site} ({url}) is up again since {recovered_at}.\n\n"
        "It was down for {downtime} (since {since}).\n"
        "{client_line}",
    ),
    AlertKind.CERT_EXPIRING: (
        "Certificate expires in {days_left} days: {site}",
        "The TLS certificate of {site} ({url}) expires on {expires} "
        "({days_left} days left).\n\n"
        "Issuer: {issuer}\n"
        "{client_line}",
    ),
    AlertKind.CERT_INVALID: (
        "Certificate invalid: {site}",
        "The TLS certificate of {site} ({url}) is not valid.\n\nReason: {reason}\n{client_line}",
    ),
}

_CATALOGUES: dict[str, dict[AlertKind, tuple[str, str]]] = {"en": _EN}


def _catalogue(language: str) -> dict[AlertKind, tuple[str, str]]:
    """The texts for ``language`` ("de", "de-AT", ...), English when there are none yet."""
    base = language.lower().replace("_", "-").split("-", 1)[0]
    return _CATALOGUES.get(base, _EN)


def _clean(value: object, limit: int = _DETAIL_MAX) -> str:
    """One bounded line: site data may be long or contain control characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object) -> str:
    """A template value: a time in UTC, anything else one bounded line (see ``_clean``)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _clean(value)


def _render(kind: AlertKind, language: str, client: str | None, **values: object) -> Message:
    """The kind's texts with every value made safe here, so no builder can forget one."""
    title_template, body_template = _catalogue(language)[kind]
    texts = {name: _text(value) for name, value in values.items()}
    client_line = f"Client: {_clean(client)}\n" if client else ""
    title = _clean(title_template.format(**texts), TITLE_MAX)
    body = body_template.format(client_line=client_line, **texts).rstrip() + "\n"
    return Message(kind=kind, title=title, body=body)


def site_down(
    *,
    site: str,
    url: str,
    category: str,
    detail: str | None,
    since: datetime,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The alert for a confirmed outage; ``category`` is a ``domain.checks.ErrorCategory``."""
    values = {"category": category, "detail": detail or "-", "since": since}
    return _render(AlertKind.SITE_DOWN, language, client, site=site, url=url, **values)


def site_recovered(
    *,
    site: str,
    url: str,
    down_since: datetime,
    recovered_at: datetime,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The all-clear, with how long the site was down."""
    downtime = format_duration(max(0, int((recovered_at - down_since).total_seconds())))
    values = {"since": down_since, "recovered_at": recovered_at, "downtime": downtime}
    return _render(AlertKind.SITE_RECOVERED, language, client, site=site, url=url, **values)


def certificate_expiring(
    *,
    site: str,
    url: str,
    expires: datetime,
    days_left: int,
    issuer: str | None,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The warning sent when a certificate expires within the plan's warning days."""
    values = {"expires": expires, "days_left": days_left, "issuer": issuer or "unknown"}
    return _render(AlertKind.CERT_EXPIRING, language, client, site=site, url=url, **values)


def certificate_invalid(
    *,
    site: str,
    url: str,
    reason: str,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The alert for a certificate that does not verify (expired, wrong name, untrusted)."""
    return _render(AlertKind.CERT_INVALID, language, client, site=site, url=url, reason=reason)
