"""The CLI's actions through the API: 202, then polling the task to its outcome.

The app is served by uvicorn on loopback (``live``); a worker — the service's
task runner on its own thread and event loop, as ``serve`` runs it — takes
the tasks. The runner polls only once an hour here, so a task that finishes
proves the web layer woke it. Sites are real: an aiohttp site on loopback,
and (with root) the real WordPress sites for an inventory and a backup.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from playwright.sync_api import expect, sync_playwright

from sitekeeper.config import Settings
from sitekeeper.engine.actions.intel import upload_dir
from sitekeeper.engine.service import Service
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site
from tests.realsites import real_wp_sites
from tests.services import REQUIRE
from tests.web.conftest import PASSWORD, Live, World, csrf_of, login, seed

__all__ = ["real_wp_sites"]

ADVISORY = Path(__file__).parents[1] / "fixtures" / "formats" / "advisories"
DEADLINE = 60.0


class Worker:
    """A task runner and a loopback site (page, advisory file) on one background loop."""

    def __init__(
        self, db: Database, home: Path, live: Live, egress_allow: tuple[str, ...] = ("loopback",)
    ) -> None:
        self.db, self.home = db, home
        self.egress_allow = list(egress_allow)
        self.healthy = True
        self.base = ""
        self.service: Service | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))
        self._thread.start()
        assert self._ready.wait(30), "the worker did not start"
        if self._error is not None:
            raise self._error
        assert self.service is not None
        live.app.state.wake_tasks = self.service.tasks.wake  # what `serve` wires

    async def _page(self, _request: web.Request) -> web.Response:
        if self.healthy:
            return web.Response(text="<title>Bäckerei</title>", content_type="text/html")
        return web.Response(status=503, text="maintenance")

    async def _advisory(self, _request: web.Request) -> web.Response:
        body = (ADVISORY / "DRUPAL-CORE-2023-005.json").read_bytes()
        return web.Response(body=body, content_type="application/json")

    async def _main(self) -> None:
        try:
            app = web.Application()
            app.router.add_get("/", self._page)
            app.router.add_get("/advisories.json", self._advisory)
            site = web.AppRunner(app, handle_signals=False)
            await site.setup()
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            await web.SockSite(site, sock).start()
            self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            settings = Settings(
                home=self.home,
                database_url=self.db.url,
                confirm_delay=0,
                worker_name="api-test-worker",
                # The feeds the fleet's plugins would be polled from: this loopback site (404s).
                wordpress_api_url=self.base,
                drupal_updates_url=self.base,
                # Feeds and advisories are public-only by default; these live on loopback.
                egress_allow=self.egress_allow,
            )
            self.service = Service(
                settings, self.db, software_intel=False, backups=False, task_poll_interval=3600
            )
            self._stop = asyncio.Event()
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._ready.set()
        try:
            await self.service.tasks.run(self._stop)
        finally:
            await self.service.probe.aclose()
            self.service.dbthread.close()
            await site.cleanup()

    def stop(self) -> None:
        """Stop the runner (interrupting what runs) and wait for the thread."""
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        self._loop.close()


@pytest.fixture
def worker(live: Live, db: Database, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(db, tmp_path / "home", live)
    yield running
    running.stop()


def api(live: Live, world: World) -> httpx.Client:
    """The admin's API client (bearer token)."""
    return httpx.Client(
        base_url=live.base,
        headers={"Authorization": f"Bearer {world.admin_token}"},
        timeout=30,
    )


def finished(client: httpx.Client, location: str, deadline: float = DEADLINE) -> dict[str, Any]:
    """Poll a task until it is ok or failed, as an API client would (with a deadline)."""
    end = time.monotonic() + deadline
    while True:
        task: dict[str, Any] = client.get(location).json()
        if task["status"] in ("ok", "failed"):
            return task
        assert time.monotonic() < end, f"task still {task['status']}: {task}"
        time.sleep(0.05)


def accepted(answer: httpx.Response) -> str:
    """The Location of a 202 answer, checked to carry the task."""
    assert answer.status_code == 202, answer.text
    task = answer.json()
    assert answer.headers["location"] == f"/api/tasks/{task['id']}"
    assert task["status"] in ("queued", "running", "ok")
    return answer.headers["location"]


def test_a_check_is_queued_run_and_recorded(live: Live, world: World, worker: Worker) -> None:
    client = api(live, world)
    made = client.post("/api/sites", json={"url": worker.base + "/", "client_id": world.acme})
    assert made.status_code == 201, made.text
    site = made.json()
    assert site["state"] == "unknown"
    location = accepted(client.post(f"/api/sites/{site['id']}/check"))
    task = finished(client, location)
    assert task["status"] == "ok", task
    assert (task["kind"], task["site_id"], task["site"]) == ("check", site["id"], site["name"])
    assert (task["result"]["up"], task["result"]["status"]) == (True, 200)
    assert task["requested_by"] == world.admin and task["worker"] == "api-test-worker"
    assert task["started_at"] and task["finished_at"]
    now_up = client.get(f"/api/sites/{site['id']}").json()
    assert (now_up["state"], now_up["status"]) == ("up", 200), "the check was recorded"
    # The site breaks: a new check confirms it and opens an incident, as a scheduled one would.
    worker.healthy = False
    down = finished(client, accepted(client.post(f"/api/sites/{site['id']}/check")))
    assert down["status"] == "ok" and down["result"]["up"] is False
    assert down["result"]["incidents"] == [{"action": "open", "kind": "down"}]
    assert client.get(f"/api/sites/{site['id']}").json()["state"] == "down"
    listed = client.get("/api/tasks", params={"site_id": site["id"], "per_page": 1}).json()
    assert listed["meta"]["total"] == 2
    assert [t["id"] for t in listed["items"]] == [down["id"]]


def test_the_site_page_buttons_queue_tasks_and_poll_until_done(
    live: Live, world: World, worker: Worker
) -> None:
    made = api(live, world).post(
        "/api/sites", json={"url": worker.base + "/", "client_id": world.acme, "name": "bakery"}
    )
    site_id = made.json()["id"]
    tom = login(live.base, "tom@agency.example")
    page = tom.get(f"/sites/{site_id}").text
    assert '<button type="submit" name="kind" value="check">Check now</button>' in page
    assert 'value="backup" disabled aria-describedby="tasks-no-ssh"' in page  # no SSH access
    csrf = csrf_of(tom)
    plain = tom.post(f"/sites/{site_id}/tasks", data={"kind": "check", "csrf_token": csrf})
    assert plain.status_code == 303 and plain.headers["location"] == f"/sites/{site_id}#tasks"
    # As htmx posts it: the panel comes back, polling itself while the task is not done.
    panel = tom.post(
        f"/sites/{site_id}/tasks",
        data={"kind": "fingerprint"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert panel.status_code == 200 and 'id="tasks"' in panel.text
    end = time.monotonic() + DEADLINE
    while 'hx-trigger="every 2s"' in panel.text:
        assert time.monotonic() < end, panel.text
        time.sleep(0.05)
        panel = tom.get(f"/sites/{site_id}/tasks", headers={"HX-Request": "true"})
    assert "HTTP 200" in panel.text and "Check now" in panel.text
    assert tom.post(f"/sites/{site_id}/tasks", data={"kind": "check"}).status_code == 403
    unknown = tom.post(f"/sites/{site_id}/tasks", data={"kind": "restore", "csrf_token": csrf})
    assert unknown.status_code == 400
    alice = login(live.base, "alice@acme.example")
    assert 'id="tasks"' not in alice.get(f"/sites/{site_id}").text
    assert alice.get(f"/sites/{site_id}/tasks").status_code == 404


@pytest.fixture
def sqlite_live(sqlite_db: Database, tmp_path: Path) -> Iterator[tuple[Live, World]]:
    """The dashboard over a seeded SQLite store (for tests not about the dialect)."""
    world = seed(sqlite_db)
    server = Live(sqlite_db, tmp_path / "home")
    yield server, world
    server.stop()


CHROMIUM = Path("/usr/bin/chromium")


def test_check_now_in_a_browser(
    sqlite_live: tuple[Live, World], sqlite_db: Database, tmp_path: Path
) -> None:
    """A real click: htmx posts the button's action, and the panel polls until it is done."""
    if not CHROMIUM.exists():
        if REQUIRE:
            pytest.fail("needs Debian's chromium", pytrace=False)
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    live, world = sqlite_live
    running = Worker(sqlite_db, tmp_path / "home", live)
    try:
        made = api(live, world).post(
            "/api/sites", json={"url": running.base + "/", "client_id": world.acme}
        )
        site_id = made.json()["id"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(f"{live.base}/login")
            page.get_by_label("E-mail address").fill("tom@agency.example")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{live.base}/sites/{site_id}")
            expect(page.get_by_role("button", name="Back up now")).to_be_disabled()
            page.get_by_role("button", name="Check now").click()
            panel = page.locator("#tasks")
            expect(panel.get_by_text("up · HTTP 200")).to_be_visible(timeout=DEADLINE * 1000)
            expect(panel.get_by_role("link", name="Reload the page")).to_be_visible()
            assert page.url.endswith(f"/sites/{site_id}"), "htmx swapped the panel in place"
            browser.close()
    finally:
        running.stop()


def test_catalogue_tasks_import_advisories_and_poll_feeds(
    live: Live, world: World, worker: Worker
) -> None:
    client = api(live, world)
    sample = (ADVISORY / "DRUPAL-CORE-2020-012.json").read_bytes()
    upload = client.post(
        "/api/advisories/import", files={"file": ("advisory.json", sample, "application/json")}
    )
    uploaded = finished(client, accepted(upload))
    assert uploaded["status"] == "ok", uploaded
    assert uploaded["result"]["advisories"] == 1
    assert list(upload_dir(worker.home).iterdir()) == [], "the upload is removed once imported"
    by_url = client.post("/api/advisories/import", json={"url": worker.base + "/advisories.json"})
    fetched = finished(client, accepted(by_url))
    assert fetched["status"] == "ok", fetched
    assert fetched["result"]["changed"] == ["DRUPAL-CORE-2023-005"]
    ids = {a["id"] for a in client.get("/api/advisories").json()}
    assert {"DRUPAL-CORE-2020-012", "DRUPAL-CORE-2023-005"} <= ids
    polled = finished(client, accepted(client.post("/api/feeds/poll")))
    assert polled["status"] == "ok", polled
    assert polled["result"]["errors"], "the loopback feed has nothing: each package says why"
    # Bad requests are refused before anything is queued.
    local = client.post("/api/advisories/import", json={"url": "file:///etc/passwd"})
    assert local.status_code == 422
    assert local.json()["error"]["code"] == "invalid_request"
    wrong = client.post(
        "/api/advisories/import", content=b"x", headers={"content-type": "text/xml"}
    )
    assert wrong.status_code == 415
    assert (
        client.get("/api/tasks", params={"kind": "advisories-import"}).json()["meta"]["total"] == 2
    )


def test_a_double_click_queues_one_task(live: Live, world: World) -> None:
    """No worker here: the first backup stays queued, and the second request gets it back."""
    client = api(live, world)
    site_id = world.acme_sites[0]
    first = client.post(f"/api/sites/{site_id}/backups")
    second = client.post(f"/api/sites/{site_id}/backups")
    assert accepted(first) == accepted(second)
    assert second.json()["status"] == "queued"
    other = client.post(f"/api/sites/{site_id}/drills", json={"snapshot": "abcdef12"})
    assert accepted(other) != accepted(first)
    assert other.json()["params"] == {"snapshot": "abcdef12"}
    bad = client.post(f"/api/sites/{site_id}/drills", json={"snapshot": "../../etc"})
    assert bad.status_code == 422
    queued = client.get("/api/tasks", params={"status": "queued"}).json()
    assert queued["meta"]["total"] == 2
    assert client.get("/api/tasks", params={"status": "bogus"}).status_code == 422
    assert client.get("/api/tasks/999999").status_code == 404


def test_who_may_do_what(live: Live, world: World) -> None:
    alice = login(live.base, "alice@acme.example")
    own = world.acme_sites[0]
    headers = {"X-CSRF-Token": csrf_of(alice)}
    # A client user sees her site, but its actions and the task list "do not exist" for her.
    assert alice.post(f"/api/sites/{own}/check", headers=headers).status_code == 404
    assert alice.get("/api/tasks").status_code == 404
    assert alice.get("/api/backup-repositories").status_code == 404
    tom = login(live.base, "tom@agency.example")
    headers = {"X-CSRF-Token": csrf_of(tom)}
    in_place = tom.post(f"/api/sites/{own}/restore", json={"in_place": True}, headers=headers)
    assert in_place.status_code == 403, in_place.text
    to_dir = tom.post(f"/api/sites/{own}/restore", json={"to": "before-update"}, headers=headers)
    assert to_dir.status_code == 202, to_dir.text
    assert to_dir.json()["requested_by"] == world.tech
    escape = tom.post(f"/api/sites/{own}/fingerprint")  # no CSRF token with the cookie
    assert escape.status_code == 403
    assert tom.get("/api/backup-repositories").status_code == 403


def test_backup_repositories_never_show_secrets(live: Live, world: World, tmp_path: Path) -> None:
    client = api(live, world)
    assert client.get("/api/backup-repositories").json() == []
    agency = client.put(
        "/api/backup-repositories", json={"kind": "local", "location": str(tmp_path / "repo")}
    )
    assert agency.status_code == 200, agency.text
    s3 = client.put(
        "/api/backup-repositories",
        json={
            "client_id": world.acme,
            "kind": "s3",
            "location": "http://127.0.0.1:9000/bucket/acme",
            "s3_access_key_id": "AKIAEXAMPLE",
            "s3_secret_access_key": "very-secret-key",
        },
    )
    assert s3.status_code == 200, s3.text
    listing = client.get("/api/backup-repositories")
    assert "very-secret-key" not in listing.text and "AKIAEXAMPLE" not in listing.text
    rows = listing.json()
    assert [(r["client"], r["kind"]) for r in rows] == [(None, "local"), ("Acme Corp", "s3")]
    assert rows[1]["location"] == "s3:http://127.0.0.1:9000/bucket/acme"
    relative = client.put("/api/backup-repositories", json={"kind": "local", "location": "x"})
    assert relative.status_code == 422
    nobody = client.put(
        "/api/backup-repositories",
        json={"client_id": 999999, "kind": "local", "location": str(tmp_path)},
    )
    assert nobody.status_code == 422


CSV = "url,name,client,tags\nhttps://new-one.example,new-one,Acme Corp,shop;eu\n"


def test_sites_import_csv_and_json(live: Live, world: World) -> None:
    client = api(live, world)
    csv = {"content-type": "text/csv"}
    dry = client.post("/api/sites/import", content=CSV, headers=csv, params={"dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "dry_run": True,
        "added_names": ["new-one"],
        "updated_names": [],
    }
    assert client.get("/api/sites").json()["meta"]["total"] == 4, "a dry run changes nothing"
    done = client.post("/api/sites/import", content=CSV, headers=csv).json()
    assert (done["added"], done["dry_run"]) == (1, False)
    again = client.post("/api/sites/import", content=CSV, headers=csv).json()
    assert again["unchanged"] == 1
    # JSON: absent keys keep their value, lists are lists; every bad item is named.
    rows = {"sites": [{"url": "https://new-one.example", "name": "new-one", "tags": ["eu"]}]}
    updated = client.post("/api/sites/import", json=rows).json()
    assert updated["updated_names"] == ["new-one"]
    site = next(s for s in client.get("/api/sites").json()["items"] if s["name"] == "new-one")
    assert site["tags"] == ["eu"] and site["client"] == "Acme Corp"
    bad = client.post(
        "/api/sites/import",
        json={
            "sites": [
                {"url": "https://ok.example", "client": world.acme},
                {"url": "ftp://nope", "client": "Acme Corp"},
                {"url": "https://x.example", "client": "Nobody Ltd"},
            ]
        },
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid"
    assert [p.split(":")[0] for p in error["problems"]] == ["item 2", "item 3"]
    assert client.get("/api/sites").json()["meta"]["total"] == 5, "all or nothing"
    shape = client.post("/api/sites/import", json={"sites": [{"link": "x"}]})
    assert shape.status_code == 422 and shape.json()["error"]["code"] == "invalid_request"
    header = client.post("/api/sites/import", content="link\nx\n", headers=csv)
    assert header.status_code == 422 and "unknown column" in header.json()["error"]["message"]


# --- the real WordPress sites: one inventory of wp1 (read-only), one backup of wp2 -------------


@pytest.fixture
def real_live(
    sqlite_db: Database, tmp_path: Path, real_wp_sites: list[dict[str, Any]]
) -> Iterator[tuple[Live, World, dict[str, int]]]:
    world = seed(sqlite_db)
    vault = Vault.from_home(tmp_path / "home")
    ids = {s["name"]: add_wp_site(sqlite_db, vault, s) for s in real_wp_sites[:2]}
    server = Live(sqlite_db, tmp_path / "home")
    yield server, world, ids
    server.stop()


@pytest.mark.realsites
def test_real_wordpress_inventory_and_backup_through_the_api(
    real_live: tuple[Live, World, dict[str, int]], sqlite_db: Database, tmp_path: Path
) -> None:
    live, world, ids = real_live
    running = Worker(sqlite_db, tmp_path / "home", live)
    try:
        client = api(live, world)
        inventory = finished(client, accepted(client.post(f"/api/sites/{ids['wp1']}/inventory")))
        assert inventory["status"] == "ok", inventory
        assert (inventory["result"]["cms"], inventory["result"]["version"]) == (
            "wordpress",
            "6.1.9",
        )
        assert inventory["result"]["extensions"]
        assert inventory["result"]["summary"].startswith("wordpress 6.1.9 · ")
        software = client.get(f"/api/sites/{ids['wp1']}/inventory").json()
        assert software["cms"] == "wordpress"
        backup = finished(
            client, accepted(client.post(f"/api/sites/{ids['wp2']}/backups")), deadline=300
        )
        assert backup["status"] == "ok", backup
        assert backup["result"]["ok"] is True and backup["result"]["snapshot"]
        short = backup["result"]["snapshot"][:8]
        assert backup["result"]["summary"].startswith(f"snapshot {short} · ")
        runs = client.get(f"/api/sites/{ids['wp2']}/backups").json()
        assert runs[0]["snapshot"] == backup["result"]["snapshot"]
        assert runs[0]["reason"] == "manual"
    finally:
        running.stop()
