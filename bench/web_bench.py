"""Dashboard latency at fleet scale: the fleet page and the API site list, over HTTP.

Builds a database of N sites (default 10,000) with states, tags, open
incidents, open findings (updates, security updates, vulnerabilities) and two
weeks of backup runs, serves the real app with uvicorn on loopback, and times
requests (server time as the client sees it on loopback) for a set of filters.
Targets: fleet page p95 < 300 ms, API site list p95 < 100 ms.

With ``--browser``, it also drives Debian's Chromium headless (Playwright, no
browser download) through the login form ``--browser-runs`` times and reports
the time from submitting the form until the fleet table's first row is visible,
and from choosing a filter until the filtered table is in place. Target < 1 s.

    .venv/bin/python bench/web_bench.py --sites 10000 --rounds 20
    .venv/bin/python bench/web_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/web_bench.py --browser --browser-runs 10
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line

from sitekeeper.config import Settings
from sitekeeper.store import site_summary, users
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Client, Contract, Incident, Plan, Site, SiteState, SiteTag
from sitekeeper.web.app import create_app
from sitekeeper.web.server import serve_web

TAGS = ["wordpress", "joomla", "drupal", "shop", "critical", "legacy", "staging", "eu", "us"]
CMS = [("wordpress", "6.7.1"), ("wordpress", "6.4.3"), ("joomla", "5.2.1"), ("drupal", "10.3.6")]
PLUGINS = ["woocommerce", "akismet", "yoast-seo", "contact-form-7", "elementor", "wpforms"]
CHROMIUM = Path("/usr/bin/chromium")
# As tests/web/test_browser.py launches it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL, ADMIN_PASSWORD = "bench@agency.example", "benchmark password"


def _plans_and_contracts(now: datetime) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """A plan without and one with daily backups; every client has a contract on one."""
    plans = [
        {"id": 1, "name": "Monitor", "options": {}, "created_at": now},
        {"id": 2, "name": "Care", "options": {"backup": "daily"}, "created_at": now},
    ]
    contracts: list[dict[str, object]] = [
        {
            "id": i,
            "client_id": i,
            "plan_id": 2 if i % 4 else 1,
            "start": now.date() - timedelta(days=365),
            "created_at": now,
        }
        for i in range(1, 201)
    ]
    return plans, contracts


def _findings(rng: random.Random, site: int, now: datetime) -> list[dict[str, object]]:
    """0-4 pending updates (15 % of them security) and, on 2 % of sites, a vulnerability."""
    rows: list[dict[str, object]] = []
    for plugin in rng.sample(PLUGINS, rng.randint(0, 4)):
        security = rng.random() < 0.15
        rows.append(_finding(site, "update", plugin, now, security=security))
    if rng.random() < 0.02:
        rows.append(_finding(site, "vulnerability", "contact-form-7", now, advisory="WF-1"))
    return rows


def _finding(
    site: int, kind: str, plugin: str, now: datetime, *, security: bool = False, advisory: str = ""
) -> dict[str, object]:
    return {
        "site_id": site,
        "key": f"{kind}:wordpress:plugin:{plugin}{':' + advisory if advisory else ''}",
        "kind": kind,
        "ecosystem": "wordpress",
        "type": "plugin",
        "package": plugin,
        "installed": "1.0.0",
        "latest": "1.1.0" if kind == "update" else None,
        "advisory_id": advisory or None,
        "security": security or kind == "vulnerability",
        "certainty": "certain",
        "basis": "inventory",
        "data": {},
        "opened_at": now - timedelta(days=2),
    }


def _backup_runs(rng: random.Random, site: int, now: datetime) -> list[dict[str, object]]:
    """Two weeks of nightly runs on 75 % of sites; 2 % of those failed last night."""
    if site % 4 == 0:
        return []
    failed_last = rng.random() < 0.02
    rows: list[dict[str, object]] = []
    for back in range(14, 0, -1):
        started = now - timedelta(days=back - 1, hours=rng.randint(1, 5))
        ok = not (failed_last and back == 1)
        rows.append(
            {
                "site_id": site,
                "reason": "scheduled",
                "status": "ok" if ok else "failed",
                "started_at": started,
                "finished_at": started + timedelta(seconds=40),
                "snapshot_id": hashlib.sha256(f"{site}/{back}".encode()).hexdigest()
                if ok
                else None,
                "files": 20_000 if ok else None,
                "bytes_added": rng.randint(1, 50) * 1_000_000 if ok else None,
                "duration": 40.0,
                "error": None if ok else "ssh: connection refused",
            }
        )
    return rows


def build(db: Database, sites: int, seed: int = 7) -> str:
    """N sites across 200 clients: 3 % down with an open incident, 2 % certificate soon,
    open findings on most sites, nightly backups on 75 %."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Client),
            [
                {
                    "id": i,
                    "name": f"Client {i:03d}",
                    "language": "en",
                    "alert_urls": [],
                    "created_at": now,
                }
                for i in range(1, 201)
            ],
        )
        plans, contracts = _plans_and_contracts(now)
        conn.execute(insert(Plan), plans)
        conn.execute(insert(Contract), contracts)
        site_rows, state_rows, tag_rows, incident_rows = [], [], [], []
        finding_rows: list[dict[str, object]] = []
        run_rows: list[dict[str, object]] = []
        for i in range(1, sites + 1):
            cms, version = rng.choice(CMS)
            site_rows.append(
                {
                    "id": i,
                    "name": f"site-{i:05d}.example",
                    "url": f"https://site-{i:05d}.example/",
                    "client_id": 1 + i % 200,
                    "contract_id": 1 + i % 200,
                    "check_options": {},
                    "cms": cms,
                    "cms_version": version,
                    "paused": i % 97 == 0,
                    "created_at": now,
                }
            )
            down = rng.random() < 0.03
            state_rows.append(
                {
                    "site_id": i,
                    "up": not down,
                    "since": now - timedelta(hours=rng.randint(1, 900)),
                    "checked_at": now - timedelta(seconds=rng.randint(0, 300)),
                    "status": 503 if down else 200,
                    "error": "http_status" if down else None,
                    "response_ms": rng.randint(80, 1500),
                    "tls_expires": now + timedelta(days=rng.choice([3, 10, 40, 60, 80])),
                }
            )
            if down:
                incident_rows.append(
                    {
                        "site_id": i,
                        "kind": "down",
                        "cause": "http_status: 503",
                        "opened_at": now - timedelta(minutes=rng.randint(1, 600)),
                        "alerts_sent": 1,
                    }
                )
            for tag in rng.sample(TAGS, 2):
                tag_rows.append({"site_id": i, "tag": tag})
            finding_rows.extend(_findings(rng, i, now))
            run_rows.extend(_backup_runs(rng, i, now))
        conn.execute(insert(Site), site_rows)
        conn.execute(insert(SiteState), state_rows)
        conn.execute(insert(SiteTag), tag_rows)
        conn.execute(insert(Incident), incident_rows)
        conn.execute(insert(Finding), finding_rows)
        conn.execute(insert(BackupRun), run_rows)
    with db.session() as session:
        # Rows were inserted in bulk, past the writers: build the fleet summary they keep.
        site_summary.reconcile(session)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with db.session() as session:
        admin = users.add_user(
            session,
            email=ADMIN_EMAIL,
            role="admin",
            password=ADMIN_PASSWORD,
            client_id=None,
            now=now,
        )
        token, _ = users.create_token(session, admin, "bench", now)
    return token


def serve(
    db: Database, home: Path, port: int
) -> tuple[threading.Thread, asyncio.AbstractEventLoop, asyncio.Event]:
    """The app on 127.0.0.1:port in a thread; returns what is needed to stop it."""
    app = create_app(db, Settings(home=home, database_url=db.url))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def main() -> None:
        started = asyncio.Event()
        waiter = asyncio.ensure_future(started.wait())
        waiter.add_done_callback(lambda _: ready.set())
        await serve_web(app, "127.0.0.1", port, stop, ready=started)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        raise SystemExit("the server did not start")
    return thread, loop, stop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(client: httpx.Client, path: str, rounds: int) -> list[float]:
    """Milliseconds per request, after one warm-up request."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def browser_runs(base: str, runs: int) -> dict[str, list[float]]:
    """Milliseconds from submitting the login form to the fleet's first row, and from
    choosing a filter to the filtered table, in a fresh browser context per run."""
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - optional

    if not CHROMIUM.exists():
        raise SystemExit("--browser needs Debian's chromium (apt-get install chromium)")
    times: dict[str, list[float]] = {"login": [], "client filter": [], "issue filter": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # the first run warms caches and is not counted
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            page = context.new_page()
            page.goto(base + "/login")
            page.get_by_label("E-mail address").fill(ADMIN_EMAIL)
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            first_row = page.locator("table.fleet tbody tr").first
            start = time.perf_counter()
            page.get_by_role("button", name="Log in").click()
            first_row.wait_for(state="visible")
            login_ms = (time.perf_counter() - start) * 1000
            expect(page.locator("table.fleet tbody tr")).to_have_count(50)

            # The table is swapped in place; the address bar follows once it is.
            start = time.perf_counter()
            page.get_by_label("Client", exact=True).select_option("17")
            page.wait_for_url(re.compile(r"client=17"))
            client_ms = (time.perf_counter() - start) * 1000
            expect(first_row).to_contain_text("Client 017")

            start = time.perf_counter()
            page.get_by_label("Issue").select_option("vulns")
            page.wait_for_url(re.compile(r"issue=vulns"))
            issue_ms = (time.perf_counter() - start) * 1000
            expect(first_row.locator(".count-vuln")).to_be_visible()
            context.close()
            if run:
                times["login"].append(login_ms)
                times["client filter"].append(client_ms)
                times["issue filter"].append(issue_ms)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    parser.add_argument(
        "--browser", action="store_true", help="also time login and filters in headless Chromium"
    )
    parser.add_argument("--browser-runs", type=int, default=10)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db = Database(args.database_url or f"sqlite:///{home / 'bench.db'}")
    started = time.perf_counter()
    token = build(db, args.sites)
    print(f"built {args.sites} sites on {db.dialect} in {time.perf_counter() - started:.1f}s")
    port = args.port or free_port()
    thread, loop, stop = serve(db, home / "home", port)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    # The fleet page is the cookie-authenticated UI; a bearer token is accepted there too.
    cases = [
        ("fleet page, problems first", "/"),
        ("fleet page 40 (offset 1,950)", "/?page=40"),
        ("fleet, state=down", "/?state=down"),
        ("fleet, client filter", "/?client=17"),
        ("fleet, tag + text", "/?tag=critical&q=site-01"),
        ("fleet, sort by response", "/?sort=response&desc=1"),
        ("fleet, issue=vulns", "/?issue=vulns"),
        ("fleet, issue=backup + client", "/?issue=backup&client=18"),
        ("fleet, sort by updates", "/?sort=updates"),
        ("fleet, sort by backup age", "/?sort=backup"),
        ("fleet, cms=joomla, page 5", "/?cms=joomla&page=5"),
        ("fleet rows partial (htmx poll)", "/fleet/rows"),
        ("API sites, page 1", "/api/sites?per_page=50"),
        ("API sites, page 100", "/api/sites?page=100&per_page=50"),
        ("API sites, tag + state", "/api/sites?tag=shop&state=problems"),
        ("API sites, text", "/api/sites?q=site-09"),
        ("API sites, issue=security", "/api/sites?issue=security"),
    ]
    print(f"{'case':36} {'median ms':>10} {'p95 ms':>8}")
    worst = {"fleet": 0.0, "api": 0.0}
    for label, path in cases:
        times = timed(client, path, args.rounds)
        kind = "api" if path.startswith("/api/") else "fleet"
        worst[kind] = max(worst[kind], p95(times))
        print(f"{label:36} {statistics.median(times):10.1f} {p95(times):8.1f}")
    print(
        f"worst p95: fleet page {worst['fleet']:.1f} ms (target < 300), "
        f"API list {worst['api']:.1f} ms (target < 100)"
    )
    if args.browser:
        print(f"headless Chromium, {args.browser_runs} runs (after one warm-up):")
        print(f"{'from':36} {'median ms':>10} {'p95 ms':>8}")
        for label, values in browser_runs(f"http://127.0.0.1:{port}", args.browser_runs).items():
            what = "login submit -> first row" if label == "login" else f"{label} -> table"
            print(f"{what:36} {statistics.median(values):10.1f} {p95(values):8.1f}")
        print("target: < 1000 ms")
    print(f"command: {command_line()}")
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    db.dispose()


if __name__ == "__main__":
    main()
