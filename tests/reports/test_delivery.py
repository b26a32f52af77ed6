"""Reports by e-mail through a real SMTP server on loopback: the archived PDF attached,
failures recorded and retried, the schedule's first working day, sent once (across a
restart and two processes), nothing for a plan without reports.

The month is the bakery's October 2026 (tests/reports/seed.py); 2 November is a Monday,
so its report is due from 06:00 Berlin time (05:00 UTC) that day.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer
from typer.testing import CliRunner

from sitekeeper.cli.main import app
from sitekeeper.config import Settings
from sitekeeper.domain.report_events import ReportEventKind
from sitekeeper.engine.report_jobs import LEASE, ReportJobs
from sitekeeper.engine.service import Service
from sitekeeper.reports import archive
from sitekeeper.reports.delivery import deliver
from sitekeeper.reports.message import attachment_name
from sitekeeper.reports.period import month
from sitekeeper.reports.schedule import ended_period, first_working_day
from sitekeeper.store import leases
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.leases import Leases
from sitekeeper.store.report_tables import ClientReport, ReportSend
from sitekeeper.store.tables import Client, Contract, Event, Plan
from tests.reports.conftest import SENDER, Mailbox
from tests.reports.seed import Month, seed

DUE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
TO = ["chef@baeckerei.example", "buero@baeckerei.example"]


def _recipients(db: Database, ids: Month, addresses: list[str]) -> None:
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        client.report_recipients = addresses


def _jobs(
    db: Database, tmp_path: Path, box: Mailbox, clock: list[datetime], name: str = "one"
) -> ReportJobs:
    settings = Settings(home=tmp_path / name, worker_name=name)
    leases = Leases(db, name, clock=lambda: clock[0])
    return ReportJobs(DbThread(db), settings, leases, smtp=box.settings(), clock=lambda: clock[0])


def _stored(db: Database) -> list[ClientReport]:
    with db.session() as s:
        documents = undefer(ClientReport.pdf), undefer(ClientReport.figures)
        return list(s.scalars(select(ClientReport).options(*documents)))


def _sends(db: Database) -> list[ReportSend]:
    with db.session() as s:
        return list(s.scalars(select(ReportSend).order_by(ReportSend.id)))


def _kinds(db: Database) -> list[str]:
    with db.session() as s:
        return list(
            s.scalars(select(Event.kind).where(Event.kind.like("report.%")).order_by(Event.id))
        )


async def test_the_due_report_is_mailed_with_the_archived_pdf(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    clock = [DUE]
    jobs = _jobs(db, tmp_path, mailbox, clock)

    [outcome] = await jobs.send_due()

    assert outcome.ok and outcome.accepted == TO
    [report] = _stored(db)
    assert (report.scope, report.first, report.last) == (
        "client",
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    [message] = mailbox.messages
    assert mailbox.envelopes == [(SENDER, TO)]
    assert message["Subject"] == "Website-Bericht 2026-10: Bäckerei Müller"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert archive.summary_of(report) and archive.summary_of(report) in text
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "report-backerei-muller-2026-10.pdf"
    assert attached.get_content_type() == "application/pdf"
    pdf = attached.get_content()
    assert pdf == report.pdf and pdf.startswith(b"%PDF")
    [sent] = _sends(db)
    assert (sent.by, sent.recipients, sent.error) == ("schedule", TO, None)
    assert _kinds(db) == [ReportEventKind.GENERATED, ReportEventKind.SENT]

    # Due again an hour later, and after a restart: nothing more goes out.
    clock[0] = DUE + timedelta(hours=1)
    assert await jobs.send_due() == []
    assert await _jobs(db, tmp_path, mailbox, clock, "one").send_due() == []
    clock[0] = DUE + timedelta(days=20)  # still November
    assert await _jobs(db, tmp_path, mailbox, clock, "restarted").send_due() == []
    assert len(mailbox.messages) == 1 and len(_stored(db)) == 1


async def test_a_refused_send_is_recorded_and_retried_without_rendering_again(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO[:1])
    clock = [DUE]
    jobs = _jobs(db, tmp_path, mailbox, clock)
    mailbox.refuse_data = "451 4.3.0 mailbox busy, try again later"

    [failed] = await jobs.send_due()

    assert not failed.ok and "451" in (failed.error or "")
    [report] = _stored(db)
    [attempt] = _sends(db)
    assert attempt.error is not None and "mailbox busy" in attempt.error
    assert attempt.recipients == TO[:1]
    assert _kinds(db) == [ReportEventKind.GENERATED, ReportEventKind.SEND_FAILED]

    clock[0] = DUE + timedelta(minutes=10)  # within the backoff: left alone
    assert await jobs.send_due() == []
    mailbox.refuse_data = None
    clock[0] = DUE + timedelta(minutes=31)
    [retried] = await jobs.send_due()

    assert retried.ok and len(mailbox.messages) == 1
    [again] = _stored(db)
    assert (again.id, again.generated_at, again.pdf_sha256) == (
        report.id,
        report.generated_at,
        report.pdf_sha256,
    )
    assert [s.error is None for s in _sends(db)] == [False, True]
    assert mailbox.messages[0].get_payload()[1].get_content() == report.pdf  # type: ignore[index]


async def test_a_refused_recipient_does_not_hold_up_the_others(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    mailbox.refuse_rcpt = {TO[1]}
    clock = [DUE]
    jobs = _jobs(db, tmp_path, mailbox, clock)

    [outcome] = await jobs.send_due()

    assert outcome.accepted == TO[:1] and list(outcome.refused) == TO[1:]
    ok, refused = _sends(db)
    assert (ok.recipients, ok.error) == (TO[:1], None)
    assert refused.recipients == TO[1:] and "550" in (refused.error or "")
    clock[0] = DUE + timedelta(hours=7)
    assert await jobs.send_due() == []  # delivered: the refused address is for a person


async def test_nothing_is_sent_before_the_first_working_day_or_without_recipients(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    clock = [DUE]
    assert await _jobs(db, tmp_path, mailbox, clock).send_due() == []  # nobody to send to
    _recipients(db, ids, TO)
    clock[0] = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # Sunday
    assert await _jobs(db, tmp_path, mailbox, clock).send_due() == []
    clock[0] = datetime(2026, 11, 2, 4, 59, tzinfo=UTC)  # Monday 05:59 in Berlin
    assert await _jobs(db, tmp_path, mailbox, clock).send_due() == []
    assert _stored(db) == [] and mailbox.messages == []


async def test_a_plan_without_reports_gets_none(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    with db.session() as s:
        contract = s.get(Contract, ids.contract)
        assert contract is not None
        plan = s.get(Plan, contract.plan_id)
        assert plan is not None
        plan.options = {**plan.options, "report": "none"}
    clock = [DUE]
    assert await _jobs(db, tmp_path, mailbox, clock).send_due() == []
    assert _stored(db) == [] and mailbox.messages == []


async def test_two_processes_send_the_report_once(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    clock = [DUE]
    first = _jobs(db, tmp_path, mailbox, clock, "first")
    second = _jobs(db, tmp_path, mailbox, clock, "second")

    outcomes = await asyncio.gather(first.send_due(), second.send_due())

    assert sorted(len(o) for o in outcomes) == [0, 1]
    assert len(mailbox.messages) == 1 and len(_stored(db)) == 1
    assert await first.send_due() == [] and await second.send_due() == []


async def test_a_dead_process_s_lease_holds_the_report_back_only_without_the_job_engine(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    """SQLite's serve processes share the report run by a lease per client, which a killed
    process leaves until it lapses (30 min). On PostgreSQL the job engine's lock keeps the
    run one at a time and is freed at the dead worker's sweep: no lease is taken there,
    so the report is not held back by one."""
    ids = seed(db)
    _recipients(db, ids, TO)
    with db.engine.begin() as conn:  # what a process killed mid-report leaves
        leases.acquire(conn, f"report:{ids.client}", "killed", datetime.now(UTC), LEASE)
    settings = Settings(
        home=tmp_path / "home",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
        smtp_sender=SENDER,
    )
    service = Service(settings, db, software_intel=False, backups=False)
    service.reports.clock = lambda: DUE
    try:
        sent = await service.reports.send_due()
    finally:
        await service.probe.aclose()
        service.dbthread.close()

    if db.dialect == "postgresql":
        assert [(o.accepted, o.error) for o in sent] == [(TO, None)]
        assert len(mailbox.messages) == 1
    else:
        assert sent == [] and mailbox.messages == []


async def test_starttls_and_login(
    db: Database, tmp_path: Path, tls_mailbox: Mailbox, tls_client_context: ssl.SSLContext
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO[:1])
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        report, new = archive.stored_or_new(s, client, month("2026-10", client.timezone), DUE)
        assert new
    smtp = tls_mailbox.settings(
        security="starttls", user="agency", password="s3cret", tls_context=tls_client_context
    )
    outcome = await deliver(DbThread(db), smtp, report.id, by="ada@agency.example", now=DUE)
    assert outcome.ok and tls_mailbox.logins == ["agency"] and len(tls_mailbox.messages) == 1
    plain = tls_mailbox.settings()  # no STARTTLS: the server will not take it
    failed = await deliver(DbThread(db), plain, report.id, by="ada", now=DUE)
    assert not failed.ok and "530" in (failed.error or "")
    assert len(tls_mailbox.messages) == 1


def test_the_archive_returns_the_stored_report_and_regenerates_only_when_asked(
    sqlite_db: Database,
) -> None:
    ids = seed(sqlite_db)
    with sqlite_db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        period = month("2026-10", client.timezone)
        first, new = archive.stored_or_new(s, client, period, DUE)
        again, new_again = archive.stored_or_new(s, client, period, DUE + timedelta(days=3))
        assert new and not new_again and again.id == first.id
        assert again.generated_at == DUE
        redone = archive.regenerate(s, first, client, DUE + timedelta(days=3), by="ada")
        assert redone.id == first.id and redone.generated_at == DUE + timedelta(days=3)
        count = s.scalar(select(func.count()).select_from(ClientReport))
        assert count == 1
    assert _kinds(sqlite_db) == [ReportEventKind.GENERATED, ReportEventKind.REGENERATED]


@pytest.mark.parametrize(
    ("cadence", "now", "expected"),
    [
        ("monthly", "2026-08-01 10:00", None),  # Saturday: the first working day is the 3rd
        ("monthly", "2026-08-03 03:59", None),  # 05:59 in Berlin
        ("monthly", "2026-08-03 04:00", ("2026-07-01", "2026-07-31")),
        ("monthly", "2026-08-31 21:00", ("2026-07-01", "2026-07-31")),  # caught up late
        ("monthly", "2026-08-31 22:00", None),  # 1 September in Berlin, a Tuesday, 00:00
        ("quarterly", "2026-10-01 05:00", ("2026-07-01", "2026-09-30")),
        ("quarterly", "2026-11-15 12:00", ("2026-07-01", "2026-09-30")),
        ("quarterly", "2027-01-01 12:00", ("2026-10-01", "2026-12-31")),  # a Friday: it counts
        ("none", "2026-11-02 12:00", None),
    ],
)
def test_the_period_due_on_the_first_working_day(
    cadence: str, now: str, expected: tuple[str, str] | None
) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    found = ended_period(cadence, moment, "Europe/Berlin", 6)
    shown = (found.first.isoformat(), found.last.isoformat()) if found is not None else None
    assert shown == expected
    assert first_working_day(date(2026, 8, 1)) == date(2026, 8, 3)


@pytest.mark.parametrize(
    ("client", "period", "name"),
    [
        ("Bäckerei Müller", "2026-10", "report-backerei-muller-2026-10.pdf"),
        ("../../etc/passwd\r\nBcc: x@y", "2026-10", "report-etc-passwd-bcc-x-y-2026-10.pdf"),
        ("日本", "2026-10-01..2026-12-31", "report-client-2026-10-01_2026-12-31.pdf"),
    ],
)
def test_attachment_names_are_safe(client: str, period: str, name: str) -> None:
    assert attachment_name(client, period) == name


@pytest.mark.parametrize(
    ("to", "scheduled"),
    [
        (None, 0),  # report --send, or a resend: the client's recipients have it
        (["BUERO@baeckerei.example"], 0),  # one of them, however it is spelled
        (["boss@example.org"], 1),  # someone else only: the recipients still wait for it
    ],
)
async def test_a_report_sent_by_hand_before_its_day_is_not_sent_again_by_the_schedule(
    db: Database, tmp_path: Path, mailbox: Mailbox, to: list[str] | None, scheduled: int
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        report, _new = archive.stored_or_new(s, client, month("2026-10", client.timezone), DUE)
    early = DUE - timedelta(days=1)  # Sunday 1 November: before the schedule's day
    by_hand = await deliver(DbThread(db), mailbox.settings(), report.id, by="ada", now=early, to=to)
    assert by_hand.ok

    outcomes = await _jobs(db, tmp_path, mailbox, [DUE]).send_due()

    assert len(outcomes) == scheduled and len(mailbox.messages) == 1 + scheduled


async def test_a_report_that_cannot_be_rendered_waits_the_backoff_and_is_given_up(
    db: Database, tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO)
    tries: list[datetime] = []

    def broken(*args: object, **kwargs: object) -> None:
        tries.append(clock[0])
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr("sitekeeper.engine.report_jobs.draft", broken)
    clock = [DUE]
    jobs = _jobs(db, tmp_path, mailbox, clock)
    for minutes in range(0, 7 * 24 * 60, 10):  # a week of the loop's looks
        clock[0] = DUE + timedelta(minutes=minutes)
        assert await jobs.send_due() == []

    attempts = jobs.settings.report_max_attempts
    assert len(tries) == attempts
    assert tries[1] - tries[0] == timedelta(minutes=30)  # the first backoff, as for a send
    assert _stored(db) == [] and mailbox.messages == []


async def test_a_send_the_server_refuses_for_good_is_not_retried(
    db: Database, tmp_path: Path, mailbox: Mailbox
) -> None:
    ids = seed(db)
    _recipients(db, ids, TO[:1])
    mailbox.refuse_data = "554 5.7.1 relaying denied"
    clock = [DUE]
    jobs = _jobs(db, tmp_path, mailbox, clock)

    [failed] = await jobs.send_due()

    assert not failed.ok and failed.permanent and "554" in (failed.error or "")
    for hours in (1, 7, 24):
        clock[0] = DUE + timedelta(hours=hours)
        assert await jobs.send_due() == []
    [attempt] = _sends(db)
    assert attempt.by == "schedule" and "554" in (attempt.error or "")
    with db.session() as s:
        event = s.scalars(select(Event).where(Event.kind == ReportEventKind.SEND_FAILED)).one()
        assert event.data["permanent"] is True
    mailbox.refuse_data = None  # fixed: a person resends it
    again = await deliver(DbThread(db), mailbox.settings(), attempt.report_id, by="ada", now=DUE)
    assert again.ok and len(mailbox.messages) == 1


def test_send_takes_no_file_and_no_json(home: Path) -> None:
    runner = CliRunner()
    for extra in (["-o", str(home / "r.pdf")], ["--json"]):
        result = runner.invoke(app, ["report", "Bäckerei Müller", "--send", *extra])
        assert result.exit_code == 2 and "--send" in result.stderr, result.stderr
