"""The integrity scan over SSH against the real WordPress wp2, hacked the way real sites
get hacked and put back exactly afterwards.

The WordPress.org checksums API is a loopback stand-in (``tests.updates.vendor``): the
realsites run Debian's 6.1.9 build, whose files are not byte-identical to the vendor's,
so the core list it serves is the pristine wp2 tree's own md5s (taken as root before the
test touches anything) -- what the API would answer for this build.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.domain.integrity import INTEGRITY, MALWARE
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.store import clients, finding_acks, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event
from tests.realsites import real_wp_sites, stored_ssh
from tests.scan.conftest import SAMPLES
from tests.store.factories import VAULT
from tests.updates.vendor import Vendor, start_vendor

__all__ = ["real_wp_sites"]
pytestmark = pytest.mark.realsites
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DOCROOT = Path("/srv/sites/wp2")
CORE_FILE = DOCROOT / "wp-includes" / "version.php"
SHELL = DOCROOT / "wp-content" / "uploads" / "2026" / "11" / "x.php"
DISGUISED = DOCROOT / "wp-content" / "uploads" / "2026" / "11" / "photo.php.jpg"


def _inert(sample: str) -> bytes:
    """A rule's inert sample as PHP that never runs it (after __halt_compiler)."""
    return b"<?php __halt_compiler();\n" + (SAMPLES / sample).read_bytes()


def _core_checksums(root: Path) -> bytes:
    """The body of /core/checksums/1.0/ for the tree at ``root`` (md5 per file)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        core = rel.startswith(("wp-admin/", "wp-includes/", "wp-content/")) or "/" not in rel
        if core and path.is_file() and not path.is_symlink() and rel != "wp-config.php":
            found[rel] = hashlib.md5(path.read_bytes()).hexdigest()
    return json.dumps({"checksums": found}).encode()


def _restore(pristine: Path) -> None:
    """The docroot made equal to the copy again (contents, modes, mtimes; extra files gone)."""
    subprocess.run(["rsync", "-a", "--delete", f"{pristine}/", f"{DOCROOT}/"], check=True)


@pytest.fixture
def wp2(real_wp_sites: list[dict[str, Any]], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """wp2, its files put back exactly (rsync --delete from a copy taken as root)."""
    site = real_wp_sites[1]
    assert site["name"] == "wp2"
    pristine = tmp_path / "pristine"
    subprocess.run(["cp", "-a", f"{DOCROOT}/.", str(pristine)], check=True)
    try:
        yield {**site, "pristine": pristine}
    finally:
        _restore(pristine)


@pytest.fixture
async def api() -> AsyncIterator[Vendor]:
    served, runner = await start_vendor()
    try:
        yield served
    finally:
        await runner.cleanup()


def _findings(db: Database, site_id: int) -> dict[tuple[str, str, str], str]:
    """Open findings of the scan's kinds: (kind, type, path) -> severity."""
    with db.session() as session:
        rows = session.scalars(
            select(Finding).where(
                Finding.site_id == site_id,
                Finding.kind.in_([INTEGRITY, MALWARE]),
                Finding.resolved_at.is_(None),
            )
        ).all()
        return {(f.kind, f.type, f.package): str((f.data or {}).get("severity")) for f in rows}


async def test_scan_finds_the_hack_and_resolves_after_cleanup(
    db: Database, tmp_path: Path, wp2: dict[str, Any], api: Vendor
) -> None:
    api.add("/core/checksums/6.1.9", _core_checksums(wp2["pristine"]))
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Integrity", now=NOW)
        site = sites.add_site(
            session,
            sites.SiteFields(
                url=wp2["url"], client=owner, name="wp2",
                ssh=stored_ssh(session, VAULT, owner, wp2),
            ),
            NOW,
            default_interval=300,
        )  # fmt: skip
        site_id = site.id
    jobs = IntelJobs(
        db, Settings(home=tmp_path / "home"), feeds=FeedSettings(vendor=api.settings), vault=VAULT
    )
    await jobs.inventory_site("wp2")

    # A clean site: nothing above info, every core file vouched for by the list.
    clean, _ = await jobs.scan_site("wp2")
    assert clean.error is None and clean.notes is not None
    assert [i for i in clean.issues if i.severity.rank > 0] == []
    assert clean.verified > 1000 and clean.hashed == clean.files
    assert "core-modified" in clean.complete and "yara" in clean.complete

    # Unchanged: nothing rehashed (the program's own count), one SSH command.
    again, _ = await jobs.scan_site("wp2")
    assert (again.hashed, again.commands, again.issues) == (0, 1, [])

    # Hacked: an injected loader in a core file, a web shell and a disguised file in uploads.
    CORE_FILE.write_bytes(
        CORE_FILE.read_bytes()
        + b"\n/*\n"
        + (SAMPLES / "js_obfuscated_script_loader.txt").read_bytes()
        + b"\n*/\n"
    )
    SHELL.parent.mkdir(parents=True)
    SHELL.write_bytes(_inert("webshell_known_markers.txt"))
    DISGUISED.write_bytes(b"\xff\xd8\xff\xe0 not really a picture")
    hacked, changes = await jobs.scan_site("wp2")
    assert hacked.hashed == 3
    found = _findings(db, site_id)
    assert found[(INTEGRITY, "core-modified", "wp-includes/version.php")] == "high"
    assert (MALWARE, "yara", "wp-includes/version.php") in found
    assert found[(INTEGRITY, "php-in-uploads", "wp-content/uploads/2026/11/x.php")] == "critical"
    assert found[(MALWARE, "yara", "wp-content/uploads/2026/11/x.php")] == "critical"
    assert found[(INTEGRITY, "double-ext", "wp-content/uploads/2026/11/photo.php.jpg")] == "high"
    assert len(changes.opened) == len(found)
    with db.session() as session:  # one alert for the client, naming the files
        [alert] = session.scalars(
            select(Event).where(Event.kind == IntelEventKind.INTEGRITY_ALERT)
        ).all()
        assert "wp-content/uploads/2026/11/x.php" in alert.data["files"]

    # Acknowledged: the disguised file stays quiet while it is unchanged...
    with db.session() as session:
        finding = session.scalars(
            select(Finding).where(
                Finding.site_id == site_id, Finding.type == "double-ext",
                Finding.resolved_at.is_(None),
            )
        ).one()  # fmt: skip
        finding_acks.acknowledge(session, finding, "our test file", "tester", NOW)
    await jobs.scan_site("wp2")
    assert (INTEGRITY, "double-ext", "wp-content/uploads/2026/11/photo.php.jpg") not in _findings(
        db, site_id
    )
    # ...and opens again once it changes.
    DISGUISED.write_bytes(b"\xff\xd8\xff\xe0 changed since")
    await jobs.scan_site("wp2")
    assert (INTEGRITY, "double-ext", "wp-content/uploads/2026/11/photo.php.jpg") in _findings(
        db, site_id
    )

    # Cleaned up: every finding resolves.
    _restore(wp2["pristine"])
    cleaned, changes = await jobs.scan_site("wp2")
    assert _findings(db, site_id) == {}
    assert [i for i in cleaned.issues if i.severity.rank > 0] == []
    assert changes.resolved
