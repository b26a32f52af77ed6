"""Safe updates in the API and on the site page: "update now" queues the same task
`sitekeeper update` runs, a bad selection is refused before anything is queued, and a
site's runs show with their steps (as far as a running one got). No worker runs here:
the runs themselves are tested on real sites (tests/updates/test_update_run.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sitekeeper.domain.updates import Check, UpdateItem
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as update_store
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Plan, Site
from tests.updates.test_policy import site_on
from tests.web.conftest import Live, World, csrf_of, login
from tests.web.test_actions_api import api

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_api_queues_an_update_task_and_refuses_a_bad_selection(
    live: Live, world: World
) -> None:
    site_id = world.acme_sites[0]
    admin = api(live, world)
    queued = admin.post(f"/api/sites/{site_id}/updates", json={"plugins": ["contact-form-pro"]})
    assert queued.status_code == 202, queued.text
    task = queued.json()
    assert (task["kind"], task["site_id"]) == ("update", site_id)
    assert task["params"]["plugins"] == ["contact-form-pro"]
    bad_pin = {"themes": ["tt3"], "sha256": {"tt3": "not-hex"}}
    for bad in ({}, {"plugins": ["../etc"]}, {"all": True, "to": "1.0"}, {"nope": 1}, bad_pin):
        answer = admin.post(f"/api/sites/{site_id}/updates", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
    alice = login(live.base, "alice@acme.example")  # a client user: no actions
    answer = alice.post(
        f"/api/sites/{site_id}/updates",
        json={"security": True},
        headers={"X-CSRF-Token": csrf_of(alice)},
    )
    assert answer.status_code in (403, 404)


def test_a_sites_update_runs_show_their_steps_in_the_api_and_on_the_page(
    db: Database, live: Live, world: World
) -> None:
    site_id = world.acme_sites[0]
    items = [{"type": "plugin", "package": "contact-form-pro", "installed": "5.8.1",
              "target": "5.8.2", "security": True}]  # fmt: skip
    with db.session() as session:
        done = update_store.start_run(
            session, site_id, items, trigger="manual", requested_by="cli:tom", now=NOW
        )
        update_store.add_step(session, done.id, Check("ssh", True, "logged in as acme", 0.2))
        update_store.add_step(
            session, done.id, Check("health after: home.status", False, "answered 500", 0.4)
        )
        update_store.set_snapshot(session, done.id, "3f9c2a1b" * 8)
        update_store.finish_run(session, done.id, "rolled_back", NOW, error="home answered 500")
        running = update_store.start_run(
            session, site_id, items, trigger="manual", requested_by=None, now=NOW
        )
        update_store.add_step(session, running.id, Check("ssh", True, "logged in", 0.1))
        site = session.get(Site, site_id)
        assert site is not None
        site.ssh = {"host": "127.0.0.1", "port": 22, "user": "acme", "docroot": "/srv/acme"}
    admin = api(live, world)
    runs = admin.get(f"/api/sites/{site_id}/update-runs").json()
    assert [r["status"] for r in runs] == ["running", "rolled_back"]
    assert [s["name"] for s in runs[0]["steps"]] == ["ssh"]  # as far as it got
    assert runs[1]["error"] == "home answered 500"
    assert runs[1]["steps"][1] == {
        "name": "health after: home.status", "ok": False, "detail": "answered 500", "seconds": 0.4,
    }  # fmt: skip
    tom = login(live.base, "tom@agency.example")
    page = tom.get(f"/sites/{site_id}").text
    assert "Updates applied" in page and "rolled back" in page and "3f9c2a1b" in page
    assert "health after: home.status: answered 500" in page
    assert 'name="package" value="contact-form-pro"' in page  # the row's Update button
    fleet = tom.get("/updates").text  # the fleet's latest runs, newest first
    assert fleet.index("running") < fleet.index("rolled back")
    alice = login(live.base, "alice@acme.example")
    assert "contact-form-pro" in alice.get("/updates").text  # her own site's runs
    seen = alice.get(f"/sites/{site_id}").text
    assert "rolled back" in seen and "2 steps" in seen
    assert "<summary>2 steps" not in seen  # the steps' details are the agency's
    assert 'name="package" value="contact-form-pro"' not in seen


def test_an_update_that_needs_review_shows_so_to_staff_and_client(
    db: Database, live: Live, world: World
) -> None:
    site_id = world.acme_sites[0]
    items = [{"type": "theme", "package": "shopfront", "installed": "1.0", "target": "2.0"}]
    why = "the home page looks different: 41.20 % of the home page changed (threshold 5 %)"
    with db.session() as session:
        run = update_store.start_run(
            session, site_id, items, trigger="policy", requested_by="policy", now=NOW
        )
        update_store.add_step(session, run.id, Check("visual", False, why[30:], 4.1))
        update_store.finish_run(session, run.id, "needs_review", NOW, error=why)
    (shown,) = api(live, world).get(f"/api/sites/{site_id}/update-runs").json()
    assert (shown["status"], shown["error"]) == ("needs_review", why)
    tom = login(live.base, "tom@agency.example")
    assert "needs review" in tom.get(f"/sites/{site_id}").text
    assert "needs review" in tom.get("/updates").text
    alice = login(live.base, "alice@acme.example")
    assert "needs review" in alice.get(f"/sites/{site_id}").text


def test_the_site_pages_update_button_queues_the_task(
    live: Live, world: World, db: Database
) -> None:
    site_id = world.acme_sites[0]
    with db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None
        site.ssh = {"host": "127.0.0.1", "port": 22, "user": "acme", "docroot": "/srv/acme"}
    tom = login(live.base, "tom@agency.example")
    form = {"csrf_token": csrf_of(tom), "package_type": "plugin", "package": "contact-form-pro"}
    answer = tom.post(f"/sites/{site_id}/update", data=form)
    assert answer.status_code == 303, answer.text
    tasks = api(live, world).get("/api/tasks", params={"kind": "update"}).json()["items"]
    assert [(t["site_id"], t["params"]["plugins"]) for t in tasks] == [
        (site_id, ["contact-form-pro"])
    ]
    panel = tom.get(f"/sites/{site_id}/tasks").text
    assert "Update" in panel
    bad = tom.post(f"/sites/{site_id}/update", data={**form, "package_type": "kernel"})
    assert bad.status_code == 400
    # Hold the same plugin back from the plan's policy, with a reason (none: refused).
    assert tom.post(f"/sites/{site_id}/hold", data={**form, "reason": " "}).status_code == 400
    held = tom.post(f"/sites/{site_id}/hold", data={**form, "reason": "custom fork"})
    assert held.status_code == 303
    assert "held: custom fork" in tom.get(f"/sites/{site_id}").text
    # A module (a kind with no option of its own) goes as TYPE:SLUG.
    other = world.acme_sites[1]
    with db.session() as session:
        site = session.get(Site, other)
        assert site is not None
        site.ssh = {"host": "127.0.0.1", "port": 22, "user": "acme", "docroot": "/srv/b"}
    module = {**form, "package_type": "module", "package": "views"}
    assert tom.post(f"/sites/{other}/update", data=module).status_code == 303
    tasks = api(live, world).get("/api/tasks", params={"kind": "update"}).json()["items"]
    assert [t["params"]["extensions"] for t in tasks if t["site_id"] == other] == [["module:views"]]


def _waiting(db: Database, site_id: int, package: str) -> int:
    item = UpdateItem("plugin", package, "1.0", "2.0", "wordpress")
    with db.session() as session:
        return queue.request(session, site_id, item, NOW).id


def test_approvals_are_seen_per_client_and_decided_by_whom_the_plan_allows(
    db: Database, live: Live, world: World
) -> None:
    acme, globex = world.acme_sites[0], world.globex_sites[0]
    mine, theirs = _waiting(db, acme, "woocommerce"), _waiting(db, globex, "jetpack")
    admin = api(live, world)
    assert {a["id"]: a["may_decide"] for a in admin.get("/api/approvals").json()} == {
        mine: True, theirs: True,
    }  # fmt: skip
    alice = login(live.base, "alice@acme.example")
    headers = {"X-CSRF-Token": csrf_of(alice)}
    [seen] = alice.get("/api/approvals").json()
    assert (seen["id"], seen["from"], seen["to"], seen["may_decide"]) == (mine, "1.0", "2.0", False)
    assert alice.post(f"/api/approvals/{mine}/approve", headers=headers).status_code == 403
    assert alice.post(f"/api/approvals/{theirs}/approve", headers=headers).status_code == 404
    with db.session() as session:  # the plan lets the client's users decide
        plan = session.get(Plan, world.plan)
        assert plan is not None
        plan.options = {**plan.options, "client_approves_updates": True}
    decided = alice.post(f"/api/approvals/{mine}/approve", headers=headers)
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decided_by"]) == ("approved", "user:3")
    again = alice.post(f"/api/approvals/{mine}/reject", headers=headers)
    assert again.status_code == 422 and "approved already" in again.text

    tom = login(live.base, "tom@agency.example")
    listing = tom.get("/updates").text
    assert "jetpack" in listing and "woocommerce" in listing and "Approve" in listing
    form = {"csrf_token": csrf_of(tom), "decision": "reject"}
    decided_page = tom.post(f"/approvals/{theirs}", data=form)
    assert decided_page.status_code == 303
    assert decided_page.headers["location"] == "/updates#approvals"
    assert [a["id"] for a in admin.get("/api/approvals").json()] == [mine]  # rejected: gone


def test_holds_are_set_listed_and_lifted_over_the_api(live: Live, world: World) -> None:
    site_id = world.acme_sites[0]
    admin = api(live, world)
    body = {"type": "plugin", "package": "woocommerce", "reason": "custom checkout"}
    put = admin.put(f"/api/sites/{site_id}/holds", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["held_by"] == f"user:{world.admin}"
    assert [h["package"] for h in admin.get(f"/api/sites/{site_id}/holds").json()] == [
        "woocommerce"
    ]
    bad = admin.put(f"/api/sites/{site_id}/holds", json={**body, "package": "../x"})
    assert bad.status_code == 422
    tom = login(live.base, "tom@agency.example")
    page = tom.get("/updates").text
    assert "Held back from the policies" in page and "custom checkout" in page
    gone = f"/api/sites/{site_id}/holds/plugin/woocommerce"
    assert admin.delete(gone).status_code == 204
    assert admin.delete(gone).status_code == 404


def test_scheduled_updates_show_when_the_policy_applies_them(
    db: Database, live: Live, world: World
) -> None:
    site_id = site_on(db, "minor", "shop", update_window="Sat 02:00-05:00")
    admin = api(live, world)
    listed = admin.get("/api/scheduled-updates")
    assert listed.status_code == 200, listed.text
    mine = {(e["package"], e["from"], e["to"]) for e in listed.json() if e["site_id"] == site_id}
    assert mine == {("wordpress", "6.1.9", "6.1.10"), ("akismet", "5.0.2", "5.5")}
    tom = login(live.base, "tom@agency.example")
    page = tom.get("/updates").text
    assert "Scheduled" in page and "when the maintenance window opens" in page
    site_page = tom.get(f"/sites/{site_id}").text
    assert "scheduled: 6.1.10 at the next policy run" in site_page
    assert "scheduled: 5.5 " in site_page and "in the maintenance window" in site_page
    alice = login(live.base, "alice@acme.example")  # another client's user sees none of it
    assert [e for e in alice.get("/api/scheduled-updates").json() if e["site_id"] == site_id] == []
