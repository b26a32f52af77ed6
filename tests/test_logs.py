"""Logs for people: libraries quiet, a condition said once per change, a status in words,
and the CLI's own manners (no library warnings, --version, "did you mean")."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitekeeper import logs
from sitekeeper.config import load_settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.service import Service
from sitekeeper.engine.stats import Stats, status_line
from sitekeeper.errors import NoCms, RemoteError, UsageError
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site

EXE = str(Path(sys.executable).parent / "sitekeeper")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``logs.setup`` changes the process's logging; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logs.NOISY}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_libraries_say_only_warnings_unless_the_level_is_debug(restore_logging: None) -> None:
    out = io.StringIO()
    logs.setup("INFO", out)
    logging.getLogger("asyncssh").info("[conn=0, chan=1] Received exit status 0")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')
    logging.getLogger("asyncssh").warning("host key changed")
    logging.getLogger("sitekeeper.status").info("checked 3 sites in the last minute")
    said = out.getvalue()
    assert "chan=1" not in said and "GET /" not in said
    assert "host key changed" in said and "checked 3 sites" in said

    out = io.StringIO()
    logs.setup("debug", out)
    logging.getLogger("asyncssh").info("[conn=0, chan=1] Received exit status 0")
    assert "chan=1" in out.getvalue()


def test_no_message_can_forge_a_line_or_reach_the_terminal(restore_logging: None) -> None:
    """Whatever a library passes on from a server, each record is one line, escapes visible."""
    out = io.StringIO()
    logs.setup("INFO", out)
    forged = "bye\x1b]52;c;aGk=\x07\n2026-12-06 03:00:00 INFO sitekeeper.engine.tasks: task 9: ok"
    logging.getLogger("asyncssh").warning("disconnected: %s", forged)
    try:
        raise ValueError("ours")
    except ValueError:
        logging.getLogger("sitekeeper").exception("failed")
    lines = out.getvalue().splitlines()
    assert "disconnected: bye\\x1b]52;c;aGk=\\x07\\n2026-12-06" in lines[0]
    assert not any(line.startswith("2026-12-06 03:00:00") for line in lines)
    assert "\x1b" not in out.getvalue()
    assert lines[2] == "Traceback (most recent call last):"  # a traceback keeps its lines


def test_a_condition_is_said_once_until_it_changes(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("sitekeeper.test_conditions")
    states = logs.Conditions(log)
    with caplog.at_level(logging.INFO, logger=log.name):
        for _ in range(3):
            states.report(("inventory", 7), "no ssh", logging.INFO, "site 7: %s", "no SSH access")
        states.report(("inventory", 7), "no docroot", logging.INFO, "site 7: no docroot")
        states.report(("inventory", 8), "no ssh", logging.INFO, "site 8: no SSH access")
        states.clear(("inventory", 7), "site 7: inventoried again")
        states.clear(("inventory", 9), "never reported: says nothing")
        states.report(("inventory", 7), "no ssh", logging.INFO, "site 7: %s", "no SSH access")
    assert [r.getMessage() for r in caplog.records] == [
        "site 7: no SSH access",
        "site 7: no docroot",
        "site 8: no SSH access",
        "site 7: inventoried again",
        "site 7: no SSH access",
    ]


async def test_a_site_without_ssh_is_said_once_not_at_every_round(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite_db.session() as session:
        site = Site(name="shop", url="https://shop.example/", created_at=datetime.now(UTC))
        session.add(site)
        session.flush()
        site_id = site.id
    jobs = IntelJobs(sqlite_db, load_settings(home=tmp_path))
    outcome: list[Exception | None] = [UsageError("site 'shop' has no SSH access configured")]

    async def inventory(site_id: int) -> None:
        if outcome[0] is not None:
            raise outcome[0]

    with caplog.at_level(logging.INFO, logger="sitekeeper.engine.intel_sites"):
        for _ in range(3):  # three rounds of the 5-minute schedule
            await jobs._each("inventory", [site_id], inventory)
        outcome[0] = RemoteError("connection refused")
        await jobs._each("inventory", [site_id], inventory)
        await jobs._each("inventory", [site_id], inventory)
        outcome[0] = NoCms("no known CMS installed in /srv/www/static")  # a static site
        for _ in range(3):
            await jobs._each("inventory", [site_id], inventory)
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("INFO", f"inventory of site {site_id} skipped: site 'shop' has no SSH access configured"),
        ("WARNING", f"inventory of site {site_id} failed: connection refused"),
        ("WARNING", f"inventory of site {site_id} failed: connection refused"),  # each time
        ("INFO", f"inventory of site {site_id} skipped: no known CMS installed in /srv/www/static"),
    ]


def test_the_status_line_is_in_words() -> None:
    figures = {
        "checks": 1234,
        "window_s": 60.0,
        "checks_per_s": 20.6,
        "lag_p50_ms": 12,
        "lag_p99_ms": 120,
        "rss_mib": 210.4,
    }
    assert status_line(figures, 3) == (
        "checked 1,234 sites in the last minute (20.6/s), 3 down; "
        "started 12 ms late (p99 120 ms); memory 210 MiB"
    )
    idle = Stats().snapshot() | {"window_s": 10.0}
    assert status_line(idle, None).startswith("checked 0 sites in the last 10 s (0.0/s); memory")


async def test_serve_logs_the_status_in_words_and_the_json_only_at_debug(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(load_settings(home=tmp_path), sqlite_db, software_intel=False, backups=False)
    try:
        with caplog.at_level(logging.DEBUG, logger="sitekeeper.status"):
            await service._stats()
    finally:
        await service.probe.aclose()
        service.dbthread.close()
    (info,) = [r for r in caplog.records if r.levelno == logging.INFO]
    (debug,) = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert info.getMessage().startswith("checked 0 sites in the last ")
    assert ", 0 down;" in info.getMessage()
    assert debug.getMessage().startswith('STATS {"t":')


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def test_help_prints_no_library_warnings() -> None:
    shown = _cli("--help")
    assert shown.returncode == 0
    assert "Deprecat" not in shown.stderr and "DSA" not in shown.stderr
    assert shown.stderr == ""


def test_version() -> None:
    shown = _cli("--version")
    assert shown.returncode == 0
    assert shown.stdout.startswith("sitekeeper ")
    assert shown.stdout.split()[1][0].isdigit()


def test_a_mistyped_command_gets_a_suggestion() -> None:
    shown = _cli("chek", "https://example.com")
    assert shown.returncode == 2
    assert "Did you mean 'check'?" in shown.stderr
