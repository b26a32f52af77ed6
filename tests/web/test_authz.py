"""Authorization, by enumerating every route of the app.

Anonymous visitors get nothing (pages redirect to /login, the API answers
401); a client user asking for another client's objects, or for staff-only
pages, gets 404 — and nothing it can read mentions the other client.
A new route with an unknown path parameter fails the test until it is added
here, so no route escapes the check.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import Mount

from sitekeeper.domain.updates import UpdateItem
from sitekeeper.store import findings, report_archive, tasks, update_approvals, work_log
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Client, Site
from sitekeeper.store.task_tables import Task
from tests.store.factories import hack_spec
from tests.web.conftest import Live, World, csrf_of, login

# Reachable without logging in, and nothing else.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/status/{token:path}")}
# What a client user may still do for itself (its own session, API tokens and password).
OWN_ACCOUNT = {
    ("POST", "/logout"),
    ("POST", "/account/tokens"),
    ("POST", "/account/password"),
    ("POST", "/api/me/tokens"),
    ("POST", "/api/me/password"),
}
# Routes that carry other capabilities' data; they must stay in the enumeration below.
SOFTWARE_AND_BACKUPS = {
    ("GET", "/api/sites/{site_id}/inventory"),
    ("GET", "/api/sites/{site_id}/findings"),
    ("GET", "/api/sites/{site_id}/backups"),
    ("GET", "/api/updates"),
    ("GET", "/api/vulns"),
    ("GET", "/api/advisories"),
}
# Acknowledging false positives (staff) and reading them (the site's users too).
ACKNOWLEDGEMENTS = {
    ("POST", "/api/findings/{finding_id}/acknowledge"),
    ("DELETE", "/api/findings/{finding_id}/acknowledge"),
    ("GET", "/api/sites/{site_id}/acknowledgements"),
    ("POST", "/sites/{site_id}/findings/{finding_id}/acknowledge"),
    ("POST", "/sites/{site_id}/findings/{finding_id}/undo"),
}


# The CLI's actions (queued tasks), the task list and backup repositories: staff only.
ACTIONS = {
    ("POST", "/api/sites/{site_id}/check"),
    ("POST", "/api/sites/{site_id}/fingerprint"),
    ("POST", "/api/sites/{site_id}/inventory"),
    ("POST", "/api/sites/{site_id}/backups"),
    ("POST", "/api/sites/{site_id}/drills"),
    ("POST", "/api/sites/{site_id}/restore"),
    ("POST", "/api/sites/import"),
    ("POST", "/api/feeds/poll"),
    ("POST", "/api/advisories/import"),
    ("GET", "/api/tasks"),
    ("GET", "/api/tasks/{task_id}"),
    ("GET", "/api/backup-repositories"),
    ("PUT", "/api/backup-repositories"),
    ("GET", "/sites/{site_id}/tasks"),
    ("POST", "/sites/{site_id}/tasks"),
}


def routes(live: Live) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, static files aside."""
    found: list[tuple[str, str]] = []
    for route in live.app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, APIRoute), f"unexpected route type {route!r}"
        found.extend(
            (method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"
        )
    return found


def foreign_ids(world: World) -> dict[str, int | str]:
    """Path parameters pointing at objects the Acme user must not reach."""
    return {
        "approval_id": 1,  # the client-user test replaces it with one of Globex's site
        "type_": "plugin",
        "package": "jetpack",
        "site_id": world.globex_sites[0],
        "client_id": world.globex,
        "contract_id": world.globex_contract,
        "plan_id": world.plan,
        "user_id": world.admin,
        "token_id": world.admin_token_id,
        "task_id": 1,  # the client-user test replaces it with a task on Globex's site
        "entry_id": 1,  # the client-user test replaces it with work logged for Globex
        "report_id": 1,  # the client-user test replaces it with a report of Globex's
        "finding_id": 1,  # the client-user test replaces it with a finding on Globex's site
        "token": "x" * 43,  # a status page token (tests/web/test_status_page.py)
    }


def globex_task(db: Database, world: World) -> int:
    """A finished task on Globex's site whose result names it: the Acme user must not see it."""
    with db.session() as session:
        task, _ = tasks.enqueue(
            session,
            "check",
            site_id=world.globex_sites[0],
            params={},
            requested_by=world.admin,
            now=datetime.now(UTC),
        )
        task.status, task.result = "ok", {"site": "globex-portal", "up": True}
        return task.id


def globex_work(db: Database, world: World) -> int:
    """Work logged on Globex's site: the Acme user must neither see nor remove it."""
    with db.session() as session:
        site = session.get(Site, world.globex_sites[0])
        assert site is not None and site.client is not None
        entry = work_log.add_entry(
            session,
            client=site.client,
            site=site,
            day=datetime.now(UTC).date(),
            minutes=30,
            note="Globex's plugin conflict",
            by="tom",
            now=datetime.now(UTC),
        )
        return entry.id


def globex_report(db: Database, world: World) -> int:
    """An archived report of Globex's: the Acme user must neither read nor resend it."""
    made = report_archive.Rendered("en", {"client": "Globex Inc"}, "<p>Globex</p>", b"%PDF-globex")
    with db.session() as session:
        report = report_archive.store(
            session,
            client_id=world.globex,
            scope="client",
            first=date(2026, 10, 1),
            last=date(2026, 10, 31),
            rendered=made,
            now=datetime.now(UTC),
            by="schedule",
        )
        return report.id


def globex_approval(db: Database, world: World) -> int:
    """An update of Globex's site waiting for approval: the Acme user must not see it."""
    item = UpdateItem("plugin", "jetpack", "1.0", "2.0", "wordpress")
    with db.session() as session:
        return update_approvals.request(session, world.globex_sites[0], item, datetime.now(UTC)).id


def globex_finding(db: Database, world: World) -> int:
    """A web shell found on Globex's site: the Acme user must neither see nor acknowledge it."""
    site_id = world.globex_sites[0]
    with db.session() as session:
        findings.reconcile(
            session, [hack_spec(site_id)], datetime.now(UTC), site_ids=[site_id], kinds=["malware"]
        )
        return int(
            session.scalars(
                select(Finding.id).where(Finding.site_id == site_id, Finding.kind == "malware")
            ).one()
        )


def fill(path: str, values: dict[str, int | str]) -> str:
    """The path with its parameters replaced; fails on a parameter nobody thought about."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"route {path} has a new parameter {name!r}: cover it here"
        return str(values[name])

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)  # {name} or {name:converter}


def send(client: httpx.Client, method: str, url: str, csrf: str | None = None) -> httpx.Response:
    """One request with a plausible body for its kind (JSON for the API, a form for pages)."""
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.request(method, url, json={}, headers=headers)
    return client.request(
        method, url, data={"name": "x", "url": "https://x.example"}, headers=headers
    )


def test_every_route_is_closed_to_anonymous_visitors(live: Live, world: World) -> None:
    table = routes(live)
    assert len(table) > 40, "the enumeration found too few routes"
    assert set(table) >= SOFTWARE_AND_BACKUPS | ACTIONS | ACKNOWLEDGEMENTS
    anonymous = httpx.Client(base_url=live.base, follow_redirects=False, timeout=30)
    values = foreign_ids(world)
    for method, path in table:
        if (method, path) in PUBLIC:
            continue
        answer = send(anonymous, method, fill(path, values))
        if path.startswith("/api/"):
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.json()["error"]["code"] == "unauthorized"
        else:
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/login?next="), (method, path)


def test_a_bad_token_is_refused(live: Live, world: World) -> None:
    client = httpx.Client(base_url=live.base, headers={"Authorization": "Bearer skt_forged"})
    assert client.get("/api/sites").status_code == 401
    good = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}
    )
    assert good.get("/api/sites").json()["meta"]["total"] == 4


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (
            session.query(Site).count(),
            session.query(Client).count(),
            session.query(Task).count(),  # no action was queued
        )


def test_a_client_user_cannot_read_or_change_another_clients_data(
    live: Live, world: World, db: Database
) -> None:
    alice = login(live.base, "alice@acme.example")
    csrf = csrf_of(alice)
    values = foreign_ids(world) | {
        "task_id": globex_task(db, world),
        "approval_id": globex_approval(db, world),
        "entry_id": globex_work(db, world),
        "report_id": globex_report(db, world),
        "finding_id": globex_finding(db, world),
    }
    before = _counts(db)
    checked = 0
    for method, path in routes(live):
        if (method, path) in PUBLIC | OWN_ACCOUNT:
            continue
        answer = send(alice, method, fill(path, values), csrf)
        checked += 1
        if "{" in path or method != "GET":
            # Someone else's object, or a change only staff may make: it "does not exist".
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:200])
        else:
            assert answer.status_code in (200, 404), (method, path, answer.status_code)
        assert "Globex" not in answer.text and "globex" not in answer.text, (method, path)
    assert checked > 35
    assert _counts(db) == before, "a client user changed something"
    # The admin's account and token (the foreign user_id and token_id) are untouched.
    admin = httpx.Client(
        base_url=live.base, headers={"Authorization": f"Bearer {world.admin_token}"}
    )
    assert admin.get("/api/me").json()["email"] == "ada@agency.example"
    # And her own things are there.
    assert alice.get(f"/sites/{world.acme_sites[0]}").status_code == 200
    listing = alice.get("/api/sites").json()
    assert {s["id"] for s in listing["items"]} == set(world.acme_sites)
    assert alice.get(f"/contracts/{world.acme_contract}").status_code == 200


def test_a_technician_cannot_manage_users(live: Live, world: World) -> None:
    tom = login(live.base, "tom@agency.example")
    assert tom.get("/users").status_code == 403
    assert tom.get("/clients").status_code == 200
    assert (
        tom.post(f"/users/{world.admin}/delete", data={"csrf_token": csrf_of(tom)}).status_code
        == 403
    )


def test_a_session_cookie_is_http_only_and_same_site(
    live: Live, world: World, db: Database, tmp_path: Path
) -> None:
    client = httpx.Client(base_url=live.base, follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    answer = client.post(
        "/login",
        data={
            "email": "ada@agency.example",
            "password": "correct horse battery",
            "csrf_token": token.group(1),
        },
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on loopback; https sets it
    # A proxy's word that the visitor came over https counts only from a trusted proxy.
    fresh = httpx.Client(base_url=live.base, follow_redirects=False)
    claimed = fresh.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in claimed.headers["set-cookie"].lower()
    proxied = Live(db, tmp_path / "proxied", trusted_proxies=["127.0.0.1/32"])
    try:
        https = httpx.get(proxied.base + "/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in https.headers["set-cookie"].lower()
    finally:
        proxied.stop()
