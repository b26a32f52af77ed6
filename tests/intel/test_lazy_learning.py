"""Lazy hash learning and narrowing, end to end on loopback: a hardened Drupal 9.5 site whose
three usual JavaScript files are the same in every 9.5 release is pinned by the files that do
differ, learning only the releases its range allows (streamed: hashes kept, never archives),
stored and matched like any fingerprint; a zip vendor (Joomla) is spooled and cleaned up."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from sitekeeper.cms.drupal.hashes import learn_drupal
from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.engine.intel_ingest import ingest_advisories
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.software_alerts import SoftwareAlerts
from sitekeeper.intel.hash_store import HashKnowledge, md5_hex
from sitekeeper.intel.hashes import HashSources, Learner, RangeLearner
from sitekeeper.intel.osv import parse_osv
from sitekeeper.probes.fingerprint import FingerprintProbe
from sitekeeper.store import clients, findings, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FingerprintRecord
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.vendors import (
    DRUPAL_95,
    LONG,
    drupal_files,
    joomla_files,
    joomla_zip,
    serve_drupal,
    serve_joomla,
    tarball,
)
from tests.probes.conftest import serve
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HIDDEN = frozenset({"core/install.php", "core/CHANGELOG.txt", "CHANGELOG.txt"})


def hardened_drupal(version: str, *, major: int = 9) -> web.Application:
    """A Drupal site that names only its major version and blocks every version file, but
    serves core's public files as they shipped in ``version``."""
    files = {p: d for p, d in drupal_files(version).items() if not p.endswith(".php")}

    async def page(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path == "":
            html = (
                f'<html><head><meta name="Generator" content="Drupal {major} '
                '(https://www.drupal.org)"></head><body data-drupal-selector="x">'
                "<script>var drupalSettings = {};</script></body></html>"
            )
            return web.Response(text=html, content_type="text/html")
        if path in HIDDEN or path.startswith("vendor/"):
            return web.Response(status=403, text="Forbidden")
        if path in files:
            return web.Response(body=files[path])
        return web.Response(status=404, text="<html>Page not found</html>")

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    return app


def _osv(ident: str, fixed: str) -> bytes:
    return json.dumps(
        {
            "id": ident,
            "modified": "2024-01-01T00:00:00Z",
            "summary": f"Drupal core fixed in {fixed}",
            "affected": [
                {
                    "package": {"ecosystem": "Packagist", "name": "drupal/core"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "9.5.0"}, {"fixed": fixed}],
                        }
                    ],
                }
            ],
        }
    ).encode()


async def test_a_hardened_drupal_95_site_is_pinned_learning_only_its_range(
    sqlite_db: Database, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    archives = {v: tarball(v, drupal_files(v)) for v in [*DRUPAL_95, "10.1.0", "10.1.1"]}
    with sqlite_db.session() as session:
        advisories = [parse_osv(_osv("SA-A", "9.5.8")), parse_osv(_osv("SA-B", "9.5.10"))]
        ingest_advisories(session, advisories, SoftwareAlerts([], VAULT), NOW)
        owner = clients.add_client(session, VAULT, name="Acme", now=NOW)
    async with feed_server() as vendor, serve(hardened_drupal("9.5.9")) as site:
        url = serve_drupal(vendor, archives)
        with sqlite_db.session() as session:
            fields = sites.SiteFields(url=site.url("/"), client=owner, name="shop")
            shop = sites.add_site(session, fields, NOW, default_interval=300).id
        settings = Settings(home=home, drupal_updates_url=url, egress_allow=["loopback"])
        jobs = IntelJobs(sqlite_db, settings, vault=VAULT)
        found = await jobs.fingerprint_site(shop)
        again = await jobs.fingerprint_site(shop)  # learned: nothing is downloaded twice

    assert (found.cms, found.version) == ("drupal", "9.5.9"), found.evidence
    assert again.version == "9.5.9"
    downloads = [e.path for e in vendor.log if e.path.startswith("/files/")]
    # only the range ">=9.0 <10.0" was learned, each release once
    assert sorted(downloads) == sorted(f"/files/drupal-{v}.tar.gz" for v in DRUPAL_95)
    # the 7.x history answering 404 did not stop learning; the second run asked no vendor
    assert [e.status for e in vendor.hits("/release-history/drupal/7.x")] == [404]
    # the three usual files tell nothing here; the ones that differ were asked for
    evidence = "\n".join(found.evidence)
    assert "core/misc/drupal.js: md5" not in evidence
    assert "core/misc/dialog/off-canvas.js: md5" in evidence
    # hashes are kept, never the archives; private files (vendor/, PHP) are not kept
    cache = home / "cache" / "release-hashes" / "drupal"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [f"{v}.json.gz" for v in DRUPAL_95] + ["releases.json"]
    )
    assert not list(home.rglob("*.tar.gz"))
    kept = HashKnowledge.in_home(home).files("drupal", "9.5.9") or {}
    assert LONG in kept and "core/misc/ajax.js" in kept
    assert not [p for p in kept if p.startswith("vendor/") or p.endswith(".php")]
    # stored and matched: SA-A is fixed in 9.5.8 (not "possible" any more), SA-B is certain
    with sqlite_db.session() as session:
        vulns = findings.open_findings(session, ["vulnerability"])
        stored = session.scalars(select(FingerprintRecord)).all()
    assert [(v.advisory_id, v.certainty) for v in vulns] == [("SA-B", "certain")]
    assert [r.version for r in stored] == ["9.5.9", "9.5.9"]


async def test_without_learning_the_same_site_keeps_its_range_and_possible_findings(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """What the fleet saw before: the range only, so both advisories stay "possible"."""
    async with serve(hardened_drupal("9.5.9")) as site:
        settings = Settings(home=tmp_path / "home", hash_learning=False)
        async with FingerprintProbe.from_settings(settings) as probe:
            found = await probe.fingerprint(site.url("/"))
    assert (found.version, found.candidates) == (None, [">=9.0 <10.0"])


async def test_one_branch_failing_does_not_stop_the_others(tmp_path: Path) -> None:
    archives = {v: tarball(v, drupal_files(v)) for v in ("9.5.10", "9.5.11")}
    async with feed_server() as vendor:
        url = serve_drupal(vendor, archives)
        vendor.failing["/release-history/drupal/7.x"] = 500
        vendor.failing["/files/drupal-9.5.10.tar.gz"] = 503
        knowledge = HashKnowledge.in_home(tmp_path)
        async with RangeLearner(
            knowledge, HashSources(vendor={"drupal_updates_url": url})
        ) as learner:
            probe = Fingerprint(url="x", cms="drupal", candidates=[">=9.5 <9.6"])
            learned, notes = await learner.learn_for(probe)
    assert learned == ["9.5.11"]
    assert knowledge.versions("drupal") == ["9.5.11"]
    assert any("1 release(s) could not be learned" in n and "HTTP 503" in n for n in notes)


@contextmanager
def static_vendor(root: Path) -> Iterator[str]:
    """Python's own http.server on ``root`` in another process, so measuring this
    process's memory sees the learner, not the server."""
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (…) ..."
        port = int(banner.split(" port ")[1].split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


async def test_a_tarball_is_streamed_without_disk_and_in_bounded_memory(tmp_path: Path) -> None:
    big = tarball("9.5.9", drupal_files("9.5.9"), filler=24 * 1024 * 1024)
    root = tmp_path / "vendor"
    (root / "files").mkdir(parents=True)
    (root / "files" / "drupal-9.5.9.tar.gz").write_bytes(big)
    (root / "release-history" / "drupal").mkdir(parents=True)
    with static_vendor(root) as base:
        history = FeedServer(base=base)
        serve_drupal(history, {"9.5.9": big})
        current = history.bodies["/release-history/drupal/current"]
        (root / "release-history" / "drupal" / "current").write_bytes(current)
        del big, history
        knowledge = HashKnowledge.in_home(tmp_path / "home")
        sources = HashSources(vendor={"drupal_updates_url": base + "/release-history"})
        async with Learner(knowledge, sources) as learner:
            tracemalloc.start()
            try:
                assert await learn_drupal(learner) == ["9.5.9"]
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            spooled = learner.spool.peak
    assert spooled == 0  # a tar.gz never touches the disk
    # the archive is 24 MB; the member over the per-file cap is skipped, never held whole
    assert peak < 4 * 1024 * 1024, peak
    assert "core/assets/vendor/big.bundle.js" not in (knowledge.files("drupal", "9.5.9") or {})
    assert LONG in (knowledge.files("drupal", "9.5.9") or {})  # a pax header's long path


async def test_a_joomla_zip_is_spooled_once_and_removed_and_the_site_narrowed(
    tmp_path: Path,
) -> None:
    versions = ("4.4.4", "4.4.5", "4.4.6")
    packages = {v: joomla_zip(joomla_files(v), filler=2 * 1024 * 1024) for v in versions}
    knowledge = HashKnowledge.in_home(tmp_path)
    async with feed_server() as vendor:
        url = serve_joomla(vendor, packages)
        sources = HashSources(vendor={"joomla_update_url": url}, parallel=2)
        async with RangeLearner(knowledge, sources) as learner:
            hidden = Fingerprint(url="x", cms="joomla", candidates=[">=4.0"])
            learned, notes = await learner.learn_for(hidden)
            meter = learner.learner.spool
    assert (sorted(learned), notes) == (list(versions), [])
    assert meter.now == 0  # every spool file is gone
    assert 0 < meter.peak <= 2 * max(len(p) for p in packages.values())  # two at a time at most
    assert "libraries/vendor/composer/installed.json" not in (
        knowledge.files("joomla", "4.4.5") or {}
    )

    served = {p: d for p, d in joomla_files("4.4.5").items() if p.startswith("media/")}

    async def page(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path == "":
            return web.Response(
                text='<html><script src="/media/system/js/core.min.js"></script></html>',
                content_type="text/html",
            )
        return web.Response(body=served[path]) if path in served else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    async with serve(app) as site, FingerprintProbe(hashes=knowledge) as probe:
        found = await probe.fingerprint(site.url("/"))
    assert (found.cms, found.version) == ("joomla", "4.4.5"), found.evidence


async def test_a_hidden_wordpress_learns_the_checksums_of_every_listed_release(
    tmp_path: Path,
) -> None:
    """WordPress names no range, but its checksums are small JSON: all are learned, once."""
    stable = {"6.7.1": "latest", "6.7": "insecure", "6.6.2": "outdated"}
    async with feed_server() as vendor:
        vendor.bodies["/core/stable-check/1.0/"] = json.dumps(stable).encode()
        for version in stable:
            checksums = {"wp-includes/js/wp-embed.min.js": md5_hex(version.encode()),
                         "wp-login.php": md5_hex(b"php is executed, never compared")}  # fmt: skip
            vendor.bodies[f"/core/checksums/1.0/?version={version}&locale=en_US"] = json.dumps(
                {"checksums": checksums}
            ).encode()
        knowledge = HashKnowledge.in_home(tmp_path)
        sources = HashSources(vendor={"wordpress_api_url": vendor.url("/")})
        async with RangeLearner(knowledge, sources) as learner:
            hidden = Fingerprint(url="x", cms="wordpress")
            learned, _ = await learner.learn_for(hidden)
            again, _ = await learner.learn_for(hidden)
    assert (sorted(learned), again) == (["6.6.2", "6.7", "6.7.1"], [])
    embed = md5_hex(b"6.7")
    assert knowledge.files("wordpress", "6.7") == {"wp-includes/js/wp-embed.min.js": embed}


async def test_archive_downloads_follow_the_egress_policy(tmp_path: Path) -> None:
    """Release archives are fetched like feeds: public addresses only unless the operator
    allows a network (SITEKEEPER_EGRESS_ALLOW), so learning cannot be aimed at loopback."""
    archives = {"9.5.11": tarball("9.5.11", drupal_files("9.5.11"))}
    probe = Fingerprint(url="x", cms="drupal", candidates=[">=9.5 <9.6"])
    async with feed_server() as vendor:
        url = serve_drupal(vendor, archives)
        settings = Settings(home=tmp_path, drupal_updates_url=url)
        refused = HashKnowledge.in_home(tmp_path / "refused")
        async with RangeLearner(refused, HashSources.from_settings(settings)) as learner:
            learned, notes = await learner.learn_for(probe)
        assert learned == []
        assert vendor.log == []  # not one request reached the loopback vendor
        assert any("refused by the egress policy" in n and "loopback" in n for n in notes)

        allowed = Settings(home=tmp_path, drupal_updates_url=url, egress_allow=["loopback"])
        knowledge = HashKnowledge.in_home(tmp_path / "allowed")
        async with RangeLearner(knowledge, HashSources.from_settings(allowed)) as learner:
            learned, _ = await learner.learn_for(probe)
    assert learned == ["9.5.11"]
