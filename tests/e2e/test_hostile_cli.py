"""The CLI against wp3 in an attacker's hands (tests/hostile.py), on a terminal and piped.

Every command that prints what a site said -- ``inventory``, ``updates``,
``journal``, ``site show``, ``fingerprint``, ``check`` -- runs as the operator
runs it: a real ``sitekeeper`` process, once on a pseudo-terminal (Rich's
tables) and once piped. No escape sequence of the site's reaches the terminal
(Rich's own colour codes are the only escapes), no markup is read as markup,
and a folder name with a newline does not split a row.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.store.database import Database
from tests.hostile import (
    LOCATION,
    MARKUP,
    REDIRECT_QUERY,
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
async def hostile_home(
    wp3_site: dict[str, Any], tmp_path: Path, sqlite_db: Database
) -> AsyncIterator[Path]:
    """A sitekeeper home with wp3 registered (SSH key in the vault), wp3 made hostile."""
    home = tmp_path / "home"
    async with await open_wp3(sqlite_db, wp3_site) as conn:
        await make_hostile(conn)
        try:
            for args in (
                ("client", "add", "Victim"),
                ("site", "add", wp3_site["url"], "--client", "Victim", "--name", "wp3",
                 "--ssh", "wp3@127.0.0.1:2222", "--key", wp3_site["ssh"]["key"],
                 "--path", wp3_site["docroot"]),
            ):  # fmt: skip
                code, out = run_cli(home, *args, tty=False)
                assert code == 0, out
            yield home
        finally:
            await undo_hostile(conn)


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
