"""JSON shapes of the API (the stable contract; add fields, never rename)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from sitekeeper.domain.clients import ClientFields
from sitekeeper.domain.contracts import ContractFields
from sitekeeper.domain.fields import api_model
from sitekeeper.domain.plans import PlanFields
from sitekeeper.domain.sites import SiteDeclaration


class SiteOut(BaseModel):
    """A site and its latest state."""

    id: int
    name: str
    url: str
    client_id: int | None
    client: str | None
    contract_id: int | None = None
    tags: list[str]
    key_pages: list[str] | None = Field(
        default=None,
        description="The content checks' key pages (paths; empty: the sitemap's first "
        "pages); only when one site is read or written, not in lists",
    )
    cms: str | None
    cms_version: str | None
    paused: bool
    state: str = Field(
        description="compromised (open signs of a hack: sorts first), down, tls, unknown, up "
        "or paused"
    )
    up: bool | None
    status: int | None
    error: str | None
    response_ms: int | None
    checked_at: datetime | None
    tls_expires: datetime | None
    down_since: datetime | None
    updates: int = Field(default=0, description="Open pending updates")
    security_updates: int = Field(default=0, description="Of which security updates")
    vulns: int = Field(default=0, description="Open known vulnerabilities")
    last_backup_at: datetime | None = Field(default=None, description="Last good backup")
    backup_failed: bool = Field(default=False, description="The last backup run failed")
    compromised: int = Field(
        default=0,
        description="Open findings that are signs of a hack (integrity or SEO at high or "
        "worse, malware from medium); nonzero makes the state compromised",
    )


class SshChange(BaseModel):
    """A change of the site's SSH access (admins only; journaled): absent parts stay as
    they are, validated as ``site edit --ssh/--key/--path/--sudo-user`` validates them."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(default=None, max_length=300, description="user@host[:port]")
    key_id: int | None = Field(default=None, description="A stored SSH key of the site's client")
    docroot: str | None = Field(default=None, max_length=1024, description="The site's docroot")
    sudo_user: str | None = Field(
        default=None,
        max_length=64,
        description='Work as this file owner through sudo -n -u; "" to work as the SSH user',
    )
    clear: bool = Field(default=False, description="Forget the site's SSH access")


def _site_extras(what: str) -> dict[str, Any]:
    """The API-only fields of a site's add and change: its check (kind and options), and
    the flag to register a URL twice on purpose."""
    text = f"{what} even if another site already has it"
    kind = "The check kind: a registered probe (default http; absent on a change: unchanged)"
    options = (
        "The check kind's options, validated by its probe (a change of kind starts from"
        " its defaults; absent: unchanged)"
    )
    return {
        "probe": (str | None, FieldInfo(default=None, max_length=64, description=kind)),
        "check": (dict[str, Any] | None, FieldInfo(default=None, description=options)),
        "allow_duplicate": (bool, FieldInfo(default=False, description=text)),
    }


# Derived from the entity's declaration (domain/); mypy sees them as BaseModel, which is
# all the routes need (they pass ``model_dump()`` on to the store).
if TYPE_CHECKING:
    PlanOut: TypeAlias = BaseModel
    PlanIn: TypeAlias = BaseModel
    PlanPatch: TypeAlias = BaseModel
    ClientOut: TypeAlias = BaseModel
    ClientIn: TypeAlias = BaseModel
    ClientPatch: TypeAlias = BaseModel
    ContractIn: TypeAlias = BaseModel
    ContractPatch: TypeAlias = BaseModel
    SiteIn: TypeAlias = BaseModel
    SitePatch: TypeAlias = BaseModel
else:
    SiteIn = api_model(
        SiteDeclaration,
        "SiteIn",
        "A new site.",
        "in",
        after=_site_extras("Add the URL"),
    )
    SitePatch = api_model(
        SiteDeclaration,
        "SitePatch",
        "Changes to a site; absent fields stay as they are.",
        "patch",
        after={
            **_site_extras("Take a URL"),
            "ssh": (SshChange | None, FieldInfo(default=None, description=SshChange.__doc__)),
        },
    )
    ContractIn = api_model(ContractFields, "ContractIn", "A new contract.", "in")
    ContractPatch = api_model(ContractFields, "ContractPatch", "Changes to a contract.", "patch")
    ClientOut = api_model(
        ClientFields,
        "ClientOut",
        "A client (alert URLs are secrets: only their count is shown).",
        "out",
        before={"id": (int, FieldInfo())},
        after={"sites": (int, FieldInfo()), "created_at": (datetime, FieldInfo())},
    )
    ClientIn = api_model(ClientFields, "ClientIn", "A new client.", "in")
    ClientPatch = api_model(ClientFields, "ClientPatch", "Changes to a client.", "patch")
    PlanOut = api_model(
        PlanFields, "PlanOut", "A plan and its levels.", "out", before={"id": (int, FieldInfo())}
    )
    PlanIn = api_model(PlanFields, "PlanIn", "A new plan.", "in")
    PlanPatch = api_model(
        PlanFields, "PlanPatch", "Changes to a plan (``options`` are merged).", "patch"
    )


class StatusPageOut(BaseModel):
    """A client's public status page: off (no URL), or on at ``url`` (a secret: anyone with
    it sees the sites' states and 90-day uptime)."""

    enabled: bool
    url: str | None


class ContractOut(BaseModel):
    """A contract with its effective monthly price."""

    id: int
    client_id: int
    client: str
    plan_id: int
    plan: str
    start: date
    end: date | None
    price: str
    price_override: str | None
    currency: str
    active: bool
    notes: str | None


class IncidentOut(BaseModel):
    """An incident (down, certificate expiring)."""

    id: int
    site_id: int
    site: str | None
    kind: str
    cause: str | None
    opened_at: datetime
    closed_at: datetime | None
    duration_s: int | None


class LocationDay(BaseModel):
    """One check location's own figures of a site on one UTC day: what it saw from there
    (its uptime is that location's view; the day's ``uptime_pct`` is the site's)."""

    location: str
    checks: int
    uptime_pct: float | None
    avg_ms: int | None
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    max_ms: int | None


class UptimeDay(BaseModel):
    """One site's uptime and response times on one UTC day."""

    day: date
    checks: int
    uptime_pct: float | None
    avg_ms: int | None
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    max_ms: int | None
    locations: list[LocationDay] = Field(
        default_factory=list,
        description="Per check location, where the site was checked from more than one in "
        "the days asked for (empty otherwise: the day's figures are the one location's).",
    )


class LocationFigures(BaseModel):
    """One site's checks from one check location over the last hours."""

    location: str
    checks: int
    uptime_pct: float | None
    avg_ms: int | None
    p50_ms: int | None
    p95_ms: int | None
    max_ms: int | None


class EventOut(BaseModel):
    """One journal event."""

    id: int
    ts: datetime
    kind: str
    site_id: int | None
    client_id: int | None
    incident_id: int | None
    title: str = Field(description="What happened, in a few words, e.g. 'Backup taken'.")
    summary: str = Field(
        description="One human line of the details, e.g. '18,040 files, 2.4 MiB new'; "
        "`data` keeps the raw figures."
    )
    data: dict[str, Any]


class MeOut(BaseModel):
    """The authenticated user."""

    id: int
    email: str
    role: str
    client_id: int | None


class AlertOut(BaseModel):
    """One alert delivery from the outbox."""

    id: int
    event_id: int | None
    title: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class ExtensionOut(BaseModel):
    """One installed extension, as the inventory found it."""

    type: str
    slug: str
    name: str
    version: str | None
    active: bool
    update_source: str


class InventoryOut(BaseModel):
    """A site's latest inventory (``sitekeeper inventory --json`` without ``changes``)."""

    cms: str
    version: str | None
    php: str | None
    database: str | None
    extensions: list[ExtensionOut]
    collected_at: datetime
    warnings: list[str]


class FindingOut(BaseModel):
    """One open finding of a site: an update, a vulnerability, an unknown update source, an
    exposure seen from outside, or a sign of a hack (integrity, malware, seo)."""

    id: int = Field(description="What an acknowledgement names (/api/findings/{id}/acknowledge)")
    kind: str = Field(
        description="update, vulnerability, unknown-source, exposure, integrity, malware, seo"
    )
    ecosystem: str
    type: str
    package: str
    installed: str | None
    latest: str | None
    advisory_id: str | None
    advisory_ids: list[str]
    aliases: list[str]
    severity: str | None
    fixed_in: str | None
    security: bool
    branch_update: str | None = Field(
        default=None, description="Update: newest release on the installed branch"
    )
    major_update: str | None = Field(
        default=None, description="Update: newest release beyond the installed branch"
    )
    certainty: str = Field(description="certain (from an inventory) or possible (a range)")
    basis: str = Field(description="inventory or fingerprint; outside, ssh… for the checks")
    note: str | None = Field(description="The one-line fix, where the check gives one")
    title: str | None = Field(default=None, description="What the check saw, in a line")
    evidence: str | None = Field(
        default=None, description="What it saw it in: the site's own words (escape them)"
    )
    digest: str | None = Field(
        default=None, description="The evidence's hash an acknowledgement is held to"
    )
    acknowledgeable: bool = Field(
        default=False, description="Has a digest, so it can be acknowledged as a false positive"
    )
    hack_sign: bool = Field(
        default=False, description="Counts towards the site's compromised state"
    )
    opened_at: datetime = Field(description="First seen")


class UpdateOut(BaseModel):
    """A pending update (``sitekeeper updates --json``, plus ``site_id``)."""

    site_id: int
    site: str
    client: str | None
    ecosystem: str
    type: str
    package: str
    installed: str | None
    latest: str | None
    branch_update: str | None = Field(
        description="Newest release on the installed branch (applied without approval)"
    )
    branch_security: bool = Field(description="The branch update brings security fixes")
    major_update: str | None = Field(
        description="Newest release beyond the installed branch (waits for approval)"
    )
    security: bool
    advisory_ids: list[str]
    status: str = Field(description="update, unknown source or feed not reachable")
    note: str | None
    basis: str


class VulnOut(BaseModel):
    """A known vulnerability (``sitekeeper vulns --json``, plus ``site_id``)."""

    site_id: int
    site: str
    client: str | None
    ecosystem: str
    type: str
    package: str
    installed: str | None
    advisory_id: str | None
    aliases: list[str]
    severity: str | None
    fixed_in: str | None
    certainty: str
    basis: str


class AdvisoryOut(BaseModel):
    """A stored advisory (``sitekeeper advisories list --json``)."""

    id: str
    source: str
    summary: str
    severity: str | None
    aliases: list[str]
    published: datetime | None
    packages: list[str] = Field(description="ecosystem/slug of every package it names")


class BackupRunOut(BaseModel):
    """One backup run (``sitekeeper backups --json``)."""

    run_id: int
    snapshot: str | None
    time: datetime
    status: str = Field(description="ok, failed or running")
    reason: str
    files: int | None
    files_new: int | None
    files_changed: int | None
    bytes_total: int | None
    bytes_added: int | None
    bytes_transferred: int | None
    database_bytes: int | None
    duration_s: float | None
    verified: bool | None
    verified_at: datetime | None
    error: str | None
