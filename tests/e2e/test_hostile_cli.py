"""The CLI against wp3 in an attacker's hands (tests/hostile.py), on a terminal and piped.

Every command that prints what a site said -- ``inventory``, ``updates``,
``journal``, ``site show``, ``fingerprint``, ``check`` -- runs as the operator
runs it: a real ``sitekeeper`` process, once on a pseudo-terminal (Rich's
tables) and once piped. No escape sequence of the site's reaches the terminal
(Rich's own colour codes are the only escapes), no markup is read as markup,
and a folder name with a newline does not split a row.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.config import Settings
from sitekeeper.engine.service import Service
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.store import tasks as queue
from sitekeeper.store.database import Database
from sitekeeper.store.sites import get_site
from tests.hostile import (
    FORGED,
    LOCATION,
    MARKUP,
    REDIRECT_QUERY,
    forge_mysql,
    make_hostile,
    open_wp3,
    undo_hostile,
    wp3_site,
)

__all__ = ["wp3_site"]

pytestmark = pytest.mark.realsites

SGR = re.compile(r"\x1b\[[0-9;]*m")  # Rich's own colours and bold
SITEKEEPER = [sys.executable, "-m", "sitekeeper"]
WAIT = 300.0  # a guard against a hung command, not a timing assertion


def run_cli(home: Path, *args: str, tty: bool) -> tuple[int, str]:
    """``sitekeeper ARGS`` as a separate process; its stdout and stderr together."""
    env = {**os.environ, "SITEKEEPER_HOME": str(home), "TERM": "xterm-256color"}
    env.pop("SITEKEEPER_DATABASE_URL", None)
    for name in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "TTY_COMPATIBLE"):
        env.pop(name, None)
    if not tty:
        done = subprocess.run(
            [*SITEKEEPER, *args], env=env, capture_output=True, timeout=WAIT, check=False
        )
        return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    _wide(slave)
    proc = subprocess.Popen(
        [*SITEKEEPER, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while select.select([master], [], [], WAIT)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=WAIT)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, b"".join(chunks).decode("utf-8", "replace")


def _wide(fd: int) -> None:
    """A 400-column terminal, so Rich does not fold the long hostile values."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 400, 0, 0))


def assert_harmless(what: str, text: str, *, tty: bool) -> None:
    """No escape of the site's: on a terminal only Rich's colour codes, piped none."""
    rest = SGR.sub("", text) if tty else text
    assert "\x1b" not in rest, (what, text)
    for char in ("\x07", "\x9b", "\u202e", "\u2028", "\x85"):
        assert char not in text, (what, text)
    for line in text.splitlines():  # a newline in a name never starts a line of its own
        assert not line.startswith("INJECTED"), (what, text)


@pytest.fixture
async def wp3_conn(wp3_site: dict[str, Any], sqlite_db: Database) -> AsyncIterator[SshConnection]:
    """wp3 made hostile (undone afterwards), and a connection to change it further."""
    async with await open_wp3(sqlite_db, wp3_site) as conn:
        await make_hostile(conn)
        try:
            yield conn
        finally:
            await undo_hostile(conn)


@pytest.fixture
def hostile_home(wp3_site: dict[str, Any], wp3_conn: SshConnection, tmp_path: Path) -> Path:
    """A sitekeeper home with the hostile wp3 registered (its SSH key in the vault)."""
    home = tmp_path / "home"
    for args in (
        ("client", "add", "Victim"),
        ("site", "add", wp3_site["url"], "--client", "Victim", "--name", "wp3",
         "--ssh", "wp3@127.0.0.1:2222", "--key", wp3_site["ssh"]["key"],
         "--path", wp3_site["docroot"]),
    ):  # fmt: skip
        code, out = run_cli(home, *args, tty=False)
        assert code == 0, out
    return home


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "piped"])
async def test_no_command_prints_the_sites_escapes_or_markup(
    hostile_home: Path, wp3_site: dict[str, Any], tty: bool
) -> None:
    code, inventory = run_cli(hostile_home, "inventory", "wp3", tty=tty)
    assert code == 0, inventory
    redirect = f"{wp3_site['url']}?{REDIRECT_QUERY}"
    printed = {
        "inventory": inventory,
        "updates": run_cli(hostile_home, "updates", tty=tty)[1],
        "journal": run_cli(hostile_home, "journal", tty=tty)[1],
        "site show": run_cli(hostile_home, "site", "show", "wp3", tty=tty)[1],
        "fingerprint": run_cli(hostile_home, "fingerprint", "wp3", tty=tty)[1],
        "fingerprint redirect": run_cli(hostile_home, "fingerprint", redirect, tty=tty)[1],
        "check redirect": run_cli(hostile_home, "check", redirect, tty=tty)[1],
    }
    for command, text in printed.items():
        assert_harmless(command, text, tty=tty)
    if tty:  # Rich printed the markup as the text it is
        plain = SGR.sub("", "".join(printed.values()))
        assert MARKUP in SGR.sub("", printed["inventory"])
        # site show: the stored version is cut at 64 characters, the link is within them
        assert "[link=file:///etc/passwd]x[/link]" in SGR.sub("", printed["site show"])
        assert "gopher://]0;owned" + MARKUP in plain  # the Location, cleaned, as text
    else:
        rows = printed["inventory"].splitlines()
        assert any(r.startswith("plugin\tsk-hostile-esc\tEvil ]52;c;") for r in rows)
        assert any(
            r.startswith("plugin\tsk-hostile-nl INJECTED [bold red]x]0;owned\t") for r in rows
        )
    assert LOCATION not in "".join(printed.values())


# ---------------------------------------------------------------- what a remote command says

QUOTED = (
    "server said: \"ERROR 2002 (HY000): Can't connect to server\\n"
    f'{FORGED}\\x1b[2J\\x1b]0;owned\\x07"'
)  # the lying mysql's stderr, as sitekeeper shows it: one line, escapes visible


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "piped"])
async def test_remote_stderr_is_one_quoted_line_in_the_error(
    hostile_home: Path, wp3_conn: SshConnection, tty: bool
) -> None:
    await forge_mysql(wp3_conn)
    code, printed = run_cli(hostile_home, "inventory", "wp3", tty=tty)

    assert code == 1, printed
    assert_harmless("inventory", printed, tty=tty)
    lines = [SGR.sub("", line) for line in printed.splitlines()]
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == [f"error: reading the WordPress database failed: {QUOTED}"]
    assert not [line for line in lines if line.startswith(FORGED[:10])]  # no forged log line


async def test_remote_stderr_is_one_quoted_line_in_the_task_and_the_log(
    hostile_home: Path, wp3_conn: SshConnection, caplog: pytest.LogCaptureFixture
) -> None:
    """The inventory as an API task: its stored error (what /api/tasks shows) and serve's
    log quote the server on one line."""
    await forge_mysql(wp3_conn)
    db = Database(f"sqlite:///{hostile_home / 'sitekeeper.db'}")
    settings = Settings(home=hostile_home, database_url=db.url, worker_name="hostile-test")
    service = Service(settings, db, software_intel=False, backups=False, task_poll_interval=3600)
    try:
        with db.session() as session:
            site_id = get_site(session, "wp3").id
            task, _ = queue.enqueue(
                session, "inventory", site_id=site_id, params={}, requested_by=None,
                now=datetime.now(UTC),
            )  # fmt: skip
            task_id = task.id
        stop = asyncio.Event()
        runner = asyncio.create_task(service.tasks.run(stop))
        with caplog.at_level(logging.INFO, logger="sitekeeper"):
            async with asyncio.timeout(WAIT):
                await service.tasks.wait_until(lambda: service.tasks.finished == 1)
        stop.set()
        await runner
        with db.session() as session:
            row = queue.get_task(session, task_id)
            assert row is not None
            error = row.error
    finally:
        await service.probe.aclose()
        service.dbthread.close()
        db.dispose()

    assert error is not None
    assert error.endswith(f"reading the WordPress database failed: {QUOTED}")
    logged = [r.getMessage() for r in caplog.records if f"task {task_id}: failed" in r.getMessage()]
    assert logged == [f"task {task_id}: failed: {error}"]
    for message in (r.getMessage() for r in caplog.records):
        assert "\n" not in message and "\x1b" not in message
