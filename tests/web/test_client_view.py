"""A client's own users see their sites in words: no agency notes, no internal error texts
(SSH user@host, paths, dump lines) in the API or the portal."""

from __future__ import annotations

import httpx

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.events import EventKind
from sitekeeper.store import journal
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, login

SECRET_ERROR = "ssh deploy@10.0.0.5: rsync: /srv/www/acme/.env: Permission denied"
NOTE = "internal: pays late, owner's mobile 0170 555 0101"


def _internals(db: Database, world: World) -> None:
    blog = world.acme_sites[1]
    with db.session() as s:
        journal.record(
            s,
            BackupEventKind.BACKUP_FAILED,
            site_id=blog,
            client_id=world.acme,
            data={"run": 99, "reason": "scheduled", "error": SECRET_ERROR, "duration": 4.0},
        )
        journal.record(
            s,
            EventKind.INCIDENT_OPENED,
            site_id=blog,
            client_id=world.acme,
            data={"kind": "down", "cause": "refused: cannot connect to 10.0.0.5:443"},
        )


def test_client_users_get_worded_events_without_internals(
    live: Live, world: World, db: Database
) -> None:
    _internals(db, world)
    admin = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}
    )
    assert admin.patch(f"/api/clients/{world.acme}", json={"notes": NOTE}).status_code == 200
    assert (
        admin.patch(f"/api/contracts/{world.acme_contract}", json={"notes": NOTE}).status_code
        == 200
    )
    alice = login(live.base, "alice@acme.example")
    blog = world.acme_sites[1]

    seen = [
        alice.get(f"/api/clients/{world.acme}").json(),
        alice.get("/api/clients").json(),
        alice.get(f"/api/contracts/{world.acme_contract}").json(),
        alice.get("/api/contracts").json(),
    ]
    assert seen[0]["notes"] is None and seen[2]["notes"] is None
    events = alice.get("/api/journal", params={"site_id": blog}).json()
    failed = next(e for e in events if e["kind"] == BackupEventKind.BACKUP_FAILED)
    assert failed["title"] == "Backup failed" and "error" not in failed["data"]
    opened = next(e for e in events if e["kind"] == EventKind.INCIDENT_OPENED)
    assert opened["data"]["cause"] == "refused"
    runs = alice.get(f"/api/sites/{blog}/backups", params={"all": "true"}).json()
    assert [r["error"] for r in runs if r["status"] == "failed"] == [None]
    incidents = alice.get("/api/incidents", params={"site_id": blog}).json()
    page = alice.get(f"/sites/{blog}").text
    for answer in (repr(seen), repr(events), repr(runs), repr(incidents), page):
        assert NOTE not in answer
        assert "10.0.0.5" not in answer and "deploy@" not in answer and "/srv/" not in answer
        assert "connection refused" not in answer  # the seeded run's raw error

    # The agency still reads all of it.
    staff_events = admin.get("/api/journal", params={"site_id": blog}).text
    assert "deploy@10.0.0.5" in staff_events
    assert admin.get(f"/api/clients/{world.acme}").json()["notes"] == NOTE
    staff_runs = admin.get(f"/api/sites/{blog}/backups", params={"all": "true"}).json()
    assert [r["error"] for r in staff_runs if r["status"] == "failed"] == [
        "ssh: connection refused"
    ]
    ada = login(live.base, "ada@agency.example")
    assert "deploy@10.0.0.5" in ada.get(f"/sites/{blog}").text
