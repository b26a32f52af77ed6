"""Restore drills: wp-config rewriting, the verdict, and a failing drill is journaled."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.drill import _judge, drill
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.cms.php_edit import php_string
from sitekeeper.cms.php_edit import set_defines as point_config  # moved: cms.php_edit
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Event

CONFIG = (
    "<?php\r\n/** comment */\r\ndefine( 'DB_NAME', 'wp2' );\r\n"
    'define("DB_PASSWORD", "a\\"b");\r\ndefine( \'WP_DEBUG\', false );\r\n'
    "$table_prefix = 'wp_';\r\n"
)


def test_point_config_replaces_and_adds_constants() -> None:
    out = point_config(
        CONFIG,
        {
            "DB_NAME": "sk_drill",
            "DB_PASSWORD": "it's\\x",
            "WP_HOME": "http://127.0.0.1:1",
            "DISABLE_WP_CRON": True,
        },
    )
    assert "define( 'DB_NAME', 'sk_drill' )" in out
    assert "define( 'DB_PASSWORD', 'it\\'s\\\\x' )" in out
    assert "wp2" not in out
    assert out.startswith("<?php\ndefine( 'WP_HOME', 'http://127.0.0.1:1' );")
    assert "define( 'DISABLE_WP_CRON', true );" in out
    assert "$table_prefix = 'wp_';" in out


def test_php_string_escapes() -> None:
    assert php_string("a'b\\c") == "'a\\'b\\\\c'"


@pytest.mark.parametrize(
    ("status", "body", "ok", "why"),
    [
        (200, b"<title>Shop &amp; Co</title>", True, "Shop & Co"),
        (301, b"", False, "answered 301"),
        (500, b"", False, "answered 500"),
        (200, b"<title>Shop &amp; Co</title><b>Warning</b>: Undefined", False, "PHP error"),
        (200, b"<title>x</title>Fatal error: Uncaught", False, "PHP error"),
        (200, b"<h1>Error establishing a database connection</h1>", False, "PHP error"),
        (200, b"<title>Other</title>", False, "title is 'Other'"),
    ],
)
def test_judge(status: int, body: bytes, ok: bool, why: str) -> None:
    verdict, detail = _judge(status, body, "Shop & Co")
    assert verdict is ok
    assert why in detail


async def test_failed_drill_is_journaled(
    bctx: BackupContext, wp_sites: dict[str, dict[str, Any]]
) -> None:
    taken = await backup_site(bctx, "wp1")
    assert taken.ok, taken.error
    good = await drill(bctx, "wp1")
    assert good.ok, good.detail
    bad = await drill(bctx, "wp1", expected_title="Some Other Site")
    assert not bad.ok
    assert "expected 'Some Other Site'" in bad.detail
    with bctx.db.session() as s:
        kinds = [
            e.kind
            for e in s.scalars(select(Event).order_by(Event.id))
            if e.kind.startswith("backup.verif")
        ]
        run = s.scalar(select(BackupRun))
        assert run is not None
        assert run.verified is False
        assert "Some Other Site" in (run.verify_detail or "")
    assert kinds == ["backup.verified", "backup.verification_failed"]
