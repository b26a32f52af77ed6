"""A separately installed plugin distribution is used end to end, with no file of ours changed.

``tests/plugins/dist`` is a tiny distribution (a ``tcp-echo`` probe and a
``filelog`` notifier) registered under the ``sitekeeper.plugins`` entry-point
group. The test packs it as a wheel and pip-installs it (offline: no index, no
build backend) into a site-packages directory of its own on the path of fresh
interpreters — so discovery really runs — that add sites of that check kind and a
client whose alert URL is of the notifier's scheme (both validated by the plugin's kinds),
check them through the engine and ``sitekeeper check``, and deliver the alert
through the plugin's channel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socketserver
import subprocess
import sys
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sitekeeper.store.database import Database

DIST = Path(__file__).parent / "dist"


def build_wheel(source: Path, out: Path) -> Path:
    """A wheel of the distribution in ``source`` (its pyproject's name, version, modules and
    entry points), packed here: no build backend or network is needed to install it."""
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    meta = project["project"]
    name, version = meta["name"].replace("-", "_"), meta["version"]
    info = f"{name}-{version}.dist-info"
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
        for group, points in meta["entry-points"].items()
    )
    files = {
        f"{module}.py": (source / f"{module}.py").read_bytes()
        for module in project["tool"]["setuptools"]["py-modules"]
    }
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {version}\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: sitekeeper-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture
def plugin_site(tmp_path: Path) -> Path:
    """A site-packages directory with the plugin distribution pip-installed into it.

    Its own directory rather than the test venv: a shared venv would hand the plugin
    to every other test run at the same time (and a concurrent run's clean-up would
    take it away mid-test). The interpreters of the test see it through PYTHONPATH,
    which Python scans for distributions and entry points like site-packages.
    """
    wheel = build_wheel(DIST, tmp_path)
    target = tmp_path / "site-packages"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", "--target", target, wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


class _Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(self.rfile.readline())


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A real TCP echo service on loopback."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


ENGINE_RUN = """
import asyncio, json, sys, time
from datetime import UTC, datetime

from sqlalchemy import select

from sitekeeper.config import load_settings
from sitekeeper.engine.service import Service
from sitekeeper.notify.registry import check_url
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.clients import add_client
from sitekeeper.store.database import Database
from sitekeeper.store.jobs import Claim
from sitekeeper.store.sites import SiteFields, add_site
from sitekeeper.store.tables import Notification, SiteState

port = int(sys.argv[1])
settings = load_settings()
db = Database(settings.resolved_database_url)
service = Service(settings, db, software_intel=False, backups=False)
ids = {}
with db.session() as s:
    # The plugin's kinds as a user gives them: a client alert URL of its notifier's
    # scheme, sites of its probe's kind with that probe's options (both validated).
    client = add_client(s, service.vault, name="acme", alert_urls=[sys.argv[2]],
                        check_url=check_url)
    for name, expect in (("echo-ok", "ping"), ("echo-bad", "pong")):
        fields = SiteFields(url=f"http://127.0.0.1:{port}/", name=name, client=client,
                            allow_duplicate=True, probe="tcp-echo",
                            check={"port": port, "expect": expect},
                            check_config=ProbeSet().config)
        site = add_site(s, fields, datetime.now(UTC), default_interval=60)
        ids[name] = site.id


async def main():
    claims = [Claim(job_id=0, site_id=i, due_at=time.time()) for i in ids.values()]
    for claim, target in await service.runner.load(claims):
        await service.runner.run_one(claim, target)
    await service.recorder.flush()
    await service.deliver()
    await service.probe.aclose()
    service.dbthread.close()


asyncio.run(main())
with db.session() as s:
    states = {n: s.get(SiteState, i) for n, i in ids.items()}
    print(json.dumps({
        "up": {n: st.up for n, st in states.items()},
        "detail": {n: st.detail for n, st in states.items()},
        "notifications": [r.status for r in s.scalars(select(Notification))],
    }))
"""


def _env(tmp_path: Path, db: Database | None = None, plugins: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEKEEPER_")}
    if plugins is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    if db is not None:  # the test's own database (SQLite or PostgreSQL), already migrated
        env["SITEKEEPER_DATABASE_URL"] = db.engine.url.render_as_string(hide_password=False)
    env |= {
        "SITEKEEPER_HOME": str(tmp_path / "home"),
        "SITEKEEPER_SECRET_KEY": Fernet.generate_key().decode(),
        "SITEKEEPER_CONFIRM_DELAY": "0",
    }
    return env


def test_an_installed_plugin_probe_and_notifier_are_used_end_to_end(
    tmp_path: Path, echo_port: int, db: Database, plugin_site: Path
) -> None:
    env = _env(tmp_path, db, plugin_site)
    run = subprocess.run(
        [sys.executable, "-c", ENGINE_RUN, str(echo_port), f"filelog://{tmp_path / 'alerts.log'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    # The plugin's probe checked both sites, and its verdicts were recorded.
    assert seen["up"] == {"echo-ok": True, "echo-bad": False}
    assert seen["detail"]["echo-bad"] == "echo said 'ping'"
    # The outage's alert went out through the plugin's notifier, picked by the URL scheme.
    assert seen["notifications"] == ["sent"]
    alerts = (tmp_path / "alerts.log").read_text(encoding="utf-8")
    assert "DOWN: echo-bad" in alerts
    assert "echo-ok" not in alerts

    # `sitekeeper check` of a registered site uses the site's kind of probe too.
    check = subprocess.run(
        [sys.executable, "-m", "sitekeeper", "check", "--json", "echo-ok", "echo-bad"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert check.returncode == 1, check.stderr  # one of them is down
    assert [r["up"] for r in json.loads(check.stdout)] == [True, False], check.stdout


def test_without_the_plugin_its_check_kind_is_a_failed_check_saying_so(tmp_path: Path) -> None:
    program = (
        "import asyncio, json\n"
        "from sitekeeper.probes.registry import ProbeSet\n"
        "r = asyncio.run(ProbeSet().check('tcp-echo', 'http://127.0.0.1:9/', {'port': 9}))\n"
        "print(json.dumps(r.to_json()))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["up"] is False
    assert "unknown probe kind 'tcp-echo'" in result["detail"]
