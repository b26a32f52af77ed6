"""The report archive: every client report rendered for sending, and each time it was sent.

A stored report is the record of what the client received: its figures (JSON), HTML and
PDF are kept as rendered and never re-rendered in place; a period is rendered once per
client and scope (the client as a whole, or one contract).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class ClientReport(Base):
    """One rendered report: a client (or one of its contracts) for one period."""

    __tablename__ = "client_reports"
    __table_args__ = (
        UniqueConstraint("client_id", "scope", "first", "last", name="uq_client_reports_period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(40))  # "client" or "contract:ID"
    first: Mapped[date] = mapped_column(Date)  # the period's local dates, inclusive
    last: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(16))
    generated_at: Mapped[datetime]
    # The documents are loaded when read (a list, a send row, an access check need none).
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)  # --json's
    html: Mapped[str] = mapped_column(Text, deferred=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))


class ReportSend(Base):
    """One delivery of an archived report (the scheduled one, or a resend)."""

    __tablename__ = "report_sends"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("client_reports.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    by: Mapped[str] = mapped_column(String(200))  # "schedule" or who resent it
    error: Mapped[str | None] = mapped_column(Text)  # None: the SMTP server accepted it
