"""``report CLIENT --send``, ``reports list`` and ``reports resend`` through a real SMTP
server on loopback: the archived report is sent, listed with its sends, and resent as it
was stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from sitekeeper.config import settings
from tests.cli.conftest import Run, as_json
from tests.cli.test_report_cli import seeded
from tests.reports.conftest import Mailbox, mailbox_in_thread
from tests.reports.seed import NOW


@pytest.fixture
def mail(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with mailbox_in_thread() as box:
        monkeypatch.setenv("SITEKEEPER_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SITEKEEPER_SMTP_PORT", str(box.port))
        monkeypatch.setenv("SITEKEEPER_SMTP_SECURITY", "none")
        monkeypatch.setenv("SITEKEEPER_SMTP_SENDER", "reports@agency.example")
        settings.cache_clear()
        yield box


def test_send_list_and_resend(run: Run, mail: Mailbox) -> None:
    seeded(run)
    nobody = run("report", "Bäckerei Müller", "--period", "2026-10", "--send", ok=False)
    assert nobody.exit_code == 2 and "no report recipients" in nobody.stderr
    run("client", "edit", "Bäckerei Müller", "--report-to", "chef@baeckerei.example")
    with time_machine.travel(NOW, tick=False):
        sent = run("report", "Bäckerei Müller", "--period", "2026-10", "--send")
        assert "sent to chef@baeckerei.example" in sent.stderr
        again = run("report", "Bäckerei Müller", "--period", "2026-10", "--send")
        assert "archived before" in again.stderr
    assert len(mail.messages) == 2

    [listed] = as_json(run("reports", "list", "Bäckerei Müller", "--json"))
    assert (listed["period"], listed["scope"], listed["contract_id"]) == ("2026-10", "client", None)
    assert [s["recipients"] for s in listed["sends"]] == [["chef@baeckerei.example"]] * 2
    assert all(s["error"] is None and s["by"].startswith("cli:") for s in listed["sends"])

    run("reports", "resend", str(listed["id"]), "--to", "boss@baeckerei.example")
    assert mail.envelopes[-1][1] == ["boss@baeckerei.example"]
    pdfs = {m.get_payload()[1].get_content() for m in mail.messages}  # type: ignore[index]
    assert len(pdfs) == 1  # the archived PDF each time, never a new rendering
    table = run("reports", "list").stdout
    assert "2026-10" in table and "boss@baeckerei.example" in table

    mail.refuse_data = "554 5.7.1 rejected"
    refused = run("reports", "resend", str(listed["id"]), ok=False)
    assert refused.exit_code == 1 and "554" in refused.stderr
    [after] = as_json(run("reports", "list", "--json"))
    assert "554" in after["sends"][-1]["error"]
    assert run("reports", "resend", "999", ok=False).exit_code == 2
    bad = run("reports", "resend", str(listed["id"]), "--to", "not-an-address", ok=False)
    assert bad.exit_code == 2


def test_send_without_smtp_says_what_to_set(run: Run) -> None:
    seeded(run)
    result = run("report", "Bäckerei Müller", "--period", "2026-10", "--send", ok=False)
    assert result.exit_code == 2 and "SITEKEEPER_SMTP_HOST" in result.stderr
