"""The integrity scan over SSH as a job: one site now (``sitekeeper scan``, the ``scan``
task) or every due site (``serve``, daily by default, per plan's ``integrity_interval``).

One walk on the server hashes what changed since the last manifest (one command); the
files are compared with the vendors' lists and the CMS's rules; code files that are new,
changed and not vouched for by a vendor list (and those an open malware finding names)
are fetched in one more command and matched with the YARA rules; the report is filed as
findings and alerted in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sitekeeper.domain.integrity import (
    INTEGRITY_TYPES,
    MALWARE,
    MALWARE_TYPE,
    STAMP_RESET,
    IntegrityIssue,
    IntegrityReport,
    path_key,
)
from sitekeeper.domain.inventory import Inventory
from sitekeeper.engine.integrity_alerts import IntegrityAlerts, alerting
from sitekeeper.engine.intel_sites import SiteJobs
from sitekeeper.errors import NotFound, SitekeeperError
from sitekeeper.scan.compare import Baseline
from sitekeeper.scan.manifest import FileRecord, Walk, encode_manifest, read_manifest
from sitekeeper.scan.remote_walk import MiB, WalkLimits
from sitekeeper.store import backups, findings, integrity_scans, inventories
from sitekeeper.store.tables import Site

if TYPE_CHECKING:
    from sitekeeper.backup.file_changes import BackupChanges, BackupPair
    from sitekeeper.intel.release_trees import ReleaseTrees
    from sitekeeper.remote.ssh import SshConnection

DEFAULT_INTERVAL = 86400.0  # a day, unless the plan's ``integrity_interval`` says otherwise
LEASE = timedelta(hours=2)
SKEW = 120  # seconds: what the server's clock may drift from ours within one scan
log = logging.getLogger(__name__)


class IntegrityJobs(SiteJobs):
    """The integrity scan for one site or every due site."""

    walk_limits = WalkLimits()

    async def scan_site(self, ref: str) -> tuple[IntegrityReport, findings.Changes]:
        """Scan one registered site over SSH, file its findings, queue its alert."""
        from sitekeeper.remote.hostkeys import StoreHostKeyPins  # noqa: PLC0415 - SSH only here
        from sitekeeper.remote.ssh import Limits, connect  # noqa: PLC0415

        started = time.monotonic()
        site_id, cms, access, key = await self._ssh_target(ref)
        state = await self.dbt.session_aside(_state, site_id)
        inventory, previous, since = state.inventory, state.previous, state.updated_since
        report = IntegrityReport(site=ref)
        changes = await self._backup_changes(site_id, state, report)
        rehash = changes.changed & previous.keys() if changes is not None else set()
        # What one command may send back: the fetch's bytes and their headers; a walk of
        # 100,000 files is about 30 MiB. Ten scans at once hold ten of these.
        output = self.walk_limits.max_fetch_bytes + 8 * MiB
        limits = Limits(max_output=output, command_timeout=self.walk_limits.seconds + 60)
        async with await connect(
            access, StoreHostKeyPins(self.db), private_key=key, limits=limits
        ) as conn:
            assert access.docroot is not None
            asked = int(time.time())
            walked = await self._walk(conn, access.docroot, previous, report, rehash)
            offset = 0 if walked.server_time is None else walked.server_time - asked
            kind = inventory.cms if inventory is not None else cms
            verified = await self._compare(
                walked, previous=previous, inventory=inventory, kind=kind, since=since,
                changed_after=state.baseline(offset), report=report,
            )  # fmt: skip
            await self._yara(
                conn, access.docroot, walked, previous=previous, verified=verified,
                malware_paths=state.malware_paths, report=report,
            )  # fmt: skip
        if changes is not None:
            _cross_check(walked, previous, changes, report)
        first_scan = state.first_scan(offset)
        carried = first_scan if first_scan is not None else (walked.server_time or asked)
        report.seconds = time.monotonic() - started
        now = datetime.now(UTC)
        alerts = IntegrityAlerts(self.settings.alert_urls, self.vault)

        def store(session: Session) -> findings.Changes:
            changes = integrity_scans.file_report(session, site_id, report, now)
            alerts.queue(session, alerting(changes.opened), now)
            if walked.complete:
                integrity_scans.save_manifest(
                    session, site_id, cms=kind or "",
                    blob=encode_manifest(walked.files.values(), carried),
                    version=inventory.version if inventory else None,
                    count=len(walked.files), now=now,
                )  # fmt: skip
            return changes

        return report, await self.dbt.session_aside(store)

    async def _walk(
        self, conn: SshConnection, docroot: str, previous: Mapping[bytes, FileRecord],
        report: IntegrityReport, rehash: set[bytes],
    ) -> Walk:  # fmt: skip
        from sitekeeper.scan import remote_walk  # noqa: PLC0415

        walked = await remote_walk.walk(conn, docroot, previous, self.walk_limits, rehash=rehash)
        report.commands += 1
        report.files, report.hashed = len(walked.files), walked.hashed
        report.bytes_hashed = walked.bytes_hashed
        report.notes.extend(walked.problems)
        if walked.unreadable:
            report.notes.append(f"{len(walked.unreadable)} entries could not be read")
        return walked

    async def _compare(
        self,
        walked: Walk,
        *,
        previous: Mapping[bytes, FileRecord],
        inventory: Inventory | None,
        kind: str | None,
        since: bool,
        changed_after: Baseline | None,
        report: IntegrityReport,
    ) -> set[bytes]:
        """Compare with the vendor lists and the CMS's rules; the files a list vouched for."""
        from sitekeeper.cms.integrity_lists import rules_for, vendor_lists  # noqa: PLC0415
        from sitekeeper.intel.fetch import Fetcher  # noqa: PLC0415
        from sitekeeper.scan.compare import IntegrityRules, compare  # noqa: PLC0415

        rules = rules_for(kind) or IntegrityRules()
        lists = []
        if inventory is None:
            report.notes.append("no inventory yet: core and extensions not compared")
        else:
            async with Fetcher(self.feeds) as fetcher, self._release_trees() as trees:
                found = await vendor_lists(inventory, rules, self.feeds.vendor, fetcher, trees)
            lists, failed = found.lists, any("could not be read" in n for n in found.notes)
            report.notes.extend(found.notes)
        result = compare(
            walked.files, lists, rules, previous=previous or None, explained=since,
            changed_after=changed_after,
        )  # fmt: skip
        report.issues.extend(result.issues)
        report.notes.extend(result.notes[:50])
        report.verified = len(result.verified)
        if walked.complete:
            has_core = any(v.core for v in lists)
            report.complete = [
                t for t in INTEGRITY_TYPES
                if t != STAMP_RESET and (has_core or not t.startswith("core-"))
                and not (t.startswith("ext-") and inventory is not None and failed)
            ]  # fmt: skip
        return result.verified

    def _release_trees(self) -> ReleaseTrees:
        """Release archives' file lists (Joomla, Drupal), cached in the data directory and
        fetched under the settings' egress policy from the vendor URLs the feeds use."""
        from sitekeeper.intel.hashes import HashSources  # noqa: PLC0415
        from sitekeeper.intel.release_trees import ReleaseTrees  # noqa: PLC0415

        sources = HashSources.from_settings(self.settings)
        sources = sources.model_copy(update={"vendor": dict(self.feeds.vendor)})
        return ReleaseTrees.in_home(self.settings.home, sources)

    async def _backup_changes(
        self, site_id: int, state: ScanState, report: IntegrityReport
    ) -> BackupChanges | None:
        """What the site's two newest backups saw change, when the newer one is newer than
        the previous scan (else the previous scan already read what they saw)."""
        from sitekeeper.backup import repository  # noqa: PLC0415 - restic only here
        from sitekeeper.backup.file_changes import changed_between  # noqa: PLC0415
        from sitekeeper.backup.options import BackupSettings  # noqa: PLC0415
        from sitekeeper.backup.restic import Restic  # noqa: PLC0415

        pair = state.backups
        if pair is None or not state.previous:
            return None

        def open_repository(session: Session) -> repository.OpenRepository | None:
            site = session.get(Site, site_id)
            row = None if site is None else backups.repository_row_for_site(session, site)
            return None if row is None else repository.open_stored(row, self.vault)

        repo = await self.dbt.session_aside(open_repository)
        if repo is None:
            return None
        options = BackupSettings.from_settings(self.settings)
        restic = Restic(
            repo, binary=options.restic_binary, cache_dir=options.work_dir / "restic-cache"
        )
        try:
            return await changed_between(restic, pair)
        except SitekeeperError as exc:
            report.notes.append(f"the backups' changes could not be read: {exc}")
            return None

    async def _yara(
        self,
        conn: SshConnection,
        docroot: str,
        walked: Walk,
        *,
        previous: Mapping[bytes, FileRecord],
        verified: set[bytes],
        malware_paths: set[str],
        report: IntegrityReport,
    ) -> None:
        from sitekeeper.scan import remote_walk  # noqa: PLC0415
        from sitekeeper.scan.compare import is_code  # noqa: PLC0415
        from sitekeeper.scan.scanner import Scanner  # noqa: PLC0415 - YARA loads only here

        wanted = [
            path
            for path, record in sorted(walked.files.items())
            if record.kind == "file"
            and is_code(path)
            and (
                path_key(path) in malware_paths
                or (
                    path not in verified
                    and (path not in previous or previous[path].sha256 != record.sha256)
                )
            )
        ]
        fetched = await remote_walk.fetch(conn, docroot, wanted, self.walk_limits)
        report.commands += 1 if wanted else 0
        scanner = Scanner.from_settings(self.settings)

        def scan_all() -> list[IntegrityIssue]:
            found = []
            for path, data in fetched.contents.items():
                result = scanner.scan_bytes(data, path.decode("utf-8", errors="replace"))
                if not result.matches:
                    continue
                worst = result.matches[0]
                first = worst.hits[0].snippet if worst.hits else ""
                found.append(
                    IntegrityIssue(
                        MALWARE_TYPE, path, worst.severity,
                        f"malware rule {worst.rule}: {worst.description}",
                        "Take the file out of service (delete or quarantine it), then find "
                        "how it got there: the site is likely compromised",
                        walked.files[path].sha256 or "", kind=MALWARE,
                        evidence=f"{worst.rule} at line {worst.hits[0].line}: {first}"
                        if worst.hits else worst.rule,
                    )
                )  # fmt: skip
            return found

        report.issues.extend(await asyncio.to_thread(scan_all))
        report.yara_scanned = len(fetched.contents)
        if fetched.complete and walked.complete:
            report.complete.append(MALWARE_TYPE)
        elif wanted:
            report.notes.append(
                f"YARA saw {len(fetched.contents)} of {len(wanted)} new or changed code files"
            )

    async def integrity_due(self, limit: int = 100) -> int:
        """Scan the sites whose integrity scan is due; returns how many ran."""
        now = datetime.now(UTC)
        async with self.leases.claim(
            "integrity",
            LEASE,
            lambda s: integrity_scans.sites_due(s, now, DEFAULT_INTERVAL, limit),
        ) as due:
            await self._each("integrity", due, lambda site_id: self.scan_site(str(site_id)))
        return len(due)


@dataclass(frozen=True, slots=True)
class ScanState:
    """What a scan starts from: the site's inventory, last manifest (and when it was made),
    whether an update ran since, the files its open malware findings name, and when the
    journal last explains a change of its files."""

    inventory: Inventory | None
    previous: dict[bytes, FileRecord]
    updated_since: bool
    malware_paths: set[str]
    scanned_at: datetime | None = None
    stored_baseline: int | None = None  # the first scan's server time, carried
    explained_at: datetime | None = None
    backups: BackupPair | None = None  # the two newest backups, if newer than the manifest

    def first_scan(self, offset: int) -> int | None:
        """The server's clock at the site's first complete scan (None: this is it)."""
        if self.stored_baseline is not None:
            return self.stored_baseline
        return None if self.scanned_at is None else int(self.scanned_at.timestamp()) + offset

    def baseline(self, offset: int) -> Baseline | None:
        """Since when a code file's change is unexplained, on the server's clock (our
        journal's times moved by ``offset``, the server's clock minus ours)."""
        found = []
        first = self.first_scan(offset)
        if first is not None:
            found.append(Baseline(first, "the first scan"))
        if self.explained_at is not None:
            at = int(self.explained_at.timestamp()) + offset + SKEW
            found.append(Baseline(at, "the last update or restore in the journal"))
        return max(found, key=lambda b: b.at, default=None)


def _state(session: Session, site_id: int) -> ScanState:
    """The site's state before a scan (NotFound: no such site)."""
    row = integrity_scans.manifest(session, site_id)
    stored = read_manifest(row.manifest) if row is not None else None
    since = row is not None and integrity_scans.updated_since(session, site_id, row.scanned_at)
    inventory = inventories.latest_inventory(session, site_id)
    if inventory is None and session.get(Site, site_id) is None:
        raise NotFound(f"no site {site_id}")
    return ScanState(
        inventory=inventory,
        previous=stored.files if stored is not None else {},
        updated_since=since,
        malware_paths=integrity_scans.open_malware_paths(session, site_id),
        scanned_at=None if row is None else row.scanned_at.replace(tzinfo=UTC),
        stored_baseline=None if stored is None else stored.baseline,
        explained_at=integrity_scans.last_explained(session, site_id),
        backups=_pair(session, site_id, None if row is None else row.scanned_at),
    )


def _pair(session: Session, site_id: int, scanned_at: datetime | None) -> BackupPair | None:
    """The two newest snapshots, when the newer was taken after the last scan."""
    from sitekeeper.backup.file_changes import BackupPair  # noqa: PLC0415

    found = integrity_scans.last_snapshots(session, site_id)
    if scanned_at is None or len(found) < 2:
        return None
    (older, older_at), (newer, newer_at) = found
    if newer_at <= scanned_at.replace(tzinfo=UTC):
        return None
    return BackupPair(older, newer, older_at, newer_at)


def _cross_check(
    walked: Walk, previous: Mapping[bytes, FileRecord], changes: BackupChanges,
    report: IntegrityReport,
) -> None:  # fmt: skip
    """File what the backups' changes say about this walk, and count it for the report."""
    from sitekeeper.scan.backup_signal import reset_stamps  # noqa: PLC0415

    check = reset_stamps(walked.files, previous, changes.changed)
    report.issues.extend(check.issues)
    pair = changes.pair
    report.notes.append(check.note(pair.older[:8], pair.newer[:8]))
    report.backups = {
        "older": pair.older, "newer": pair.newer,
        "older_at": pair.older_at.isoformat(), "newer_at": pair.newer_at.isoformat(),
        "changed": check.changed, "rehashed": check.rehashed, "reset": check.reset,
        "gone": check.gone, "removed": changes.removed, "truncated": changes.truncated,
    }  # fmt: skip
    if walked.complete and not changes.truncated:
        report.complete.append(STAMP_RESET)
