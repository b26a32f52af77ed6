"""The report's words in the client's language: texts from the gettext catalogues
(``sitekeeper.locale``), and dates, numbers, percentages, money and durations formatted by
Babel for the client's locale, times in the client's time zone.

``summary_text`` writes the first page's plain sentences. Sentences are built from whole
translated clauses, each with its own plural, so German gets its own word order and forms.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

from sitekeeper.locale import N_, NP_, languages, translations
from sitekeeper.reports.figures import ClientReport

PERCENT_PLACES = Decimal("0.01")
Length = Literal["short", "long", "narrow"]
LONG: Length = "long"  # durations in sentences are written out


@dataclass(frozen=True)
class Wording:
    """Texts and formats for one language and time zone."""

    language: str
    timezone: str

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale of the client's language ("de-AT": Austrian dates), English when
        Babel knows none or the report has no texts in it (no French dates in English
        sentences)."""
        try:
            found = Locale.parse((self.language or "en").split(".", 1)[0].replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            return Locale("en")
        return found if found.language in {"en", *languages()} else Locale("en")

    @cached_property
    def texts(self) -> gettext.NullTranslations:
        """The language's catalogue (English, the msgids, when there is none)."""
        return translations(self.language)

    @cached_property
    def zone(self) -> ZoneInfo:
        """The client's time zone."""
        return ZoneInfo(self.timezone)

    def gettext(self, text: str) -> str:
        """``text`` in the client's language."""
        return self.texts.gettext(text)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The language's form of a singular/plural pair for ``n``."""
        return self.texts.ngettext(singular, plural, n)

    def count(self, pair: tuple[str, str], n: int, **values: object) -> str:
        """A plural pair (``NP_``) for ``n``, with ``{n}`` and ``values`` filled in."""
        return self.ngettext(*pair, n).format(n=self.integer(n), **values)

    def integer(self, n: int) -> str:
        """A whole number with the locale's grouping (1,234 / 1.234)."""
        return format_decimal(n, locale=self.locale)

    def decimal(self, value: float | Decimal, places: int = 1) -> str:
        """A number with at most ``places`` decimals."""
        return format_decimal(value, format="#,##0." + "#" * places, locale=self.locale)

    def percent(self, pct: float | None) -> str:
        """A percentage (99.866 → 99.86 %, the locale's sign and spacing), cut, never
        rounded up: 99.999 % of uptime is not 100 %."""
        if pct is None:
            return "–"
        share = Decimal(str(pct)).quantize(PERCENT_PLACES, ROUND_DOWN) / 100
        return format_percent(share, locale=self.locale, decimal_quantization=False)

    def money(self, amount: Decimal | None, currency: str | None) -> str:
        """An amount in its currency (112,50 € / €112.50)."""
        if amount is None or not currency:
            return "–"
        return format_currency(amount, currency, locale=self.locale)

    def date(self, day: dt.date | datetime | None) -> str:
        """A date (28.11.2026 / Nov 28, 2026); a moment in the client's time zone."""
        if day is None:
            return "–"
        if isinstance(day, datetime):
            day = day.astimezone(self.zone).date()
        return format_date(day, "medium", locale=self.locale)

    def day_month(self, day: dt.date | datetime) -> str:
        """A date without the year (28. November / November 28)."""
        if isinstance(day, datetime):
            day = day.astimezone(self.zone).date()
        return format_skeleton("MMMMd", day, locale=self.locale)

    def short_day(self, day: dt.date) -> str:
        """A chart's axis label (28.11. / 11/28)."""
        return format_skeleton("Md", day, locale=self.locale)

    def month(self, day: dt.date) -> str:
        """A month and year (November 2026)."""
        return format_skeleton("yMMMM", day, locale=self.locale)

    def moment(self, when: datetime | None) -> str:
        """A date and time in the client's time zone."""
        if when is None:
            return "–"
        return format_datetime(when, "short", tzinfo=self.zone, locale=self.locale)

    def duration(self, seconds: float | None, length: Length = "short") -> str:
        """A duration in hours and minutes (1 hr 5 min / 1 Std. 5 Min.; ``length="long"``
        for prose: 1 hour 5 minutes); under a minute: seconds."""
        if seconds is None:
            return "–"
        whole = round(seconds)
        if 0 < whole < 60:
            return format_unit(whole, "duration-second", length=length, locale=self.locale)
        hours, minutes = divmod(whole // 60, 60)
        parts = []
        if hours:
            parts.append(format_unit(hours, "duration-hour", length=length, locale=self.locale))
        if minutes or not hours:
            parts.append(format_unit(minutes, "duration-minute", length=length, locale=self.locale))
        return " ".join(parts)

    def hours(self, hours: float | None, length: Length = "short") -> str:
        """Hours as a duration, rounded to the minute."""
        return "–" if hours is None else self.duration(hours * 3600, length)

    def minutes(self, minutes: int | None, length: Length = "short") -> str:
        """Minutes as a duration (none: 0 min)."""
        if minutes is None:
            return "–"
        if not minutes:
            return format_unit(0, "duration-minute", length=length, locale=self.locale)
        return self.duration(minutes * 60, length)


# The first page's clauses.
ALL_UP = NP_(
    "The site was up {pct} of the time.",
    "All {n} sites were up {pct} of the time.",
)
NOT_MEASURED = N_("No uptime was measured in this period.")
NO_SITES = N_("No site was looked after in this period.")
OUTAGES = NP_(
    "There was {n} outage, {duration} in total.",
    "There were {n} outages, {duration} in total.",
)
NO_OUTAGES = N_("There was no outage.")
APPLIED = NP_("{n} update was applied", "{n} updates were applied")
SECURITY_PART = NP_("{n} of them a security fix", "{n} of them security fixes")
AFTER_RELEASE = N_("on average {duration} after their release")
NO_UPDATES = N_("No update was applied.")
ROLLED_BACK = NP_(
    "{n} update was rolled back automatically because the site failed its checks after it.",
    "{n} updates were rolled back automatically because the site failed its checks after them.",
)
TAKEN = NP_("{n} backup was taken", "{n} backups were taken")
FAILED_PART = NP_("{n} failed", "{n} failed")
DRILL_PASSED = N_("the restore drill on {date} passed")
DRILL_FAILED = N_("the restore drill on {date} failed")
NO_DRILL = N_("no restore drill has been made yet")
NO_BACKUPS = N_("No backup was taken.")
NO_BACKUPS_BUT = N_("No backup was taken; {drill}.")
ADVISORIES = NP_(
    "{n} published vulnerability concerned the sites",
    "{n} published vulnerabilities concerned the sites",
)
ALL_FIXED = N_("all of them are fixed")
STILL_OPEN = NP_("{n} is still open", "{n} are still open")
DETECTIONS = NP_(
    "Our security checks found {n} issue on the sites",
    "Our security checks found {n} issues on the sites",
)
DETECTIONS_FIXED = N_("all of them are resolved")
WORK = N_("Our team worked {duration} on the sites by hand.")


def summary_text(figures: ClientReport, language: str) -> str:
    """The first page's plain sentences, in ``language`` ("en", "de"): uptime, outages,
    updates, backups and the last drill, advisories, security findings, work."""
    w = Wording(language, figures.client.timezone)
    return " ".join(summary_sentences(figures, w))


def summary_sentences(figures: ClientReport, w: Wording) -> list[str]:
    """``summary_text`` as a list of sentences (the HTML sets them one by one)."""
    s = figures.summary
    if not s.sites:
        return [w.gettext(NO_SITES)]
    said: list[str] = []
    if s.uptime_pct is None:
        said.append(w.gettext(NOT_MEASURED))
    else:
        said.append(w.count(ALL_UP, s.sites, pct=w.percent(s.uptime_pct)))
    if s.incidents:
        said.append(w.count(OUTAGES, s.incidents, duration=w.duration(s.downtime_s, LONG)))
    elif s.uptime_pct is not None:
        said.append(w.gettext(NO_OUTAGES))
    if s.updates_applied:
        parts = [w.count(APPLIED, s.updates_applied)]
        if s.security_fixes:
            parts.append(w.count(SECURITY_PART, s.security_fixes))
        if s.hours_after_release_avg is not None:
            parts.append(
                w.gettext(AFTER_RELEASE).format(duration=w.hours(s.hours_after_release_avg, LONG))
            )
        said.append(", ".join(parts) + ".")
    else:
        said.append(w.gettext(NO_UPDATES))
    if s.rolled_back:
        said.append(w.count(ROLLED_BACK, s.rolled_back))
    said.append(_backups(figures, w))
    if s.advisories:
        tail = w.count(STILL_OPEN, s.advisories_open) if s.advisories_open else w.gettext(ALL_FIXED)
        said.append(f"{w.count(ADVISORIES, s.advisories)}; {tail}.")
    if s.detections:
        open_ = s.detections_open
        tail = w.count(STILL_OPEN, open_) if open_ else w.gettext(DETECTIONS_FIXED)
        said.append(f"{w.count(DETECTIONS, s.detections)}; {tail}.")
    if s.work_minutes:
        said.append(w.gettext(WORK).format(duration=w.minutes(s.work_minutes, LONG)))
    return said


def _backups(figures: ClientReport, w: Wording) -> str:
    s = figures.summary
    drill = s.last_drill
    if drill is None:
        said = w.gettext(NO_DRILL)
    else:
        said = w.gettext(DRILL_PASSED if drill.ok else DRILL_FAILED).format(
            date=w.day_month(drill.at)
        )
    if not s.backups_taken and not s.backups_failed:
        if drill is None:
            return w.gettext(NO_BACKUPS)
        return w.gettext(NO_BACKUPS_BUT).format(drill=said)
    parts = [w.count(TAKEN, s.backups_taken)]
    if s.backups_failed:
        parts.append(w.count(FAILED_PART, s.backups_failed))
    return f"{', '.join(parts)}; {said}."
