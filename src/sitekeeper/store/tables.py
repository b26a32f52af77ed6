"""SQLAlchemy tables. Plugin-specific settings are validated JSON, never extra columns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import uuid4

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic names constraints stably.

    Every table keyed by one integer id gets SQLite's AUTOINCREMENT: ids live on
    after their row (journal, raw checks, URLs, tasks), and without it SQLite hands
    the id of the newest deleted row to the next one, with all that history.
    PostgreSQL sequences never go back, so they need nothing.
    """

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table) and has_integer_id(table):
            table.dialect_kwargs["sqlite_autoincrement"] = True


def has_integer_id(table: Table) -> bool:
    """Whether ``table``'s primary key is its own integer id (not another table's)."""
    key = list(table.primary_key.columns)
    return len(key) == 1 and not key[0].foreign_keys and key[0].type._type_affinity is Integer


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_backup_host() -> str:
    """A backup identity no other site ever had (sites added before 0008 keep ``site-<id>``)."""
    return f"site-{uuid4().hex}"


class Client(Base):
    """The agency's customer."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    alert_urls: Mapped[list[Any]] = mapped_column(default=list)
    # Who receives the monthly report by e-mail (addresses; empty: nobody).
    report_recipients: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # The public status page's secret (/status/<token>); None: the page is off (the default).
    status_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Plan(Base):
    """A contract template: included services and their levels."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    check_interval: Mapped[int] = mapped_column(Integer, default=300)
    tls_warn_days: Mapped[int] = mapped_column(Integer, default=14)
    domain_warn_days: Mapped[int] = mapped_column(Integer, default=30)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # backup schedule/retention, update policy, report cadence, SLA: domain.plans.PlanOptions
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Contract(Base):
    """A client on a plan for a period, covering sites."""

    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    price_override: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    client: Mapped[Client] = relationship(lazy="joined")
    plan: Mapped[Plan] = relationship(lazy="joined")


class Site(Base):
    """A monitored website and how to reach it."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(2048), index=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    check_options: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # domain.checks.CheckOptions
    # SQL NULL for "no SSH" (not the JSON text 'null'), so `ssh IS NULL` means what it says.
    ssh: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # SshAccess
    cms: Mapped[str | None] = mapped_column(String(32))
    cms_version: Mapped[str | None] = mapped_column(String(64))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The restic host/tag of the site's backups: unique for ever, never the row id
    # alone, so a later site can never be handed an earlier one's snapshots.
    backup_host: Mapped[str] = mapped_column(String(64), unique=True, default=new_backup_host)
    created_at: Mapped[datetime]

    tags: Mapped[list[SiteTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SiteTag.tag"
    )
    client: Mapped[Client | None] = relationship(lazy="joined")
    contract: Mapped[Contract | None] = relationship(lazy="joined")


class SiteTag(Base):
    """A free-form label on a site (a table so the fleet view can filter by it)."""

    __tablename__ = "site_tags"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Job(Base):
    """A recurring piece of work; claimed with a compare-and-set on next_run_at."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "site_id", name="uq_jobs_kind_site"),
        Index("ix_jobs_due", "next_run_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    interval: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    last_due_at: Mapped[float | None] = mapped_column(Float)  # due time of the last claim
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CheckRaw(Base):
    """One raw check result, kept compact (about 30 bytes on SQLite) until rolled up."""

    __tablename__ = "check_raw"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    up: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(SmallInteger)
    response_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[int] = mapped_column(SmallInteger, default=0)  # domain.checks.ERROR_CODES
    # Where it was checked from ('': the default location, store.locations); a key, since
    # two locations may check a site in the same millisecond.
    location: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="")


class CheckDaily(Base):
    """Per site and UTC day: uptime and response-time percentiles, kept for ever."""

    __tablename__ = "check_daily"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    checks: Mapped[int] = mapped_column(Integer)
    up_checks: Mapped[int] = mapped_column(Integer)
    avg_ms: Mapped[int | None] = mapped_column(Integer)
    p50_ms: Mapped[int | None] = mapped_column(Integer)
    p95_ms: Mapped[int | None] = mapped_column(Integer)
    p99_ms: Mapped[int | None] = mapped_column(Integer)
    max_ms: Mapped[int | None] = mapped_column(Integer)


class SiteState(Base):
    """The latest known state of a site, for the fleet view and incident rules."""

    __tablename__ = "site_state"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    up: Mapped[bool | None] = mapped_column(Boolean)
    since: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    status: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(500))
    response_ms: Mapped[int | None] = mapped_column(Integer)
    tls_expires: Mapped[datetime | None]
    tls_issuer: Mapped[str | None] = mapped_column(String(500))
    tls_error: Mapped[str | None] = mapped_column(String(500))


class SiteSummary(Base):
    """Per-site counts the fleet view sorts and filters on, kept by the writers.

    Derived from incidents, findings and backup runs; each writer refreshes only
    its own columns in its own transaction (store.site_summary), so the fleet
    query reads one row per site instead of aggregating three tables per request.
    """

    __tablename__ = "site_summary"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    down_since: Mapped[datetime | None]
    tls_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    open_incidents: Mapped[int] = mapped_column(Integer, default=0)
    updates: Mapped[int] = mapped_column(Integer, default=0)
    security_updates: Mapped[int] = mapped_column(Integer, default=0)
    vulns: Mapped[int] = mapped_column(Integer, default=0)
    last_backup_at: Mapped[datetime | None]
    backup_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    compromised: Mapped[int] = mapped_column(Integer, default=0)  # open signs of a hack


class Incident(Base):
    """A period during which something was wrong with a site (down, certificate)."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "uq_incidents_open",
            "site_id",
            "kind",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # domain.incidents.IncidentKind
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    cause: Mapped[str | None] = mapped_column(String(500))
    last_alert_at: Mapped[datetime | None]
    alerts_sent: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """The append-only journal; reports and timelines are built from it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_site_ts", "site_id", "ts"),
        Index("ix_events_kind_ts", "kind", "ts"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))  # domain.events.EventKind
    site_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the journal outlives sites
    client_id: Mapped[int | None] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Notification(Base):
    """Outbox: one alert to one channel, retried until sent or given up (and logged)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    target: Mapped[str] = mapped_column(Text)  # encrypted Apprise URL (sitekeeper.secrets)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SshHostKey(Base):
    """A pinned SSH host key: trusted on first use, a change stops the job."""

    __tablename__ = "ssh_host_keys"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key: Mapped[str] = mapped_column(Text)  # OpenSSH format "ssh-ed25519 AAAA..."
    fingerprint: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime]
