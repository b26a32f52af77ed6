"""The workers page (admins only) shows what ``sitekeeper workers`` shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sitekeeper.store import workers
from sitekeeper.store.database import Database
from tests.web.conftest import Live, login


def _register(db: Database, name: str, role: str, beat_ago: float) -> None:
    who = workers.Registration(
        host="host-a",
        pid=4242,
        name=name,
        role=role,
        location="eu-central",
        queues=("backups",),
        version="9.9",
        heartbeat_seconds=10.0,
    )
    with db.session() as s:
        workers.register(s, who, datetime.now(UTC) - timedelta(seconds=beat_ago))


def test_an_admin_sees_every_process_and_which_are_gone(live: Live, db: Database) -> None:
    _register(db, "alive/1", "worker", beat_ago=0)
    _register(db, "dead/2", "scheduler", beat_ago=120)  # 12 heartbeats silent
    ada = login(live.base, "ada@agency.example")
    shown = ada.get("/settings/workers")
    assert shown.status_code == 200
    html = " ".join(shown.text.split())
    row = "<td>alive/1</td><td>host-a</td><td>worker</td><td>eu-central</td> <td>backups</td>"
    assert row in html
    assert 'pill-up">running' in html and 'pill-down">gone' in html
    assert 'href="/settings/workers"' in ada.get("/settings").text


def test_others_may_not_see_it(live: Live) -> None:
    tom = login(live.base, "tom@agency.example")
    assert tom.get("/settings/workers").status_code == 403
