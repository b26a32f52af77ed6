"""Is the dashboard still responsive while `sitekeeper serve` checks 10,000 sites every 60 s?

The real thing, end to end: the fleet simulator serves N loopback sites, a
fresh SITEKEEPER_HOME imports them, and one `sitekeeper serve` process runs the
engine (about 170 checks/s at 10,000 sites) and the web UI in the same event
loop, as a user runs it. After a warm-up (the first round of checks spreads
over one interval), for ``--duration`` seconds ``--viewers`` dashboards poll
the fleet table (htmx, every ``--poll`` s) while one technician clicks: fleet
page with filters, a site's detail, the API list. Reported: request latency
p50/p95/max per kind, and the checks/s the engine kept meanwhile (from its
STATS lines), which must not drop because people look at the dashboard.

    .venv/bin/python bench/web_under_load.py [--sites 10000] [--duration 120]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, start_simulator
from serve_fleet import sk, start_serve
from web_bench import free_port

EMAIL, PASSWORD = "bench@agency.example", "benchmark password"


def _login(base: str) -> httpx.Client:
    """A browser-like client with a session cookie (the UI), via the real login form."""
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=True)
    form = client.get("/login").text
    csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf})
    client.get("/").raise_for_status()
    return client


class Recorder:
    """Latencies per request kind, from several threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors = 0

    def timed(self, client: httpx.Client, kind: str, path: str) -> None:
        start = time.perf_counter()
        try:
            client.get(path, headers={"HX-Request": "true"} if kind == "poll" else {})
            ok = True
        except httpx.HTTPError:
            ok = False
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            if ok:
                self.times.setdefault(kind, []).append(elapsed)
            else:
                self.errors += 1


def _viewer(base: str, rec: Recorder, stop: threading.Event, poll: float) -> None:
    """A dashboard on a second screen: polls the table the way the page's htmx does."""
    client = _login(base)
    while not stop.is_set():
        rec.timed(client, "poll", "/fleet/rows")
        stop.wait(poll)


def _technician(base: str, token: str, rec: Recorder, stop: threading.Event, sites: int) -> None:
    """Someone at work: filters the fleet, opens sites, scripts call the API."""
    client = _login(base)
    api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
    rng = random.Random(3)
    pages = ["/", "/?state=problems", "/?state=down", "/?q=site-01", "/?sort=response&desc=1"]
    while not stop.is_set():
        rec.timed(client, "fleet page", rng.choice(pages))
        rec.timed(client, "site detail", f"/sites/{rng.randint(1, sites)}")
        rec.timed(api, "API list", f"/api/sites?page={rng.randint(1, 50)}")


def _engine(samples: list[dict[str, float]], since: float) -> tuple[float, float]:
    """Checks/s and worst scheduling lag p99 over the STATS lines logged since ``since``."""
    window = [s for s in samples if s["t"] >= since]
    if len(window) < 2:
        return float("nan"), float("nan")
    first, last = window[0], window[-1]
    rate = (last["checks_total"] - first["checks_total"]) / (last["t"] - first["t"])
    return rate, max(s["lag_p99_ms"] for s in window[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--interval", default="60")
    parser.add_argument("--warmup", type=float, default=75.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between table polls")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-web-load-"))
    home, ca, manifest = work / "home", work / "ca.pem", work / "sites.csv"
    sim = start_simulator(
        "--sites", str(args.sites), "--latency", "20-200", "--https-fraction", "0.3",
        "--fail-rate", "0.02", "--ca", str(ca), "--manifest", str(manifest), "--client", "Bench",
    )  # fmt: skip
    port = free_port()
    env = dict(
        os.environ,
        SITEKEEPER_HOME=str(home),
        SSL_CERT_FILE=str(ca),
        SITEKEEPER_WEB_PORT=str(port),
    )
    env.pop("SITEKEEPER_DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"
    try:
        sk(env, "plan", "add", "Bench", "--check-interval", args.interval)
        sk(env, "client", "add", "Bench")
        sk(env, "contract", "add", "--client", "Bench", "--plan", "Bench")
        sk(env, "site", "import", str(manifest))
        password_file = work / "password"
        password_file.write_text(PASSWORD + "\n")
        sk(env, "user", "add", EMAIL, "--role", "admin", "--password-file", str(password_file))
        token = sk(env, "user", "token", EMAIL, "--name", "bench").strip().split()[-1]
        serve = start_serve(env, 10.0)
        try:
            print(f"warm-up {args.warmup:.0f} s (first round of checks)", flush=True)
            if serve.proc.poll() is None:
                time.sleep(args.warmup)  # measurement schedule, not synchronisation
            rec, stop = Recorder(), threading.Event()
            started = time.time()
            workers = [
                threading.Thread(target=_viewer, args=(base, rec, stop, args.poll), daemon=True)
                for _ in range(args.viewers)
            ]
            workers.append(
                threading.Thread(
                    target=_technician, args=(base, token, rec, stop, args.sites), daemon=True
                )
            )
            for w in workers:
                w.start()
            stop.wait(args.duration)
            stop.set()
            for w in workers:
                w.join(60)
            rate, lag = _engine([s.stats for s in serve.samples], started)
        finally:
            serve.stop()
    finally:
        sim.stop()
    print(f"\n{args.sites} sites, {args.viewers} dashboards polling every {args.poll:.0f} s "
          f"+ 1 technician, {args.duration:.0f} s")  # fmt: skip
    print(f"{'request':14} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, values in sorted(rec.times.items()):
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"{kind:14} {len(values):6d} {statistics.median(values):8.1f} {p95:8.1f} "
              f"{ordered[-1]:8.1f}")  # fmt: skip
    print(f"errors: {rec.errors}")
    print(f"engine meanwhile: {rate:.1f} checks/s (170 needed at 10,000 sites / 60 s), "
          f"scheduling lag p99 up to {lag:.0f} ms")  # fmt: skip
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()
