"""The content probe on the real WordPress wp3, hacked the way such sites get hacked: a
must-use plugin prints hidden spam links for everyone, serves Googlebot a pharma page and
sends phones to a casino. Each is found with its severity; once the plugin is gone the
findings resolve; the untouched site has nothing above info."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.domain.seo import SEO
from sitekeeper.domain.severity import Severity, severity_rank
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from tests.realsites import KNOWN_HOSTS, wp_record
from tests.services import REQUIRE
from tests.store.factories import VAULT

pytestmark = [pytest.mark.realsites, pytest.mark.timeout(300)]
WP3 = wp_record(3)
PLUGIN = f"{WP3['docroot']}/wp-content/mu-plugins/sitekeeper-test-seo-hack.php"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HACK = r"""<?php
// Test hack of sitekeeper's content probe (tests/e2e/test_content_wp3.py); removed after.
$sk_agent = isset($_SERVER['HTTP_USER_AGENT']) ? $_SERVER['HTTP_USER_AGENT'] : '';
add_action('template_redirect', function () use ($sk_agent) {
    if (stripos($sk_agent, 'iPhone') !== false) {
        wp_redirect('https://casino-offers.test/welcome', 302);
        exit;
    }
    if (stripos($sk_agent, 'Googlebot') !== false) {
        echo '<html><body><h1>Cheap viagra online</h1>';
        echo str_repeat('<p>Buy cialis and viagra without prescription, cheap.</p>', 20);
        echo '<a href="https://cheap-pills.test/">pharmacy</a></body></html>';
        exit;
    }
});
add_action('wp_footer', function () {
    echo '<div style="position:absolute;left:-9999px;top:-9999px">'
        . '<a href="https://cheap-pills.test/">cheap viagra</a>'
        . '<a href="https://replica-watches.test/">replica watches</a></div>';
});
"""


def _ssh(command: str, stdin: str = "") -> bool:
    """Run ``command`` as wp3; whether it exited 0."""
    ssh = WP3["ssh"]
    return subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
         "-i", ssh["key"], "-p", str(ssh["port"]), f"{ssh['user']}@{ssh['host']}", command],
        input=stdin, text=True, check=False, capture_output=True, timeout=60,
    ).returncode == 0  # fmt: skip


@pytest.fixture
def wp3() -> Iterator[str]:
    """wp3's URL, if it answers (skip, or fail under SITEKEEPER_REQUIRE_SERVICES=1)."""
    try:
        with urllib.request.urlopen(WP3["url"], timeout=10) as answer:
            assert answer.status == 200
    except OSError as exc:
        if REQUIRE:
            pytest.fail(f"wp3 is not up: {exc}")
        pytest.skip(f"wp3 is not up (tests/realsites/wordpress.sh up 3): {exc}")
    if not Path(WP3["ssh"]["key"]).is_file():
        pytest.skip("no SSH key for wp3")
    folder = str(Path(PLUGIN).parent)
    had_folder = _ssh(f"test -d {folder}")
    try:
        yield WP3["url"]
    finally:
        assert _ssh(f"rm -f {PLUGIN}")
        if not had_folder:
            _ssh(f"rmdir {folder}")


def _open(db: Database) -> dict[tuple[str, str], str]:
    with db.session() as session:
        rows = session.scalars(
            select(Finding).where(Finding.resolved_at.is_(None), Finding.kind == SEO)
        )
        return {(f.type, f.package): f.data["severity"] for f in rows}


async def test_a_hacked_wordpress_is_caught_and_resolves_once_cleaned(
    db: Database, tmp_path: Path, wp3: str
) -> None:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="wp3 owner", now=NOW)
        site_id = sites.add_site(
            session, sites.SiteFields(url=wp3, client=owner, name="wp3"), NOW,
            default_interval=300,
        ).id  # fmt: skip
    jobs = IntelJobs(db, Settings(home=tmp_path / "home"), vault=VAULT)

    report, _ = await jobs.probe_site_content(site_id)
    assert report.error is None and len(report.pages) > 1
    # A clean WordPress: nothing above info, on the first run and on a second.
    report, _ = await jobs.probe_site_content(site_id)
    assert [i for i in report.issues if i.severity.rank > Severity.INFO.rank] == []
    assert _open(db) == {}

    assert _ssh(f"mkdir -p $(dirname {PLUGIN}) && cat > {PLUGIN}", HACK)
    report, changes = await jobs.probe_site_content(site_id)
    found = _open(db)
    assert found[("hidden-link", "cheap-pills.test")] == "high"
    assert found[("hidden-link", "replica-watches.test")] == "high"
    assert found[("cloaking", f"{wp3} (crawler)")] == "high"
    assert found[("cloaking", f"{wp3} (phone)")] == "high"
    assert all(severity_rank(s) >= Severity.MEDIUM.rank for s in found.values())
    assert len(changes.opened) == len(found)

    assert _ssh(f"rm -f {PLUGIN}")
    _, cleaned = await jobs.probe_site_content(site_id)
    assert _open(db) == {}
    assert {f.package for f in cleaned.resolved} == {p for _, p in found}
