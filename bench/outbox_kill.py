"""Alert delivery under kill -9: how often an alert whose deliverer dies is sent twice.

Each round queues ``--alerts`` alerts to a loopback webhook and starts a deliverer
process (``notify.outbox.deliver_due`` in a loop, as a scheduler's delivery loop does),
kills it with SIGKILL once the webhook has received a random share of them, then lets a
second deliverer finish them once the dead one's claims have lapsed (its clock is moved
past ``CLAIM_LEASE`` instead of waiting for it). Counted per round: alerts the webhook got
twice (the sender died after the channel had the message and before the outcome was
stored), alerts it never got (must be none), and rows claimed but unfinished at the kill.
``--latency-ms`` delays the webhook's answer after it has the message, which is what
widens the window on a real channel.

    .venv/bin/python bench/outbox_kill.py [--rounds 20] [--alerts 100] [--latency-ms 0]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from _common import command_line
from aiohttp import web

from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.notify import outbox
from sitekeeper.notify.registry import Notifiers
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault

LOOPBACK = ["loopback"]
WARM_UP = 20  # alerts each new deliverer sends before the measured ones


class Webhook:
    """The channel: counts POSTs by title; answers after ``latency`` seconds."""

    def __init__(self, latency: float) -> None:
        self.got: Counter[str] = Counter()
        self.latency = latency
        self.port = 0
        self._lock = threading.Lock()
        ready = threading.Event()
        threading.Thread(target=asyncio.run, args=(self._serve(ready),), daemon=True).start()
        ready.wait(30)

    async def _serve(self, ready: threading.Event) -> None:
        async def receive(request: web.Request) -> web.Response:
            title = str((await request.json()).get("title"))
            with self._lock:
                self.got[title] += 1
            if self.latency:
                await asyncio.sleep(self.latency)
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.port = runner.addresses[0][1]
        ready.set()
        await asyncio.Event().wait()

    def received(self, prefix: str) -> int:
        with self._lock:
            return sum(n for t, n in self.got.items() if t.startswith(prefix))


def sender() -> Notifiers:
    return Notifiers(egress=EgressPolicy.public_only(LOOPBACK))


async def deliver_forever(url: str, home: Path) -> None:
    """The child: a deliverer that never stops by itself."""
    db, vault = Database(url, migrate=False), Vault.from_home(home)
    notifiers = sender()
    while True:
        report = await outbox.deliver_due(db, vault, now=datetime.now(UTC), sender=notifiers)
        if not (report.sent or report.retrying or report.failed):
            await asyncio.sleep(0.02)


def queue(db: Database, vault: Vault, hook: str, prefix: str, count: int) -> None:
    with db.session() as s:
        for i in range(count):
            outbox.enqueue(
                s,
                urls=[hook],
                title=f"{prefix}{i}",
                body="b",
                event_id=None,
                vault=vault,
                now=datetime.now(UTC),
            )


def all_sent(db: Database) -> bool:
    with db.engine.connect() as conn:
        return not conn.scalar(sa.text("SELECT count(*) FROM notifications WHERE status <> 'sent'"))


def in_flight(db: Database) -> int:
    """Rows claimed by a deliverer and without an outcome yet."""
    with db.engine.connect() as conn:
        found = conn.scalar(
            sa.text("SELECT count(*) FROM notifications WHERE status = 'pending' AND attempts > 0")
        )
        return int(found or 0)


def finish(db: Database, vault: Vault) -> None:
    """A second deliverer, once the dead one's claims have lapsed."""
    later = datetime.now(UTC) + outbox.CLAIM_LEASE + timedelta(seconds=1)
    while asyncio.run(outbox.deliver_due(db, vault, now=later, sender=sender())).sent:
        pass


def one_round(
    args: argparse.Namespace, db: Database, vault: Vault, home: Path, hook: Webhook, n: int
) -> tuple[int, int, int, int]:
    """(received before the kill, in flight at the kill, received twice, never received)."""
    prefix, url = f"r{n}-", f"json://127.0.0.1:{hook.port}/hook"
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", db.url, str(home)],
        cwd=Path(__file__).parent,
    )
    # Warm it up first (imports, connections), as a scheduler that has been running is.
    queue(db, vault, url, f"warm{n}-", WARM_UP)
    deadline = time.monotonic() + 120
    while not all_sent(db) and child.poll() is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the deliverer did not warm up within 2 minutes")
        time.sleep(0.01)
    queue(db, vault, url, prefix, args.alerts)
    target = random.randint(1, args.alerts - 1)
    while hook.received(prefix) < target and child.poll() is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the deliverer sent nothing for 2 minutes")
        time.sleep(0.0005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before, flying = hook.received(prefix), in_flight(db)
    finish(db, vault)
    counts = [hook.got[f"{prefix}{i}"] for i in range(args.alerts)]
    return before, flying, sum(c == 2 for c in counts), sum(c == 0 for c in counts)


def main() -> None:
    parser = argparse.ArgumentParser(prog="outbox_kill.py", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=100, help="alerts queued per round")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="webhook answer delay")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL"
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(deliver_forever(args.child[0], Path(args.child[1])))
        return
    print(command_line(), flush=True)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{args.database_url}?options=-csearch_path%3D{schema}")
    home = Path(tempfile.mkdtemp(prefix="bench-outbox-kill-"))
    vault = Vault.from_home(home)
    hook = Webhook(args.latency_ms / 1000)
    totals = Counter[str]()
    try:
        print("round  received-before-kill  in-flight-at-kill  twice  never", flush=True)
        for n in range(args.rounds):
            before, flying, twice, never = one_round(args, db, vault, home, hook, n)
            totals.update(before=before, flying=flying, twice=twice, never=never)
            print(f"{n:5d}  {before:20d}  {flying:17d}  {twice:5d}  {never:5d}", flush=True)
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(
        f"{args.rounds} kills, {args.rounds * args.alerts} alerts: {totals['flying']} in flight "
        f"at the kills, {totals['twice']} received twice, {totals['never']} never received "
        f"(webhook latency {args.latency_ms:g} ms; pid {os.getpid()})"
    )


if __name__ == "__main__":
    main()
