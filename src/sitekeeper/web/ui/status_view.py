"""What a client's public status page shows: each site's name, its state in one word and
the uptime of its last 90 days, in the client's language, and nothing else.

The page is public, so it is built from a short list of harmless facts rather than by
filtering the dashboard's rows: a site's name (the client's own words), the fleet's state
(up, down, certificate problem, paused, not checked yet), the error *category* of a down
site (never its text), and the daily uptime rows the site page charts (``check_daily``,
through ``store.history.uptime_by_day``). URLs, software, findings and addresses are
never read, so they cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from gettext import NullTranslations

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_percent
from markupsafe import Markup
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import ErrorCategory
from sitekeeper.errors import UsageError
from sitekeeper.locale import N_, translations
from sitekeeper.reports.charts import Point, uptime_bars
from sitekeeper.store import fleet, history
from sitekeeper.store.tables import Client
from sitekeeper.timezones import zone

DAYS = 90
WIDTH, HEIGHT = 450, 34  # the bars' viewBox: 5 units a day

# The public words for the fleet's states: "tls" (a certificate problem) is "degraded".
STATES = {
    "up": ("up", N_("Operational")),
    "down": ("down", N_("Down")),
    "tls": ("degraded", N_("Degraded")),
    "paused": ("paused", N_("Monitoring paused")),
    "unknown": ("unknown", N_("No data yet")),
}
# Why a site is down, as a visitor would put it (a category, never the error's text).
CAUSES = {
    ErrorCategory.TIMEOUT: N_("Not responding"),
    ErrorCategory.DNS: N_("Domain name not found"),
    ErrorCategory.REFUSED: N_("Connection failed"),
    ErrorCategory.RESET: N_("Connection failed"),
    ErrorCategory.TLS: N_("Secure connection failed"),
    ErrorCategory.TOO_MANY_REDIRECTS: N_("Redirect loop"),
    ErrorCategory.HTTP_STATUS: N_("Error page (HTTP {status})"),
    ErrorCategory.KEYWORD_MISSING: N_("Unexpected content"),
    ErrorCategory.FORBIDDEN_CONTENT: N_("Unexpected content"),
    ErrorCategory.BODY_TOO_LARGE: N_("Unexpected content"),
    ErrorCategory.INVALID_RESPONSE: N_("Invalid response"),
}
CERTIFICATE = N_("Certificate problem")
SINCE = N_("since {moment}")
TITLE = N_("{client}: status")
HEADING = N_("Status of {client}'s websites")
ALL_UP = N_("All websites are operational.")
SOME_DOWN = N_("Some websites are down.")
SOME_DEGRADED = N_("Some websites have a problem.")
NO_PROBLEMS = N_("No known problems.")
NO_SITES = N_("No websites are monitored yet.")
UPTIME = N_("{percent} uptime in the last 90 days")
NO_UPTIME = N_("No uptime recorded in the last 90 days")
CHART = N_("Uptime per day, last 90 days")
NO_DATA = N_("no data")
DAY_UPTIME = N_("{day}: {percent} uptime")
AGO = N_("90 days ago")
TODAY = N_("Today")
UPDATED = N_("Updated {moment}")
DAYS_NOTE = N_("Days are UTC days, as in the monitoring.")


@dataclass(frozen=True, slots=True)
class StatusSite:
    """One site as the public sees it."""

    name: str
    state: str  # up, down, degraded, paused, unknown (a CSS class)
    state_text: str
    note: str  # a down or degraded site's category and since when; "" otherwise
    uptime_text: str
    bars: Markup


@dataclass(frozen=True, slots=True)
class StatusView:
    """The whole page, every text already in the client's language."""

    language: str
    title: str
    heading: str
    overall: str
    overall_state: str
    sites: list[StatusSite]
    texts: dict[str, str]


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive UTC timestamps back."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class _Words:
    """The client's language: its catalogue, and dates and numbers in its locale."""

    def __init__(self, language: str, timezone: str) -> None:
        self.t: NullTranslations = translations(language)
        try:  # dates and numbers as the client writes them; English for a code Babel lacks
            self.locale = Locale.parse((language or "en").replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.locale = Locale("en")
        try:
            self.zone = zone(timezone)
        except UsageError:  # a zone the system lost since: UTC is still true
            self.zone = zone("UTC")
        # 90 bars a site, each with a date and a figure: Babel is slow enough to matter.
        self.percent = cache(self._percent)
        self.day = cache(self._day)

    def __call__(self, text: str, **values: object) -> str:
        translated = self.t.gettext(text)
        return translated.format(**values) if values else translated

    def _percent(self, value: float) -> str:
        """``99.95 %`` / ``99,95 %`` (the sign in the value keeps it out of the msgids)."""
        return format_percent(round(value, 2) / 100, format="0.00\u00a0%", locale=self.locale)

    def _day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime) -> str:
        """``Dec 6, 2026, 11:22 PM UTC`` / ``06.12.2026, 23:22 CET``: the zone said."""
        local = value.astimezone(self.zone)
        day = format_date(local, format="medium", locale=self.locale)
        time = format_time(local, format="short", locale=self.locale)
        return f"{day}, {time} {local.strftime('%Z')}"


def _bars(days: list[date], uptime: dict[date, float], words: _Words) -> Markup:
    """One bar a day, coloured by the site page's grades, grey without checks; each bar's
    <title> in the client's language."""
    points = [
        Point(day.isoformat(), None, text=f"{words.day(day)}: {words(NO_DATA)}")
        if (value := uptime.get(day)) is None
        else Point(
            day.isoformat(),
            value,
            text=words(DAY_UPTIME, day=words.day(day), percent=words.percent(value)),
        )
        for day in days
    ]
    return uptime_bars(points, height=HEIGHT, title=words(CHART), width=WIDTH, css_class="bars")


def _note(row: fleet.SiteStateRow, words: _Words) -> str:
    """A down site's category (and since when), a degraded site's problem; else ""."""
    if row.state == "tls":
        return words(CERTIFICATE)
    if row.state != "down":
        return ""
    cause = ""
    if row.error in CAUSES:
        status = row.status if isinstance(row.status, int) and 100 <= row.status <= 599 else "?"
        cause = words(CAUSES[ErrorCategory(row.error)], status=status)
    since = _aware(row.down_since)
    when = words(SINCE, moment=words.moment(since)) if since is not None else ""
    return " · ".join(part for part in (cause, when) if part)


def status_view(session: Session, client: Client, now: datetime) -> StatusView:
    """The page of ``client`` as of ``now``: the states, the daily rows, and raw rows a day
    for the days not rolled up yet (today, mostly)."""
    words = _Words(client.language, client.timezone)
    rows = fleet.site_states(session, client.id, now)
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
    figures = history.uptime_by_day(session, [r.site_id for r in rows], DAYS, today) if rows else []
    by_site: dict[int, dict[date, tuple[int, int]]] = {}
    for f in figures:
        if f.summary.checks:
            by_site.setdefault(f.site_id, {})[f.day] = (f.summary.checks, f.summary.up_checks)
    sites = []
    for row in rows:
        counts = by_site.get(row.site_id, {})
        checks = sum(c for c, _ in counts.values())
        up = sum(u for _, u in counts.values())
        public, label = STATES[row.state]
        sites.append(
            StatusSite(
                name=row.name,
                state=public,
                state_text=words(label),
                note=_note(row, words),
                uptime_text=words(UPTIME, percent=words.percent(up * 100 / checks))
                if checks
                else words(NO_UPTIME),
                bars=_bars(days, {d: u * 100 / c for d, (c, u) in counts.items()}, words),
            )
        )
    states = {s.state for s in sites}
    if not sites:
        overall, overall_state = words(NO_SITES), "unknown"
    elif "down" in states:
        overall, overall_state = words(SOME_DOWN), "down"
    elif "degraded" in states:
        overall, overall_state = words(SOME_DEGRADED), "degraded"
    elif states == {"up"}:
        overall, overall_state = words(ALL_UP), "up"
    else:  # paused or not checked yet, besides those up
        overall, overall_state = words(NO_PROBLEMS), "unknown"
    return StatusView(
        language=str(words.locale).replace("_", "-"),
        title=words(TITLE, client=client.name),
        heading=words(HEADING, client=client.name),
        overall=overall,
        overall_state=overall_state,
        sites=sites,
        texts={
            "chart": words(CHART),
            "ago": words(AGO),
            "today": words(TODAY),
            "updated": words(UPDATED, moment=words.moment(now)),
            "days_note": words(DAYS_NOTE),
        },
    )
