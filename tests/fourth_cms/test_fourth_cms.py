"""A fourth CMS, defined only here, goes through everything the three shipped ones do
(issue 15, point 1): no file under ``src/`` knows TinyCMS (``tests/fourth_cms/tinycms.py``).

One agency's day with a TinyCMS site, through the real commands: the site is added
with SSH access; ``fingerprint`` recognises it from outside (a loopback site),
``inventory`` reads its docroot over SSH (a loopback SFTP server), ``feeds poll`` reads
the vendor's release feed and ``advisories import`` the vendor's advisory document
(both on loopback, in TinyCMS's own formats); then ``updates`` and ``vulns`` (JSON and
table), the API and the dashboard's site page show the pending updates and the
vulnerability.

What src still hard-codes, so that a part cannot pass yet, is in
/work/notes/H6-blockers.md; those tests are marked xfail(strict=True) and flip when the
blocker goes.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from sitekeeper.cli.main import app
from sitekeeper.cms.registry import CMSES
from sitekeeper.config import settings
from sitekeeper.intel.advisory_formats import ADVISORY_FORMATS
from sitekeeper.store import users
from sitekeeper.store.database import Database
from tests.conftest import PG_URL
from tests.fourth_cms.servers import tiny_world
from tests.fourth_cms.tinycms import KIND, SOURCE, TinyAdvisories, TinyCms
from tests.services import need
from tests.web.conftest import PASSWORD, Live, login

# The scenario is built once and read by every test: keep them in one worker.
pytestmark = pytest.mark.xdist_group("fourth-cms")

DOCROOT = "/srv/tiny"
HOME_PAGE = b"""<!doctype html><html><head><title>Tiny Bakery</title>
<meta name="generator" content="TinyCMS 1.2.0"></head><body>Fresh bread</body></html>"""
RELEASES = {
    "packages": {
        "core/tinycms": {
            "name": "TinyCMS",
            "latest": "1.3.0",
            "releases": [{"version": "1.2.0"}, {"version": "1.3.0"}],
        },
        "plugin/guestbook": {
            "name": "Guestbook",
            "latest": "1.0.1",
            "releases": [{"version": "0.9.0"}, {"version": "1.0.1", "security": True}],
        },
        "plugin/gallery": {
            "name": "Gallery",
            "latest": "2.0.0",
            "releases": [{"version": "2.0.0"}],
        },
    }
}
ADVISORY = "TINY-2026-0007"
ADVISORIES = {
    "tinycms_advisories": [
        {
            "id": ADVISORY,
            "cve": ["CVE-2026-40007"],
            "title": "Guestbook < 1.0.1: stored XSS in entries",
            "severity": "high",
            "published": "2026-11-30T10:00:00+00:00",
            "package": "guestbook",
            "type": "plugin",
            "fixed": "1.0.1",
        }
    ]
}


@dataclass
class Scenario:
    """What each step answered, and where the web app listens."""

    site_id: int
    steps: dict[str, Result] = field(default_factory=dict)
    live: Live | None = None
    token: str = ""

    def json(self, step: str) -> Any:
        result = self.steps[step]
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    @property
    def base(self) -> str:
        assert self.live is not None
        return self.live.base


def _docroot(root: Path) -> None:
    """A TinyCMS 1.2.0 install with an outdated, vulnerable plugin and a current one."""
    site = root / DOCROOT.lstrip("/")
    (site / "plugins" / "guestbook").mkdir(parents=True)
    (site / "plugins" / "gallery").mkdir(parents=True)
    (site / "tiny-version.txt").write_text("1.2.0\n")
    (site / "plugins" / "guestbook" / "plugin.ini").write_text(
        "name = Guestbook\nversion = 0.9.0\nactive = yes\n"
    )
    (site / "plugins" / "gallery" / "plugin.ini").write_text(
        "name = Gallery\nversion = 2.0.0\nactive = no\n"
    )


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


@contextmanager
def _database_url(dialect: str, home: Path) -> Iterator[str]:
    """The URL the CLI and the web app share: a SQLite file, or a PostgreSQL schema."""
    if dialect == "sqlite":
        yield f"sqlite:///{home / 'sitekeeper.db'}"
        return
    need("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """Every step run once, in order, through the CLI; then the web app over the result."""
    tmp = tmp_path_factory.mktemp("fourth-cms")
    home, chroot = tmp / "home", tmp / "ssh"
    _docroot(chroot)
    with (
        _database_url(request.param, home) as url,
        tiny_world(chroot) as world,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("SITEKEEPER_HOME", str(home))
        env.setenv("SITEKEEPER_DATABASE_URL", url)
        env.setenv("SITEKEEPER_EGRESS_ALLOW", "loopback")  # the vendor listens on loopback
        env.setenv("SITEKEEPER_SITE_EGRESS_ALLOW", "loopback")  # and so does the site
        settings.cache_clear()
        world.web.bodies["/"] = HOME_PAGE
        world.web.bodies["/vendor/releases.json"] = json.dumps(RELEASES).encode()
        world.web.bodies["/vendor/advisories.json"] = json.dumps(ADVISORIES).encode()
        key = tmp / "tiny_key"
        key.write_text(world.client_key)
        CMSES.add(KIND, TinyCms(world.web.url("/vendor")))
        ADVISORY_FORMATS.add(KIND, TinyAdvisories())
        live: Live | None = None
        db: Database | None = None
        try:
            added = _cli("client", "add", "Tiny Bakery")
            assert added.exit_code == 0, added.output
            site = _cli(
                "site", "add", world.web.url("/"), "--client", "Tiny Bakery", "--name", "tiny",
                "--ssh", f"baker@127.0.0.1:{world.ssh_port}", "--key", str(key),
                "--path", DOCROOT, "--paused", "--json",
            )  # fmt: skip
            assert site.exit_code == 0, site.output
            run = Scenario(site_id=json.loads(site.stdout)["id"])
            run.steps["fingerprint"] = _cli("fingerprint", "tiny", "--json")
            run.steps["inventory"] = _cli("inventory", "tiny", "--json")
            run.steps["poll"] = _cli("feeds", "poll", "--json")
            run.steps["import"] = _cli(
                "advisories", "import", world.web.url("/vendor/advisories.json"), "--json"
            )
            for command in ("updates", "vulns"):
                run.steps[f"{command} --json"] = _cli(command, "--json")
                run.steps[command] = _cli(command)
            db = Database(url)
            with db.session() as session:
                ada = users.add_user(
                    session, email="ada@agency.example", role="admin", password=PASSWORD,
                    now=_now(),
                )  # fmt: skip
                run.token, _ = users.create_token(session, ada, "tests", _now())
            live = run.live = Live(db, home, egress_allow=["loopback"])
            yield run
        finally:
            if live is not None:
                live.stop()
            if db is not None:
                db.dispose()
            ADVISORY_FORMATS.remove(KIND)
            CMSES.remove(KIND)
            settings.cache_clear()


def _now() -> datetime:
    return datetime.now(UTC)


def _api(scenario: Scenario, path: str) -> Any:
    answer = httpx.get(
        scenario.base + path, headers={"Authorization": f"Bearer {scenario.token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _rows(table_html: str) -> list[list[str]]:
    """The body rows of an HTML table, each as its cells' text (one space between words)."""
    rows = re.findall(r"<tr>(.*?)</tr>", table_html, re.DOTALL)
    return [
        [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]
        for row in rows
        if (cells := re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL))
    ]


# (type, package, installed, branch update, security, advisories): what the vendor's feed
# and advisory make of TinyCMS 1.2.0 with Guestbook 0.9.0 and Gallery 2.0.0 (current).
UPDATES = [
    ("plugin", "guestbook", "0.9.0", "1.0.1", True, [ADVISORY]),
    ("core", "tinycms", "1.2.0", "1.3.0", False, []),
]
VULNS = [("plugin", "guestbook", "0.9.0", ADVISORY, "high", "1.0.1", "certain", "inventory")]


def test_src_does_not_know_the_fourth_cms() -> None:
    """The point of the exercise: TinyCMS is written down only in the test suite."""
    src = Path(__file__).resolve().parents[2] / "src"
    named = [
        str(path.relative_to(src))
        for path in src.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".html", ".toml", ".cfg", ".txt")
        and "tinycms" in path.read_text(encoding="utf-8", errors="replace").lower()
    ]
    assert named == []


def test_it_is_fingerprinted_from_outside_by_its_own_signals(scenario: Scenario) -> None:
    [found] = scenario.json("fingerprint")
    assert (found["site"], found["cms"], found["version"], found["error"]) == (
        "tiny",
        KIND,
        "1.2.0",
        None,
    )
    assert found["evidence"] == [f"{found['url']}: TinyCMS 1.2.0"]


def test_it_is_inventoried_over_ssh(scenario: Scenario) -> None:
    inventory = scenario.json("inventory")
    assert (inventory["cms"], inventory["version"], inventory["warnings"]) == (KIND, "1.2.0", [])
    assert [
        (e["type"], e["slug"], e["name"], e["version"], e["active"], e["update_source"])
        for e in inventory["extensions"]
    ] == [
        ("plugin", "gallery", "Gallery", "2.0.0", False, SOURCE),
        ("plugin", "guestbook", "Guestbook", "0.9.0", True, SOURCE),
    ]
    # the fingerprint's core row is replaced by the inventory's: the core was journalled
    assert [(u["slug"], u["to_version"]) for u in inventory["changes"]["upgraded"]] == [
        (KIND, "1.2.0")
    ]


def test_its_vendor_feed_and_advisories_are_read(scenario: Scenario) -> None:
    poll = scenario.json("poll")
    assert (poll["packages"], poll["errors"], poll["findings_opened"]) == (3, [], 2)
    imported = scenario.json("import")
    assert (imported["advisories"], imported["changed"], imported["findings_opened"]) == (
        1,
        [ADVISORY],
        1,
    )


def test_the_cli_shows_its_pending_updates_and_vulnerability(scenario: Scenario) -> None:
    updates = scenario.json("updates --json")
    assert [
        (u["type"], u["package"], u["installed"], u["branch_update"], u["security"],
         u["advisory_ids"])
        for u in updates
    ] == UPDATES  # fmt: skip
    assert {(u["site"], u["client"], u["status"]) for u in updates} == {
        ("tiny", "Tiny Bakery", "update")
    }
    vulns = scenario.json("vulns --json")
    assert [
        (v["type"], v["package"], v["installed"], v["advisory_id"], v["severity"],
         v["fixed_in"], v["certainty"], v["basis"])
        for v in vulns
    ] == VULNS  # fmt: skip
    assert vulns[0]["aliases"] == ["CVE-2026-40007"]
    table = scenario.steps["updates"]
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[1:] == [
        f"tiny\tguestbook\t0.9.0\t1.0.1 (security)\t-\t{ADVISORY}\tupdate",
        "tiny\ttinycms\t1.2.0\t1.3.0\t-\t-\tupdate",
    ]
    table = scenario.steps["vulns"]
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[1:] == [
        f"tiny\tguestbook\t0.9.0\t{ADVISORY}\thigh\t1.0.1\tcertain\tinventory"
    ]


def test_the_api_shows_them_as_the_cli_does(scenario: Scenario) -> None:
    site = scenario.site_id
    inventory = _api(scenario, f"/api/sites/{site}/inventory")
    assert (inventory["cms"], inventory["version"]) == (KIND, "1.2.0")
    findings = _api(scenario, f"/api/sites/{site}/findings")["items"]  # a page, like every list
    assert sorted((f["kind"], f["package"], f["installed"], f["latest"]) for f in findings) == [
        ("update", "guestbook", "0.9.0", "1.0.1"),
        ("update", KIND, "1.2.0", "1.3.0"),
        ("vulnerability", "guestbook", "0.9.0", None),
    ]
    vuln = next(f for f in findings if f["kind"] == "vulnerability")
    assert (vuln["advisory_id"], vuln["fixed_in"], vuln["severity"]) == (ADVISORY, "1.0.1", "high")
    for path, step in (("/api/updates", "updates --json"), ("/api/vulns", "vulns --json")):
        ours = [{k: v for k, v in row.items() if k != "site_id"} for row in _api(scenario, path)]
        assert ours == scenario.json(step), path


def test_the_dashboards_site_page_shows_them(scenario: Scenario) -> None:
    page = login(scenario.base, "ada@agency.example").get(f"/sites/{scenario.site_id}")
    assert page.status_code == 200
    findings = re.search(r'<table class="findings">(.*?)</table>', page.text, re.DOTALL)
    assert findings is not None, page.text
    # every column but "open since" (a duration)
    assert [row[:-1] for row in _rows(findings.group(1))] == [
        ["vulnerability high", "guestbook plugin", "0.9.0", "fixed in 1.0.1",
         f"{ADVISORY} CVE-2026-40007", "certain", "inventory"],
        ["security update", "guestbook plugin", "0.9.0", "1.0.1 branch, security", ADVISORY,
         "certain", "inventory"],
        ["update", "tinycms core", "1.2.0", "1.3.0 branch", "–", "certain", "inventory"],
    ]  # fmt: skip
    software = re.search(r'<table class="extensions">(.*?)</table>', page.text, re.DOTALL)
    assert software is not None
    assert "<dt>Core</dt><dd>tinycms 1.2.0</dd>" in page.text
    assert _rows(software.group(1)) == [
        ["Gallery gallery", "plugin", "2.0.0", "inactive", SOURCE],
        ["Guestbook guestbook", "plugin", "0.9.0", "active", SOURCE],
    ]
