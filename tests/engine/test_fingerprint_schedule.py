"""Scheduled fingerprints (``serve`` and the fingerprint task) do what ``sitekeeper fingerprint``
does: they honour the site's ``verify_tls`` and ``ca_bundle``, narrow the version by the learned
static-file hashes and share one probe per run; and ``serve`` learns those hashes on its own
schedule.

Sites are loopback servers serving the joomla5 fixture (over TLS with a self-signed
certificate where it matters); the vendors are a loopback feed server in their formats.
"""

from __future__ import annotations

import hashlib
import io
import json
import ssl
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import select

from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.hashes import HashKnowledge, md5_hex
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FingerprintRecord
from sitekeeper.store.tables import Site
from tests.intel.feedserver import FeedServer, feed_server
from tests.probes.conftest import serve, server_context
from tests.probes.test_fingerprint_cms import SITES, site_app
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
JOOMLA5 = SITES / "joomla5"
HIDDEN = frozenset(joomla.VERSION_PATHS)  # a hardened site: no public version file
PACKAGE = "/releases/4.4.6/Joomla_4.4.6-Stable-Update_Package.zip"
CHECKSUMS = "/wp/core/checksums/1.0/?version=6.1.9&locale=en_US"


def _static(version: str) -> dict[str, bytes]:
    """What a Joomla 4.4 release ships as public static files (core.min.js differs)."""
    return {
        "media/system/js/core.min.js": f"/* Joomla {version} core */".encode(),
        "media/system/css/joomla-fontawesome.min.css": b"/* same in every 4.4 release */",
    }


def _jobs(db: Database, tmp_path: Path, **settings: Any) -> IntelJobs:
    return IntelJobs(db, Settings(home=tmp_path / "home", **settings), vault=VAULT, concurrency=1)


# One server stands for several sites here; a repeated URL needs allowing once sites refuse
# duplicates (issue 9, point 19).
TWICE: dict[str, Any] = (
    {"allow_duplicate": True} if "allow_duplicate" in sites.SiteFields.__dataclass_fields__ else {}
)


def _add_sites(db: Database, *specs: tuple[str, str, dict[str, Any]]) -> list[int]:
    """Sites of one client: (name, url, check options)."""
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Agency", now=NOW)
        return [
            sites.add_site(
                session,
                sites.SiteFields(url=url, client=owner, name=name, check=check, **TWICE),
                NOW,
                default_interval=300,
            ).id
            for name, url, check in specs
        ]


def _stored(db: Database) -> dict[int, tuple[str | None, str | None, list[str]]]:
    """The latest stored fingerprint per site: (cms, version, candidates)."""
    with db.session() as session:
        rows = session.scalars(select(FingerprintRecord).order_by(FingerprintRecord.id))
        return {r.site_id: (r.cms, r.version, r.data["candidates"]) for r in rows}


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server presenting a CA certificate as its leaf: a self-signed certificate."""
    own = trustme.CA()
    cert, key = tmp_path / "self.pem", tmp_path / "self.key"
    own.cert_pem.write_to_path(str(cert))
    own.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


# ---------------------------------------------------------------- the site's verify_tls


async def test_a_self_signed_site_is_fingerprinted_when_its_check_skips_tls_verification(
    sqlite_db: Database, tmp_path: Path
) -> None:
    async with serve(site_app(JOOMLA5), ssl_context=_self_signed(tmp_path)) as site:
        lax, strict = _add_sites(
            sqlite_db,
            ("lax", site.url("/"), {"verify_tls": False}),
            ("strict", site.url("/"), {}),
        )
        jobs = _jobs(sqlite_db, tmp_path)
        found = await jobs.fingerprint_site(lax)  # the fingerprint task's path
        refused = await jobs.fingerprint_site(strict)
        assert await jobs.fingerprints_due() == 0  # both just fingerprinted
    assert (found.cms, found.version, found.error) == ("joomla", "5.1.2", None)
    assert refused.cms is None
    assert refused.error is not None and refused.error.startswith("tls: ")
    assert "self-signed certificate" in refused.error
    assert _stored(sqlite_db) == {
        lax: ("joomla", "5.1.2", []),
        strict: (None, None, []),
    }


async def test_a_private_ca_site_is_fingerprinted_with_its_check_ca_bundle(
    sqlite_db: Database, tmp_path: Path
) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "agency-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with serve(
        site_app(JOOMLA5), ssl_context=server_context(ca.issue_cert("127.0.0.1"))
    ) as site:
        private, unknown = _add_sites(
            sqlite_db,
            ("private", site.url("/"), {"ca_bundle": str(ca_file)}),
            ("unknown", site.url("/"), {}),
        )
        jobs = _jobs(sqlite_db, tmp_path)
        found = await jobs.fingerprint_site(private)
        refused = await jobs.fingerprint_site(unknown)
    assert (found.cms, found.version, found.error) == ("joomla", "5.1.2", None)
    assert refused.error is not None and refused.error.startswith("tls: ")
    assert "unable to get local issuer certificate" in refused.error
    assert _stored(sqlite_db) == {private: ("joomla", "5.1.2", []), unknown: (None, None, [])}


# ---------------------------------------------------------------- learned hashes, one probe


async def test_scheduled_fingerprints_narrow_the_version_by_learned_hashes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    knowledge = HashKnowledge.in_home(tmp_path / "home")
    for version in ("4.4.5", "4.4.6"):
        knowledge.add("joomla", version, {p: md5_hex(d) for p, d in _static(version).items()})
    app = site_app(JOOMLA5, blocked=HIDDEN, extra=_static("4.4.6"))
    async with serve(app) as site:
        [hardened] = _add_sites(sqlite_db, ("hardened", site.url("/"), {}))
        assert await _jobs(sqlite_db, tmp_path).fingerprints_due() == 1
    assert _stored(sqlite_db) == {hardened: ("joomla", "4.4.6", [])}


async def test_one_probe_serves_a_whole_scheduled_run(sqlite_db: Database, tmp_path: Path) -> None:
    """Three sites on one server, one at a time: one kept-alive connection, not one each."""
    async with serve(site_app(JOOMLA5)) as site:
        ids = _add_sites(sqlite_db, *((f"s{i}", site.url("/"), {}) for i in range(3)))
        assert await _jobs(sqlite_db, tmp_path).fingerprints_due() == 3
        connections = site.connections
    assert connections == 1
    assert _stored(sqlite_db) == dict.fromkeys(ids, ("joomla", "5.1.2", []))


# ---------------------------------------------------------------- learning on schedule


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _vendors(server: FeedServer) -> dict[str, Any]:
    """WordPress with one release, Joomla's legacy update server with 4.4.6, Drupal with none;
    returns the settings pointing at them (and allowing loopback for the downloads)."""
    server.bodies["/wp/core/stable-check/1.0/"] = json.dumps({"6.1.9": "latest"}).encode()
    server.bodies[CHECKSUMS] = json.dumps(
        {"checksums": {"wp-includes/js/wp-embed.min.js": hashlib.md5(b"embed").hexdigest()}}
    ).encode()
    package = _zip({"index.php": b"<?php\n", **_static("4.4.6")})
    server.bodies[PACKAGE] = package
    server.bodies["/joomla/list.xml"] = f"""<updates>
  <update>
    <name>Joomla! 4.4</name><element>joomla</element><type>file</type><version>4.4.6</version>
    <downloads><downloadurl type="full" format="zip">{server.url(PACKAGE)}</downloadurl></downloads>
    <sha256>{hashlib.sha256(package).hexdigest()}</sha256>
    <targetplatform name="joomla" version="4.[01234]" />
  </update>
</updates>""".encode()
    no_history = b"<?xml version='1.0'?><error>No release history was found.</error>"
    server.bodies["/d/drupal/current"] = server.bodies["/d/drupal/7.x"] = no_history
    return {
        "wordpress_api_url": server.url("/wp"),
        "joomla_update_url": server.url("/joomla/list.xml"),
        "drupal_updates_url": server.url("/d"),
        "egress_allow": ["loopback"],  # the vendors listen on loopback
    }


async def test_serve_learns_hashes_when_asked_and_the_next_fingerprint_uses_them(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = site_app(JOOMLA5, blocked=HIDDEN, extra=_static("4.4.6"))
    async with feed_server() as vendor, serve(app) as site:
        jobs = _jobs(
            sqlite_db, tmp_path, hash_learn_interval=86400, hash_learning=False, **_vendors(vendor)
        )
        [hardened] = _add_sites(sqlite_db, ("hardened", site.url("/"), {}))
        plan = {s.name: s for s in jobs.schedules()}
        assert plan["intel-hashes"].period == 86400
        # Off unless asked for: fingerprints learn the releases they need themselves.
        default = _jobs(sqlite_db, tmp_path)
        assert "intel-hashes" not in {s.name for s in default.schedules()}

        before = await jobs.fingerprint_site(hardened)
        # WordPress is down: logged, Joomla and Drupal are still learned.
        vendor.failing["/wp/core/stable-check/1.0/"] = 503
        await jobs.run_safely(plan["intel-hashes"])
        assert "intel-hashes failed" in caplog.text and "HTTP 503" in caplog.text
        after = await jobs.fingerprint_site(hardened)

        # The next period retries WordPress; what is stored is not downloaded again.
        del vendor.failing["/wp/core/stable-check/1.0/"]
        learned = await plan["intel-hashes"].action()
        assert learned == {"wordpress": ["6.1.9"], "joomla": [], "drupal": []}
        assert await plan["intel-hashes"].action() == {"wordpress": [], "joomla": [], "drupal": []}
        assert (len(vendor.hits(PACKAGE)), len(vendor.hits(CHECKSUMS))) == (1, 1)

    assert (before.version, before.candidates) == (None, [">=4.0"])
    assert (after.cms, after.version) == ("joomla", "4.4.6")
    knowledge = HashKnowledge.in_home(tmp_path / "home")
    assert (knowledge.versions("joomla"), knowledge.versions("wordpress")) == (["4.4.6"], ["6.1.9"])


async def test_a_site_checked_by_another_kind_of_probe_is_fingerprinted_with_web_defaults(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # A plugin probe's options (here a TCP port) say nothing about fetching the home page.
    async with serve(site_app(JOOMLA5)) as site:
        (other,) = _add_sites(sqlite_db, ("tcp", site.url("/"), {}))
        with sqlite_db.session() as session:
            session.get(Site, other).check_options = {"probe": "tcp-echo", "port": 7}  # type: ignore[union-attr]
        found = await _jobs(sqlite_db, tmp_path).fingerprint_site(other)
    assert (found.cms, found.version, found.error) == ("joomla", "5.1.2", None)
