"""A second action of the same kind for a site: the same request is one task, another is 409.

No worker runs here, so the first task stays queued while the second request comes in.
"""

from __future__ import annotations

from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import api


def test_a_different_restore_is_refused_with_the_running_one(live: Live, world: World) -> None:
    """An admin's in-place restore never silently becomes a technician's restore to a folder."""
    site_id = world.acme_sites[0]
    admin = api(live, world)
    in_place = admin.post(f"/api/sites/{site_id}/restore", json={"in_place": True})
    assert in_place.status_code == 202, in_place.text
    first = in_place.json()

    tom = login(live.base, "tom@agency.example")
    to_dir = tom.post(
        f"/api/sites/{site_id}/restore",
        json={"to": "before-update"},
        headers={"X-CSRF-Token": csrf_of(tom)},
    )
    assert to_dir.status_code == 409, to_dir.text
    assert to_dir.headers["location"] == f"/api/tasks/{first['id']}"
    error = to_dir.json()["error"]
    assert error["code"] == "conflict"
    assert f"task {first['id']}" in error["message"]
    running = error["task"]
    assert (running["id"], running["kind"], running["status"]) == (first["id"], "restore", "queued")
    assert running["params"] == {"in_place": True}
    assert running["requested_by"] == world.admin
    assert error["requested_by_email"] == "ada@agency.example"
    # Nothing was queued for the technician, and the admin's task is as she asked.
    assert admin.get(f"/api/tasks/{first['id']}").json()["params"] == {"in_place": True}
    assert admin.get("/api/tasks", params={"kind": "restore"}).json()["meta"]["total"] == 1


def test_the_same_request_again_is_the_same_task(live: Live, world: World) -> None:
    site_id = world.acme_sites[0]
    admin = api(live, world)
    first = admin.post(f"/api/sites/{site_id}/drills", json={"snapshot": "abcdef12"})
    again = admin.post(f"/api/sites/{site_id}/drills", json={"snapshot": "abcdef12"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    other = admin.post(f"/api/sites/{site_id}/drills", json={"snapshot": "0123abcd"})
    assert other.status_code == 409
    assert other.json()["error"]["task"]["params"] == {"snapshot": "abcdef12"}
    # Another site, or another kind, is another task.
    elsewhere = admin.post(
        f"/api/sites/{world.acme_sites[1]}/drills", json={"snapshot": "0123abcd"}
    )
    backup = admin.post(f"/api/sites/{site_id}/backups")
    assert (elsewhere.status_code, backup.status_code) == (202, 202)
    assert len({first.json()["id"], elsewhere.json()["id"], backup.json()["id"]}) == 3
