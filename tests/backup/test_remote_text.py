"""What a client server prints on stderr reaches errors and the journal as its quoted words.

The site's own shell start-up file is enough for a hacked server to answer
``mysqldump`` with anything: here terminal escapes (OSC 52 writes the
operator's clipboard, CSI 2J clears the screen) and a line forged to look like
sitekeeper's own log.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.tables import Event
from tests.backup.conftest import add_wp_site

LYING_MYSQLDUMP = (
    "mysqldump() { printf 'mysqldump: \\033]52;c;SGk=\\007\\033[2J denied\\n"
    "INFO sitekeeper task 99: ok\\n' >&2; return 2; }\n"
)


async def test_a_lying_mysqldump_is_quoted_escaped_on_one_line(
    bctx: BackupContext, wp2_guard: dict[str, Any]
) -> None:
    site = wp2_guard
    add_wp_site(bctx.db, bctx.vault, site)
    startup = Path(site["docroot"]) / ".bashrc"  # the site user's home is its docroot
    startup.write_text(LYING_MYSQLDUMP, encoding="ascii")
    shutil.chown(startup, "wp2", "wp2")

    outcome = await backup_site(bctx, "wp2")

    assert not outcome.ok
    error = outcome.error or ""
    assert 'database dump failed (exit 2): server said: "mysqldump: \\x1b]52;c;SGk=' in error
    assert "\\x1b[2J denied\\nINFO sitekeeper task 99: ok" in error
    assert "\x1b" not in error and "\n" not in error and "\x07" not in error
    with bctx.db.session() as s:
        failed = s.scalar(select(Event).where(Event.kind == "backup.failed"))
    assert failed is not None and failed.data["error"] == error
