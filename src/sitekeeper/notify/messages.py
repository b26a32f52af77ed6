"""Alert texts: a title and a plain-text body per alert kind, in the client's language.

The functions take plain values (no ORM objects) so the engine, the CLI or a
test can render an alert from anywhere. The English texts here are the msgids of
the gettext catalogues in ``sitekeeper.locale`` (German today); a language without
a catalogue gets English. Values come from monitored (possibly hostile) sites, so
they are bounded and titles are kept on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from gettext import NullTranslations

from sitekeeper.domain.durations import format_duration
from sitekeeper.domain.untrusted import clean
from sitekeeper.locale import N_, NP_, translations

TITLE_MAX = 500  # the notifications.title column
_DETAIL_MAX = 500


class AlertKind(StrEnum):
    """What an alert is about; a stable key into the texts."""

    SITE_DOWN = "site_down"
    SITE_RECOVERED = "site_recovered"
    CERT_EXPIRING = "cert_expiring"
    CERT_INVALID = "cert_invalid"
    BACKUP_FAILED = "backup_failed"
    SOFTWARE = "software"
    UPDATE_FAILED = "update_failed"
    UPDATE_ROLLED_BACK = "update_rolled_back"
    UPDATE_REFUSED = "update_refused"
    UPDATE_INTERRUPTED = "update_interrupted"
    UPDATE_NEEDS_REVIEW = "update_needs_review"
    EXPOSURE = "exposure"
    DOMAIN = "domain"
    INTEGRITY = "integrity"
    SEO = "seo"
    LOCATION_SILENT = "location_silent"  # for the agency: a check location stopped
    LOCATION_BACK = "location_back"


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert, ready for the outbox."""

    kind: AlertKind
    title: str
    body: str


_TEXTS: dict[AlertKind, tuple[str, str]] = {
    AlertKind.SITE_DOWN: (
        N_("DOWN: {site}"),
        N_(
            "{site} ({url}) is down since {since}.\n\n"
            "Error: {category}\n"
            "Detail: {detail}\n"
            "{client_line}"
        ),
    ),
    AlertKind.LOCATION_SILENT: (
        N_("Check location silent: {location}"),
        N_(
            "No check results have come from the location {location} since "
            "{last_result_at}. Its sites are judged by the other locations meanwhile; "
            "please look at its workers.\n"
        ),
    ),
    AlertKind.LOCATION_BACK: (
        N_("Check location back: {location}"),
        N_("Check results come from the location {location} again (silent since {since}).\n"),
    ),
    AlertKind.SITE_RECOVERED: (
        N_("RECOVERED: {site}"),
        N_(
            "{site} ({url}) is up again since {recovered_at}.\n\n"
            "It was down for {downtime} (since {since}).\n"
            "{client_line}"
        ),
    ),
    AlertKind.CERT_EXPIRING: (
        N_("Certificate expires in {days_left} days: {site}"),
        N_(
            "The TLS certificate of {site} ({url}) expires on {expires} "
            "({days_left} days left).\n\n"
            "Issuer: {issuer}\n"
            "{client_line}"
        ),
    ),
    AlertKind.CERT_INVALID: (
        N_("Certificate invalid: {site}"),
        N_(
            "The TLS certificate of {site} ({url}) is not valid.\n\nReason: {reason}\n{client_line}"
        ),
    ),
    AlertKind.BACKUP_FAILED: (
        N_("Backup of {site} failed"),
        N_(
            "The backup of {site} ({url}) failed: {error}\n"
            "Earlier snapshots are intact; the next run will try again.\n"
            "{client_line}"
        ),
    ),
    AlertKind.UPDATE_FAILED: (
        N_("UPDATE FAILED, needs a technician: {site}"),
        N_(
            "The update of {site} ({url}) failed and was not put back.\n\n"
            "Updates: {items}\n"
            "What happened: {reason}\n"
            "The site now: {state}\n"
            "Safety snapshot: {snapshot}\n"
            "{client_line}"
        ),
    ),
    AlertKind.UPDATE_ROLLED_BACK: (
        N_("Update rolled back: {site}"),
        N_(
            "The update of {site} ({url}) broke the site and was rolled back.\n\n"
            "Updates: {items}\n"
            "What happened: {reason}\n"
            "The site now: {state}\n"
            "Safety snapshot: {snapshot}\n"
            "{client_line}"
        ),
    ),
    AlertKind.UPDATE_NEEDS_REVIEW: (
        N_("Update needs review: {site}"),
        N_(
            "The update of {site} ({url}) was applied and the site passes its health "
            "check, but its home page looks different afterwards. The update stays "
            "applied; please look at the site.\n\n"
            "Updates: {items}\n"
            "What was seen: {reason}\n"
            "The site now: {state}\n"
            "Safety snapshot: {snapshot}\n"
            "{client_line}"
        ),
    ),
    AlertKind.UPDATE_REFUSED: (
        N_("Update refused: {site}"),
        N_(
            "The update of {site} ({url}) was refused; nothing on the site changed.\n\n"
            "Updates: {items}\n"
            "Why: {reason}\n"
            "{client_line}"
        ),
    ),
    AlertKind.UPDATE_INTERRUPTED: (
        N_("Update interrupted: {site}"),
        N_(
            "The update of {site} ({url}) was interrupted: sitekeeper stopped during it.\n\n"
            "Updates: {items}\n"
            "What was done: {reason}\n"
            "The site now: {state}\n"
            "Safety snapshot: {snapshot}\n"
            "{client_line}"
        ),
    ),
}
_CLIENT_LINE = N_("Client: {client}")
_REMINDER = N_("Reminder: {title}")
_TIME = N_("%Y-%m-%d %H:%M UTC")  # a strftime pattern: each language writes dates its way
_NO_DETAIL = N_("-")
_UNKNOWN = N_("unknown")


def _clean(value: object, limit: int = _DETAIL_MAX) -> str:
    """One bounded line: site data may be long or carry control or reordering characters."""
    return clean(str(value), limit)


def _text(value: object, language: str) -> str:
    """A template value: a time in UTC, anything else one bounded line (see ``_clean``)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(translations(language).gettext(_TIME))
    return _clean(value)


def _render(kind: AlertKind, language: str, client: str | None, **values: object) -> Message:
    """The kind's texts with every value made safe here, so no builder can forget one."""
    t = translations(language)
    title_template, body_template = _TEXTS[kind]
    texts = {name: _text(value, language) for name, value in values.items()}
    client_line = t.gettext(_CLIENT_LINE).format(client=_clean(client)) + "\n" if client else ""
    title = _clean(t.gettext(title_template).format(**texts), TITLE_MAX)
    body = t.gettext(body_template).format(client_line=client_line, **texts).rstrip() + "\n"
    return Message(kind=kind, title=title, body=body)


def reminder(message: Message, language: str = "en") -> Message:
    """The same alert again, its title marked as a reminder."""
    title = translations(language).gettext(_REMINDER).format(title=message.title)
    return Message(kind=message.kind, title=_clean(title, TITLE_MAX), body=message.body)


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
    no_detail = translations(language).gettext(_NO_DETAIL)
    values = {"category": category, "detail": detail or no_detail, "since": since}
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
    unknown = translations(language).gettext(_UNKNOWN)
    values = {"expires": expires, "days_left": days_left, "issuer": issuer or unknown}
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


def location_silent(*, location: str, last_result_at: datetime, language: str = "en") -> Message:
    """The agency's alert that a check location stored no results for too long."""
    return _render(
        AlertKind.LOCATION_SILENT, language, None, location=location, last_result_at=last_result_at
    )


def location_back(*, location: str, since: datetime, language: str = "en") -> Message:
    """The agency's notice that a silent check location stores results again."""
    return _render(AlertKind.LOCATION_BACK, language, None, location=location, since=since)


def backup_failed(
    *,
    site: str,
    url: str,
    error: str,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The alert for a failed backup (``error`` is ours, already one line of server output)."""
    return _render(AlertKind.BACKUP_FAILED, language, client, site=site, url=url, error=error)


UPDATE_ALERTS = {
    "failed": AlertKind.UPDATE_FAILED,
    "rolled_back": AlertKind.UPDATE_ROLLED_BACK,
    "refused": AlertKind.UPDATE_REFUSED,
    "interrupted": AlertKind.UPDATE_INTERRUPTED,
    "needs_review": AlertKind.UPDATE_NEEDS_REVIEW,
}


def update_problem(
    *,
    outcome: str,
    site: str,
    url: str,
    items: str,
    reason: str,
    state: str,
    snapshot: str | None,
    client: str | None = None,
    language: str = "en",
) -> Message:
    """The alert for an update run that did not simply apply (``outcome``: an
    ``UPDATE_ALERTS`` key); ``state`` says what the site is left in."""
    none = translations(language).gettext(_NO_DETAIL)
    values = {"items": items, "reason": reason, "state": state, "snapshot": snapshot or none}
    return _render(UPDATE_ALERTS[outcome], language, client, site=site, url=url, **values)


@dataclass(frozen=True, slots=True)
class SoftwareLine:
    """One affected package of one site, as a software alert lists it."""

    site: str
    url: str
    package: str
    installed: str | None
    advisory_id: str | None = None
    severity: str | None = None
    fixed_in: str | None = None
    possible: bool = False
    latest: str | None = None


_SECURITY_TITLE = N_("Security: {count} affected")
_SECURITY_TITLE_BY = N_("Security: {count} affected by {advisories}")
_SITES = NP_("{n} site", "{n} sites")
_SITES_OF = NP_("{n} site of {client}", "{n} sites of {client}")
_VULNERABLE = N_("{package} {installed} vulnerable: {advisory}{severity}, fixed in {fixed_in}")
_VULNERABLE_NO_FIX = N_("{package} {installed} vulnerable: {advisory}{severity}, no fix yet")
_POSSIBLE = N_("[possible]")
_SECURITY_UPDATE = N_("{package} {installed}: security update to {latest}")
_MORE_SITES = NP_("… and {n} more site", "… and {n} more sites")


def software_alert(
    *,
    lines: Sequence[SoftwareLine],
    site_count: int,
    advisories: Sequence[str],
    client: str | None = None,
    language: str = "en",
    more: int = 0,
) -> Message:
    """One message per client: the sites a vulnerability or security update concerns.

    ``more``: sites left out of ``lines`` (a client with very many gets the count).
    """
    t = translations(language)
    singular, plural = _SITES_OF if client else _SITES
    count = t.ngettext(singular, plural, site_count).format(n=site_count, client=_clean(client))
    what = ", ".join(_clean(a, 100) for a in advisories[:3]) + (" …" if len(advisories) > 3 else "")
    template = _SECURITY_TITLE_BY if what else _SECURITY_TITLE
    title = _clean(t.gettext(template).format(count=count, advisories=what), TITLE_MAX)
    body = [f"- {_clean(line.site)} ({_clean(line.url)}): {_software(t, line)}" for line in lines]
    if more:
        body.append(t.ngettext(*_MORE_SITES, more).format(n=more))
    return Message(kind=AlertKind.SOFTWARE, title=title, body="\n".join(body) + "\n")


def _software(t: NullTranslations, line: SoftwareLine) -> str:
    """One package's line in the client's language."""
    values = {
        "package": _clean(line.package, 200),
        "installed": _clean(line.installed or "?", 100),
        "latest": _clean(line.latest or "?", 100),
    }
    if not line.advisory_id:
        return t.gettext(_SECURITY_UPDATE).format(**values)
    template = _VULNERABLE if line.fixed_in else _VULNERABLE_NO_FIX
    text = t.gettext(template).format(
        advisory=_clean(line.advisory_id, 100),
        severity=f" ({_clean(line.severity, 50)})" if line.severity else "",
        fixed_in=_clean(line.fixed_in or "", 100),
        **values,
    )
    return f"{text} {t.gettext(_POSSIBLE)}" if line.possible else text


@dataclass(frozen=True, slots=True)
class FindingLine:
    """One finding of one site as an exposure or domain alert lists it: what a check saw
    (its own one-line title and fix) and, when it has one, the evidence."""

    site: str
    url: str
    severity: str | None
    title: str
    fix: str
    evidence: str = ""


_FINDING_TITLES = {
    AlertKind.EXPOSURE: N_("SECURITY: {count} exposed"),
    AlertKind.DOMAIN: N_("DOMAIN: {count} need attention"),
    AlertKind.INTEGRITY: N_("HACK SUSPECTED: {count} with changed or foreign files"),
    AlertKind.SEO: N_("SEO SPAM: {count} affected"),
}
_FINDING_LINE = N_("[{severity}] {title}{evidence}: {fix}")


def finding_alert(
    kind: AlertKind,
    *,
    lines: Sequence[FindingLine],
    site_count: int,
    client: str | None = None,
    language: str = "en",
    more: int = 0,
) -> Message:
    """One message per client: its sites' new exposures or domain issues, worst first per
    site. ``more``: lines left out (a client with very many gets the count)."""
    t = translations(language)
    singular, plural = _SITES_OF if client else _SITES
    count = t.ngettext(singular, plural, site_count).format(n=site_count, client=_clean(client))
    title = _clean(t.gettext(_FINDING_TITLES[kind]).format(count=count), TITLE_MAX)
    body = [
        f"- {_clean(line.site, 100)} ({_clean(line.url, 200)}): "
        + t.gettext(_FINDING_LINE).format(
            severity=_clean(line.severity or "info", 20),
            title=_clean(line.title, 200),
            evidence=f" ({_clean(line.evidence, 200)})" if line.evidence else "",
            fix=_clean(line.fix, 200),
        )
        for line in lines
    ]
    if more:
        body.append(t.ngettext(*_MORE_LINES, more).format(n=more))
    return Message(kind=kind, title=title, body="\n".join(body) + "\n")


_MORE_LINES = NP_("… and {n} more", "… and {n} more")
