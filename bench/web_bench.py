"""Dashboard latency at fleet scale: the fleet page and the API site list, over HTTP.

Builds a database of N sites (default 10,000) with states, tags and open
incidents, serves the real app with uvicorn on loopback, and times requests
(server time as the client sees it on loopback) for a set of filters.
Targets: fleet page p95 < 300 ms, API site list p95 < 100 ms.

    .venv/bin/python bench/web_bench.py --sites 10000 --rounds 20
    .venv/bin/python bench/web_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import random
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
from sitekeeper.store import users
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Incident, Site, SiteState, SiteTag
from sitekeeper.web.app import create_app
from sitekeeper.web.server import serve_web

TAGS = ["wordpress", "joomla", "drupal", "shop", "critical", "legacy", "staging", "eu", "us"]
CMS = [("wordpress", "6.7.1"), ("wordpress", "6.4.3"), ("joomla", "5.2.1"), ("drupal", "10.3.6")]


def build(db: Database, sites: int, seed: int = 7) -> str:
    """N sites across 200 clients: 3 % down with an open incident, 2 % certificate soon."""
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
        site_rows, state_rows, tag_rows, incident_rows = [], [], [], []
        for i in range(1, sites + 1):
            cms, version = rng.choice(CMS)
            site_rows.append(
                {
                    "id": i,
                    "name": f"site-{i:05d}.example",
                    "url": f"https://site-{i:05d}.example/",
                    "client_id": 1 + i % 200,
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
        conn.execute(insert(Site), site_rows)
        conn.execute(insert(SiteState), state_rows)
        conn.execute(insert(SiteTag), tag_rows)
        conn.execute(insert(Incident), incident_rows)
        if db.dialect == "postgresql":
            conn.execute(text("ANALYZE"))
    with db.session() as session:
        admin = users.add_user(
            session,
            email="bench@agency.example",
            role="admin",
            password="benchmark password",
            client=None,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
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
        ("fleet rows partial (htmx poll)", "/fleet/rows"),
        ("API sites, page 1", "/api/sites?per_page=50"),
        ("API sites, page 100", "/api/sites?page=100&per_page=50"),
        ("API sites, tag + state", "/api/sites?tag=shop&state=problems"),
        ("API sites, text", "/api/sites?q=site-09"),
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
    print(f"command: {command_line()}")
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    db.dispose()


if __name__ == "__main__":
    main()
