"""The real WordPress wp4 hacked the way real sites get hacked, all at once, and caught by
the three checks through their job code paths (``scan``, ``probe-security``,
``probe-content``): an injected loader in a core file, a web shell in uploads, a must-use
plugin with hidden spam links that cloaks for crawlers and sends phones away, a Git
repository, a debug log and a ``wp-config.php.bak`` in the docroot. The untouched site has
nothing above info; once the docroot is put back every finding resolves.

The WordPress.org checksums API is the loopback stand-in of the integrity tests (the
pristine tree's own md5s: Debian's 6.1.9 build is not byte-identical to the vendor's).
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sitekeeper.cms.wordpress.downloads import package_source
from sitekeeper.cms.wordpress.upgrade import apply_package
from sitekeeper.config import Settings
from sitekeeper.domain.exposure import EXPOSURE
from sitekeeper.domain.integrity import INTEGRITY, MALWARE
from sitekeeper.domain.seo import SEO
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.updates import CORE, Check, UpdateItem
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import SiteSummary
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.health_opcache import reset_web_opcache
from sitekeeper.updates.packages import PackageCache, obtain
from tests.realsites import private_key, ssh_access, stored_ssh, wp_record
from tests.scan.conftest import SAMPLES
from tests.scan.test_integrity_wp2 import _core_checksums, _inert, api
from tests.store.factories import VAULT
from tests.updates.sites import put_back, update_sites_up
from tests.updates.vendor import Vendor, vendor, versions

__all__ = ["api", "update_sites_up", "vendor"]
pytestmark = [pytest.mark.realsites, pytest.mark.timeout(600)]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WP4 = wp_record(4)
DOCROOT = Path(WP4["docroot"])
URL = WP4["url"]
KINDS = (INTEGRITY, MALWARE, EXPOSURE, SEO)
CORE_FILE = "wp-includes/template-loader.php"
SHELL = "wp-content/uploads/2026/11/cache.php"
PLUGIN = "wp-content/mu-plugins/wp-cache-helper.php"
HACK = r"""<?php
// Test hack of sitekeeper (tests/e2e/test_hacked_wordpress.py); the test removes it.
$sk_agent = isset($_SERVER['HTTP_USER_AGENT']) ? $_SERVER['HTTP_USER_AGENT'] : '';
add_action('template_redirect', function () use ($sk_agent) {
    if (stripos($sk_agent, 'iPhone') !== false || stripos($sk_agent, 'Android') !== false) {
        wp_redirect('https://mobile-casino.test/bonus', 302);
        exit;
    }
    if (stripos($sk_agent, 'Googlebot') !== false || stripos($sk_agent, 'bingbot') !== false) {
        echo '<html><body><h1>Cheap viagra online</h1>';
        echo str_repeat('<p>Buy cialis and viagra without prescription, fast delivery.</p>', 20);
        echo '<a href="https://pharma-outlet.test/">pharmacy</a></body></html>';
        exit;
    }
});
add_action('wp_footer', function () {
    echo '<div style="display:none">'
        . '<a href="https://pharma-outlet.test/">cheap viagra</a>'
        . '<a href="https://fake-rolex.test/">replica watches</a></div>';
});
"""
DEBUG_LOG = (
    "[01-Nov-2026 03:12:44 UTC] PHP Notice:  Undefined index: action in "
    "/srv/sites/wp4/wp-content/plugins/akismet/akismet.php on line 12\n"
    "[01-Nov-2026 03:12:45 UTC] PHP Warning:  Cannot modify header information - headers "
    "already sent in /srv/sites/wp4/wp-includes/pluggable.php on line 1421\n"
)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _restore(pristine: Path) -> None:
    """The docroot made equal to the copy again (contents, modes, owners, mtimes; extra
    files, the .git and the mu-plugins folder gone)."""
    _run("rsync", "-a", "--delete", f"{pristine}/", f"{DOCROOT}/")


@pytest.fixture
def wp4(update_sites_up: None, tmp_path: Path) -> Iterator[Path]:
    """wp4 up, its docroot copied as root and put back exactly afterwards; the copy."""
    pristine = tmp_path / "pristine"
    _run("cp", "-a", f"{DOCROOT}/.", str(pristine))
    try:
        yield pristine
    finally:
        _restore(pristine)


def _hack() -> None:
    """Every hack at once, as root (the files a hacked PHP would write)."""
    core = DOCROOT / CORE_FILE
    loader = (SAMPLES / "js_obfuscated_script_loader.txt").read_bytes()
    core.write_bytes(core.read_bytes() + b"\n/*\n" + loader + b"\n*/\n")  # inert: a comment
    shell = DOCROOT / SHELL
    shell.parent.mkdir(parents=True)
    shell.write_bytes(_inert("webshell_known_markers.txt"))
    plugin = DOCROOT / PLUGIN
    plugin.parent.mkdir()
    plugin.write_text(HACK, encoding="ascii")
    (DOCROOT / "wp-content" / "debug.log").write_text(DEBUG_LOG, encoding="ascii")
    config = (DOCROOT / "wp-config.php").read_bytes()
    (DOCROOT / "wp-config.php.bak").write_bytes(config)
    (DOCROOT / "wp-config.php.bak").chmod(0o644)  # the editor's copy anyone can read
    git = ["git", "-C", str(DOCROOT), "-c", "safe.directory=*", "-c", "user.name=dev",
           "-c", "user.email=dev@example.test"]  # fmt: skip
    _run(*git, "init", "-q")
    _run(*git, "add", "wp-config-sample.php", "index.php")
    _run(*git, "commit", "-q", "-m", "site")


def _status(path: str) -> int:
    try:
        with urllib.request.urlopen(URL.rstrip("/") + path, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _open(db: Database, site_id: int) -> dict[tuple[str, str, str], str]:
    """Open findings of the three checks: (kind, type, item) -> severity."""
    with db.session() as session:
        rows = session.scalars(
            select(Finding).where(
                Finding.site_id == site_id,
                Finding.kind.in_(KINDS),
                Finding.resolved_at.is_(None),
            )
        ).all()
        return {(f.kind, f.type, f.package): str((f.data or {}).get("severity")) for f in rows}


def _above_info(found: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], str]:
    return {k: s for k, s in found.items() if s != Severity.INFO.value}


async def _all_three(jobs: IntelJobs, site_id: int) -> list[str]:
    """Each check once, as the CLI runs them (each must have looked); what each saw above
    info."""
    scanned, _ = await jobs.scan_site("wp4")
    probed, _ = await jobs.probe_site_security(site_id)
    content, _ = await jobs.probe_site_content(site_id)
    assert scanned.error is None and probed.error is None and content.error is None
    above = Severity.INFO.rank
    return (
        [f"{i.check}:{i.path!r}" for i in scanned.issues if i.severity.rank > above]
        + [f"{i.check}:{i.item}" for i in probed.issues if i.severity.rank > above]
        + [f"{i.type}:{i.item}" for i in content.issues if i.severity.rank > above]
    )


def _register(db: Database) -> int:
    """wp4 as a client's site with its SSH access, as ``site add`` stores it."""
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Hacked", now=NOW)
        return sites.add_site(
            session,
            sites.SiteFields(
                url=URL, client=owner, name="wp4", ssh=stored_ssh(session, VAULT, owner, WP4)
            ),
            NOW,
            default_interval=300,
        ).id


async def test_a_hacked_wordpress_is_caught_by_all_three_checks_and_resolves(
    db: Database, tmp_path: Path, wp4: Path, api: Vendor
) -> None:
    api.add("/core/checksums/6.1.9", _core_checksums(wp4))
    site_id = _register(db)
    jobs = IntelJobs(
        db, Settings(home=tmp_path / "home"), feeds=FeedSettings(vendor=api.settings), vault=VAULT
    )
    await jobs.inventory_site("wp4")  # the CMS, for the integrity lists and WordPress's paths

    # Untouched: nothing above info from any check (the content probe's first run keeps
    # the baselines, so it runs twice).
    assert await _all_three(jobs, site_id) == []
    assert await _all_three(jobs, site_id) == []
    assert _above_info(_open(db, site_id)) == {}

    _hack()
    assert _status("/.git/HEAD") == 403  # wp4's nginx denies dot-files: not public
    assert _status("/wp-config.php.bak") == 200
    await _all_three(jobs, site_id)
    found = _open(db, site_id)
    expected = {
        (INTEGRITY, "core-modified", CORE_FILE): "high",
        (MALWARE, "yara", CORE_FILE): "high",
        (INTEGRITY, "php-in-uploads", SHELL): "critical",
        (MALWARE, "yara", SHELL): "critical",
        (INTEGRITY, "new-file", PLUGIN): "medium",  # new since the clean scans
        (INTEGRITY, "double-ext", "wp-config.php.bak"): "high",
        (EXPOSURE, "exposed-file", "/wp-config.php.bak"): "critical",
        (EXPOSURE, "exposed-file", "/wp-content/debug.log"): "medium",
        (SEO, "hidden-link", "pharma-outlet.test"): "high",
        (SEO, "hidden-link", "fake-rolex.test"): "high",
        (SEO, "cloaking", f"{URL} (crawler)"): "high",
        (SEO, "cloaking", f"{URL} (phone)"): "high",
    }
    assert {k: found.get(k) for k in expected} == expected, _above_info(found)
    # Denied by the web server, the .git is not reported as public (a 403 is no exposure);
    # the scan does not name it either (no code in it, outside the core's trees).
    assert (EXPOSURE, "exposed-file", "/.git/HEAD") not in found
    # The fleet shows the site as compromised: the high/critical integrity, malware and SEO
    # findings above (exposures are open doors, not signs of a break-in).
    assert _compromised(db, site_id) >= 6

    # Cleaned up: the docroot as it was; every finding of the hack resolves.
    _restore(wp4)
    assert await _all_three(jobs, site_id) == []
    assert _above_info(_open(db, site_id)) == {}
    assert _compromised(db, site_id) == 0
    assert not set(expected) & set(_open(db, site_id))


@pytest.fixture
def wp4_and_database(update_sites_up: None) -> Iterator[None]:
    """wp4 up; its docroot and database put back exactly afterwards (a core update
    upgrades the database)."""
    with put_back(WP4):
        yield


@pytest.fixture
async def pages() -> AsyncIterator[PageFetcher]:
    async with PageFetcher() as made:
        yield made


async def test_no_false_alarm_after_a_real_core_update(
    sqlite_db: Database,
    tmp_path: Path,
    wp4_and_database: None,
    vendor: Vendor,
    pages: PageFetcher,
) -> None:
    """WordPress's own upgrader takes wp4 from 6.1.9 to the real 6.8 package; the scan then
    compares every file with that release's checksums (the real package's) and finds
    nothing above info but the test packages' own gap."""
    target = versions()["version"]
    item = UpdateItem(CORE, "wordpress", "6.1.9", target, "wordpress")
    async with Fetcher(FeedSettings(vendor=vendor.settings)) as fetcher:
        source = package_source(item, vendor.settings)
        package = await obtain(item, source, fetcher, PackageCache(tmp_path / "packages"))
    pins = StoreHostKeyPins(sqlite_db)
    async with await connect(ssh_access(WP4), pins, private_key=private_key(WP4)) as conn:

        async def reset() -> Check:
            return await reset_web_opcache(conn, str(DOCROOT), URL, pages)

        result = await apply_package(conn, str(DOCROOT), URL, package, reset_opcache=reset)
    assert result.ok and result.version_on_disk == target, result.checks

    site_id = _register(sqlite_db)
    jobs = IntelJobs(
        sqlite_db, Settings(home=tmp_path / "home"), feeds=FeedSettings(vendor=vendor.settings),
        vault=VAULT,
    )  # fmt: skip
    await jobs.inventory_site("wp4")
    report, _ = await jobs.scan_site("wp4")
    assert report.error is None
    # The one exception is the test packages', not the scan's: Debian's ca-bundle.crt is a
    # symlink to the system's bundle, copied as a file into the realsites and left out of
    # Debian's 6.8 zip and its checksums (upstream ships and lists it, so a vendor update
    # overwrites it and its list vouches for it). Anything else above info is a false alarm.
    leftover = (INTEGRITY, "core-added", "wp-includes/certificates/ca-bundle.crt")
    above = [(i.check, i.path) for i in report.issues if i.severity.rank > Severity.INFO.rank]
    assert above == [(leftover[1], leftover[2].encode())]
    assert report.verified > 1000 and "core-modified" in report.complete
    assert f"/core/checksums/1.0/?version={target}&locale=en_US" in vendor.requests
    assert _above_info(_open(sqlite_db, site_id)) == {leftover: "medium"}


def _compromised(db: Database, site_id: int) -> int:
    """The fleet summary's count of the site's open signs of a hack."""
    with db.session() as session:
        row = session.get(SiteSummary, site_id)
        return row.compromised if row is not None else 0
