"""The report as one self-contained HTML document: Jinja2 templates in
``reports/templates`` (autoescaped), every visible text from the gettext catalogues, the
styles inline, the logo a ``data:`` URI and the charts inline SVG, so the file shows the
same anywhere and the PDF renderer fetches nothing.

Each figure links to the dashboard page of the records behind it (``Branding.link``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from sitekeeper.locale import N_, translations
from sitekeeper.reports.branding import Branding
from sitekeeper.reports.charts import Series, daily_lines
from sitekeeper.reports.figures import ClientReport, ContractFigures
from sitekeeper.reports.site_figures import SiteFigures
from sitekeeper.reports.updates import AWAITING_APPROVAL, BY_HAND, DUE, HELD, OUTSIDE_WINDOW
from sitekeeper.reports.wording import Wording, summary_sentences

TOC_FROM = 4  # sites: a client with more than 3 gets a table of contents

# Words the figures carry as codes: pending reasons, plan options, incident kinds and
# causes, update steps. A code with no entry here is shown as it is (it is data).
CODES: dict[str, str] = {
    AWAITING_APPROVAL: N_("awaiting approval"),
    HELD: N_("held"),
    OUTSIDE_WINDOW: N_("outside the maintenance window"),
    DUE: N_("due at the next run"),
    BY_HAND: N_("to be applied by hand"),
    "none": N_("none"),
    "hourly": N_("hourly"),
    "daily": N_("daily"),
    "weekly": N_("weekly"),
    "monthly": N_("monthly"),
    "quarterly": N_("quarterly"),
    "security": N_("security fixes"),
    "minor": N_("minor updates"),
    "all": N_("all updates"),
    "down": N_("site down"),
    "tls_expiring": N_("certificate expiring"),
    "timeout": N_("no answer in time"),
    "dns": N_("name not found (DNS)"),
    "refused": N_("connection refused"),
    "reset": N_("connection reset"),
    "tls": N_("certificate error"),
    "too_many_redirects": N_("too many redirects"),
    "http_status": N_("error page"),
    "keyword_missing": N_("expected text missing"),
    "forbidden_content": N_("unexpected content"),
    "body_too_large": N_("page too large"),
    "invalid_response": N_("invalid response"),
    "health_after": N_("health check after the update"),
    "visual": N_("visual check"),
    "snapshot": N_("safety snapshot"),
    "upgrade": N_("upgrade"),
    "package": N_("package check"),
    "core": N_("core"),
    "plugin": N_("plugin"),
    "theme": N_("theme"),
    "module": N_("module"),
    "component": N_("component"),
    "extension": N_("extension"),
    "connect": N_("connection"),
    "database": N_("database"),
    "disk": N_("disk space"),
    "flags": N_("warning signs on the page"),
    "inventory": N_("software inventory"),
    "maintenance": N_("maintenance mode"),
    "offline": N_("offline mode"),
    "opcache": N_("PHP cache"),
    "ssh": N_("SSH access"),
    "sudo": N_("access as the site's owner"),
    "preflight": N_("checks before the update"),
    "home": N_("home page"),
    "login": N_("login page"),
    "inside": N_("check inside the site"),
    "status": N_("status code"),
    "title": N_("page title"),
    "time": N_("response time"),
    "keyword": N_("expected text"),
    "content": N_("content"),
    "load": N_("loading"),
    "exposure": N_("exposed to the web"),
    "integrity": N_("changed files"),
    "malware": N_("malicious code"),
    "seo": N_("search-engine spam"),
    "critical": N_("critical"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    "info": N_("for information"),
}


@cache
def environment(language: str) -> Environment:
    """The templates with ``language``'s catalogue installed (one environment per
    language, so renders in different languages never share state)."""
    env = Environment(
        loader=PackageLoader("sitekeeper.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["isotime"] = datetime.fromisoformat
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_html(figures: ClientReport, branding: Branding, language: str) -> str:
    """The whole report as HTML in ``language``."""
    w = Wording(language, figures.client.timezone)
    sites = [s for c in figures.contracts for s in c.sites] + figures.other_sites
    return (
        environment(language)
        .get_template("report.html")
        .render(
            r=figures,
            brand=branding,
            w=w,
            lang=w.locale.language,
            sentences=summary_sentences(figures, w),
            sites=sites,
            toc=len(sites) >= TOC_FROM,
            link=branding.link,
            code=_coder(w),
            services=lambda c: services(c, w),
            chart=lambda site: chart(site, w, branding),
            period_title=_period_title(figures, w),
            css=lambda text: Markup(css_string(text)),  # noqa: S704 - escaped there
            page_counter=Markup(page_counter(w)),  # noqa: S704 - CSS strings escaped below
        )
    )


def page_counter(w: Wording) -> str:
    """The CSS ``content`` of the page footer: "Page 3 of 7" in the client's language."""
    text = w.gettext(N_("Page {page} of {pages}"))
    parts: list[str] = []
    for piece in re.split(r"(\{page\}|\{pages\})", text):
        if piece == "{page}":
            parts.append("counter(page)")
        elif piece == "{pages}":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts)


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (quotes, backslashes and line breaks escaped, and
    ``<`` so it cannot close the style element)."""
    escaped = "".join(c if c.isalnum() or c in " .,-–:()" else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def services(contract: ContractFigures, w: Wording) -> list[tuple[str, str]]:
    """The plan's services as (label, value) lines of the first page."""
    o: dict[str, Any] = contract.services
    code = _coder(w)
    lines: list[tuple[str, str]] = []
    if o.get("uptime_target") is not None:
        lines.append((w.gettext(N_("Uptime target")), w.percent(o["uptime_target"])))
    if o.get("backup", "none") != "none":
        kept = w.gettext(N_("{daily} daily, {weekly} weekly, {monthly} monthly kept")).format(
            daily=o.get("keep_daily", 0),
            weekly=o.get("keep_weekly", 0),
            monthly=o.get("keep_monthly", 0),
        )
        lines.append((w.gettext(N_("Backups")), f"{code(o['backup'])} · {kept}"))
    if o.get("restore_drill", "none") != "none":
        lines.append((w.gettext(N_("Restore drill")), code(o["restore_drill"])))
    if o.get("update_policy", "none") != "none":
        said = code(o["update_policy"])
        if o.get("update_window"):
            said += " · " + w.gettext(N_("window {window}")).format(window=o["update_window"])
        lines.append((w.gettext(N_("Updates applied automatically")), said))
        lines.append(
            (
                w.gettext(N_("Security updates within")),
                w.hours(float(o.get("security_within_hours", 0))),
            )
        )
    if o.get("sla_hours") is not None:
        lines.append((w.gettext(N_("Response time")), w.hours(float(o["sla_hours"]))))
    hours = float(o.get("hours_included") or 0)
    lines.append((w.gettext(N_("Work included per month")), w.hours(hours)))
    if o.get("hourly_rate"):
        rate = w.money(Decimal(o["hourly_rate"]), contract.currency)
        lines.append((w.gettext(N_("Hourly rate beyond that")), rate))
    return lines


def chart(site: SiteFigures, w: Wording, branding: Branding) -> Markup:
    """The site's daily response time, median and 95th percentile."""
    days = site.uptime.days
    return daily_lines(
        [w.short_day(d.day) for d in days],
        [
            Series(w.gettext(N_("median")), branding.primary, [d.p50_ms for d in days]),
            Series(w.gettext(N_("95th percentile")), branding.accent, [d.p95_ms for d in days]),
        ],
        title=w.gettext(N_("Response time per day")),
    )


def _coder(w: Wording) -> Callable[[str | None], str]:
    def word(value: str) -> str | None:
        """A code, or an update step's ``page.part`` (``home.status``: "home page: status
        code"), in the client's language; None when a part has no entry."""
        if value in CODES:
            return w.gettext(CODES[value])
        head, dot, part = value.partition(".")
        if dot and head in CODES and part in CODES:
            return f"{w.gettext(CODES[head])}: {w.gettext(CODES[part])}"
        return None

    def code(value: str | None) -> str:
        if value is None:
            return "–"
        head, _, rest = value.partition(": ")
        if (said := word(head)) is not None:
            return f"{said} {rest}" if rest else said
        first, space, item = value.partition(" ")  # "package akismet": a step on one item
        if space and first in CODES:
            return f"{w.gettext(CODES[first])} {item}"
        return value

    return code


def _period_title(figures: ClientReport, w: Wording) -> str:
    p = figures.period
    if "." not in p.label:  # a calendar month
        return w.month(p.first)
    return f"{w.date(p.first)} – {w.date(p.last)}"
