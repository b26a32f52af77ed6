"""Plan levels beyond the columns: backups, updates, reports, SLA.

Stored as validated JSON in ``Plan.options`` so a later feature adds a field
here, not a column; unknown keys are rejected so typos never pass silently.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sitekeeper.domain.durations import parse_duration
from sitekeeper.domain.fields import Nested, Spec
from sitekeeper.domain.sites import validate_name
from sitekeeper.domain.update_windows import window_text
from sitekeeper.errors import UsageError

MIN_CHECK_INTERVAL = 10  # seconds; faster checks look like an attack to the site's host
MAX_CHECK_INTERVAL = 86_400 * 7
_CURRENCY = re.compile(r"^[A-Z]{3}$")

BackupSchedule = Literal["none", "hourly", "daily", "weekly"]
DrillCadence = Literal["none", "weekly", "monthly", "quarterly"]
UpdatePolicy = Literal["none", "security", "minor", "all"]
ReportCadence = Literal["none", "monthly", "quarterly"]


def parse_check_interval(text: str) -> int:
    """Seconds of a check interval like ``60s``/``5m``/``1h``; UsageError if bad or too short."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"invalid check interval: {exc}") from None
    if seconds < MIN_CHECK_INTERVAL:
        raise UsageError(f"check interval {text!r} is too short (minimum {MIN_CHECK_INTERVAL}s)")
    return seconds


def parse_sla(text: str) -> float:
    """Hours of an SLA given as a duration (``4h``, ``30m``) or a bare number of hours."""
    value = text.strip()
    try:
        return float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value) / 3600
    except ValueError as exc:
        raise UsageError(f"invalid SLA: {exc}") from None


def parse_percent(text: str) -> float:
    """A share given as ``5``, ``2.5`` or ``5 %``; UsageError otherwise."""
    value = text.strip().removesuffix("%").strip()
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"invalid percentage {text!r}: a number like 5 or 2.5") from None


def parse_hours(text: str) -> float:
    """Hours given as ``2`` or ``1.5``; UsageError otherwise (bounds: the field's)."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise UsageError(f"invalid hours {text!r}: a number like 2 or 1.5") from None


class PlanOptions(BaseModel):
    """What a plan includes besides checks and price."""

    model_config = ConfigDict(extra="forbid")

    backup: Annotated[
        BackupSchedule,
        Spec("Backups", "Backup schedule: none, hourly, daily, weekly.", input="select"),
    ] = "none"
    keep_daily: Annotated[
        int, Field(ge=0, le=3650), Spec("Daily backups kept", "Daily backups kept.", input="number")
    ] = 7
    keep_weekly: Annotated[
        int,
        Field(ge=0, le=520),
        Spec("Weekly backups kept", "Weekly backups kept.", input="number"),
    ] = 4
    keep_monthly: Annotated[
        int,
        Field(ge=0, le=1200),
        Spec("Monthly backups kept", "Monthly backups kept.", input="number"),
    ] = 12
    restore_drill: Annotated[
        DrillCadence,
        Spec("Restore drill", "Restore test: none, weekly, monthly, quarterly.", input="select"),
    ] = "none"
    update_policy: Annotated[
        UpdatePolicy,
        Spec(
            "Update policy",
            "Updates serve applies by itself: none, security (fixes on the installed branch), "
            "minor (every update on the installed branch), all (majors too).",
            input="select",
        ),
    ] = "none"
    update_window: Annotated[
        str | None,
        AfterValidator(lambda text: None if text is None else window_text(text)),
        Spec(
            "Maintenance window",
            "When policy updates run, in the client's time zone, e.g. Mon-Fri 22:00-06:00.",
            hint="(empty: any time)",
        ),
    ] = None
    security_within_hours: Annotated[
        int,
        Field(ge=0, le=720),
        Spec(
            "Security updates within (hours)",
            "A security update is applied within this many hours of its release, outside "
            "the window if the window opens too late.",
            input="number",
        ),
    ] = 4
    client_approves_updates: Annotated[
        bool,
        Spec(
            "Clients approve updates",
            "The client's own users may approve or reject its sites' waiting updates.",
            input="checkbox",
            edit_option="--client-approves-updates/--staff-approves-updates",
            edit_help="Whether the client's users may approve its sites' updates.",
        ),
    ] = False
    update_visual_threshold: Annotated[
        float | None,
        Field(gt=0, le=100, description="Visual check after an update (% of pixels)."),
        Spec(
            "Visual check (% changed)",
            "Compare screenshots of the home page before and after an update (headless "
            "Chromium); more than this % of pixels changed marks the update 'needs review'.",
            parse=parse_percent,
            show=lambda share: "" if share is None else f"{share:g}",
            hint="(e.g. 5; empty: off)",
        ),
    ] = None
    report: Annotated[
        ReportCadence, Spec("Reports", "none, monthly, quarterly.", input="select")
    ] = "monthly"
    forbidden_words: Annotated[
        list[str],
        Field(max_length=100),
        AfterValidator(lambda words: [w.strip()[:100] for w in words if w.strip()]),
        Spec(
            "Forbidden words",
            "A word that must never appear on the plan's sites (repeatable; the content "
            "probe reports it).",
            option="--forbidden-word",
            input="textarea",
            hint="(one per line)",
            multiple=True,
        ),
    ] = Field(default_factory=list)
    content_change_percent: Annotated[
        float,
        Field(gt=0, le=100, description="Text change that counts as defacement (%)."),
        Spec(
            "Defacement threshold (% text changed)",
            "A key page whose visible text changed by more than this % since its baseline "
            "is reported as defaced.",
            parse=parse_percent,
            show=lambda share: f"{share:g}",
            input="number",
        ),
    ] = 60.0
    sla_hours: Annotated[
        float | None,
        Field(gt=0, description="Response-time SLA (hours)."),
        Spec(
            "Response-time SLA",
            "Response-time SLA, e.g. 4h.",
            option="--sla",
            parse=parse_sla,
            show=lambda hours: "" if hours is None else f"{hours:g}h",
            hint="(4h, 30m; empty: none)",
        ),
    ] = None
    uptime_target: Annotated[
        float | None,
        Field(gt=0, le=100, description="Uptime the plan promises (% of the month)."),
        Spec(
            "Uptime target (%)",
            "Uptime the plan promises each month, e.g. 99.9 (the report compares each site).",
            parse=parse_percent,
            show=lambda share: "" if share is None else f"{share:g}",
            hint="(e.g. 99.9; empty: none)",
        ),
    ] = None
    hours_included: Annotated[
        float,
        Field(ge=0, le=744, description="Hours of work per month the plan includes."),
        Spec(
            "Hours included per month",
            "Hours of work by hand per month the plan includes (the work log counts them).",
            parse=parse_hours,
            show=lambda hours: f"{hours:g}",
            input="number",
        ),
    ] = 0
    hourly_rate: Annotated[
        str | None,
        Field(max_length=20, description="Price per hour beyond the included hours."),
        BeforeValidator(lambda value: as_text(value)),  # noqa: PLW0108 - defined below
        AfterValidator(lambda text: None if text is None else price_text(text)),
        Spec(
            "Hourly rate",
            "Price per hour of work beyond the included hours, in the plan's currency.",
            parse=lambda text: price_text(text),  # noqa: PLW0108 - defined below
            hint="(e.g. 90; empty: overage not priced)",
        ),
    ] = None
    check_locations: Annotated[
        int,
        Field(ge=1, le=10, description="Locations that check each site."),
        Spec(
            "Check locations",
            "Locations that check each site; above 1, a failure seen from one location "
            "must be confirmed from another before the site counts as down.",
            input="number",
        ),
    ] = 1


def parse_price(text: str | Decimal) -> Decimal:
    """A non-negative amount with at most two decimals; UsageError otherwise."""
    try:
        price = Decimal(str(text).strip())
    except InvalidOperation:
        raise UsageError(f"invalid price {text!r}") from None
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        raise UsageError(f"invalid price {text!r}: a non-negative amount like 49 or 49.90")
    if price >= Decimal("1e10"):
        raise UsageError(f"price {text!r} is too large")
    return price.quantize(Decimal("0.01"))


def _currency(code: str) -> str:
    if not _CURRENCY.match(code.upper()):
        raise UsageError(f"invalid currency {code!r}: a code like EUR, USD, CHF")
    return code.upper()


def price_text(text: str | Decimal) -> str:
    """A price's canonical text (``49.90``); UsageError if it is not one."""
    return str(parse_price(text))


def as_text(value: object) -> object:
    """Amounts may come as Decimal or int from code; the field holds their text."""
    return str(value) if isinstance(value, Decimal | int) else value


class PlanFields(BaseModel):
    """A plan's fields: the one place a plan field is declared (store, API, CLI, forms)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        Field(max_length=200),
        AfterValidator(validate_name),
        Spec("Name", "New name.", arg_help="Plan name, e.g. Basic."),
    ]
    check_interval: Annotated[
        int,
        Field(ge=MIN_CHECK_INTERVAL, le=MAX_CHECK_INTERVAL),
        Spec(
            "Check interval",
            "How often to check: 60s, 5m, 1h (min 10s).",
            parse=parse_check_interval,
            show=lambda seconds: f"{seconds}s",
            hint="(60s, 5m, 1h)",
        ),
    ] = 300
    tls_warn_days: Annotated[
        int,
        Field(ge=0, le=365),
        Spec("Certificate warning (days)", "Warn N days before.", input="number"),
    ] = 14
    domain_warn_days: Annotated[
        int,
        Field(ge=0, le=365),
        Spec("Domain expiry warning (days)", "Warn N days before.", input="number"),
    ] = 30
    price: Annotated[
        str,
        Field(max_length=20),
        BeforeValidator(as_text),
        AfterValidator(price_text),
        Spec("Price per month", "Monthly price, e.g. 49."),
    ] = "0"
    currency: Annotated[
        str,
        Field(max_length=3),
        AfterValidator(_currency),
        Spec("Currency", "ISO code, e.g. EUR."),
    ] = "EUR"
    options: Annotated[
        dict[str, Any], Nested(PlanOptions), Spec("Options", option=None, form=False)
    ] = Field(default_factory=dict)
