"""Housekeeping's check of the fleet summary: drift is corrected and reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import insert

from sitekeeper.config import load_settings
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.engine.maintenance import check_summary
from sitekeeper.engine.service import Service
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Incident, SiteSummary
from tests.store.factories import NOW, baker, site


def test_drift_is_corrected_and_logged_as_a_bug(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite_db.session() as s:
        sid = site(s, baker(s)).id
        # Written behind the store's back: the summary does not know.
        s.execute(
            insert(Incident),
            [{"site_id": sid, "kind": str(IncidentKind.DOWN), "opened_at": NOW, "alerts_sent": 0}],
        )
    with caplog.at_level(logging.WARNING), sqlite_db.session() as s:
        assert check_summary(s) == 1
    assert "drifted for 1 sites" in caplog.text
    with sqlite_db.session() as s:
        row = s.get(SiteSummary, sid)
        assert row is not None and row.down_since == NOW and row.open_incidents == 1
        caplog.clear()
        assert check_summary(s) == 0
    assert caplog.text == ""


async def test_serve_housekeeping_corrects_the_summary(sqlite_db: Database, home: Path) -> None:
    with sqlite_db.session() as s:
        sid = site(s, baker(s)).id
        s.execute(
            insert(Incident),
            [{"site_id": sid, "kind": str(IncidentKind.DOWN), "opened_at": NOW, "alerts_sent": 0}],
        )
    service = Service(load_settings(home=home), sqlite_db, software_intel=False, backups=False)
    try:
        await service.housekeeping()
    finally:
        service.dbthread.close()
    with sqlite_db.session() as s:
        row = s.get(SiteSummary, sid)
        assert row is not None and row.down_since == NOW
