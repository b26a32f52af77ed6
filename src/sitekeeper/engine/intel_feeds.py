"""Release feeds and advisory sources: poll or import outside any transaction, then store
what changed, re-match and alert in one (``intel_ingest``). The CLI and ``serve`` call
the same methods."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.registry import CMSES
from sitekeeper.engine.intel_base import IntelBase
from sitekeeper.engine.intel_ingest import IngestReport, ingest_advisories, ingest_releases
from sitekeeper.errors import FeedError
from sitekeeper.intel import importer
from sitekeeper.intel.fetch import Fetcher, cache_from_rows
from sitekeeper.intel.polling import PollResult
from sitekeeper.store import releases
from sitekeeper.store.releases import FeedStateRow

log = logging.getLogger(__name__)


class FeedJobs(IntelBase):
    """Advisory imports and release-feed polls."""

    _feed_errors_said: tuple[int, int, list[str]] = (0, 0, [])

    # advisories

    async def import_advisories(self, source: str) -> IngestReport:
        """Import one file, directory, zip or URL; all-or-nothing (InvalidFeed stores nothing)."""
        async with await self._fetcher() as fetcher:
            try:
                found = await importer.load_source(source, fetcher)
            finally:
                await self._save_feed_state(fetcher)
        now = datetime.now(UTC)
        return await self.dbt.session_aside(ingest_advisories, found, self.alerts, now)

    async def refresh_advisories(self) -> IngestReport:
        """Import every configured advisory source; one failing source does not stop the rest."""
        total = IngestReport()
        for source in self.feeds.advisory_sources:
            try:
                report = await self.import_advisories(source)
            except FeedError as exc:
                log.warning("advisory source %s: %s", source, exc)
                total.errors.append(f"{source}: {exc}")
                continue
            total.advisories += report.advisories
            total.changed += report.changed
            total.opened += report.opened
            total.resolved += report.resolved
            total.alerts += report.alerts
        return total

    # release feeds

    async def poll_feeds(self) -> IngestReport:
        """Poll every vendor feed for the packages the fleet runs, then store and re-match."""
        cmses = [cms for _, cms in CMSES.items()]
        wanted = await self.dbt.session_aside(_wanted, cmses)
        result = PollResult()
        async with await self._fetcher() as fetcher:
            try:
                for cms in cmses:
                    # a package whose updates come from elsewhere (a premium plugin) is not asked
                    rows = [row for row in wanted[cms.kind] if cms.polls(row[2])]
                    if rows:
                        result.extend(await cms.poll(fetcher, rows, self.settings.home))
            finally:
                await self._save_feed_state(fetcher)
        now = datetime.now(UTC)
        report = await self.dbt.session_aside(
            ingest_releases, result.packages, self.alerts, now, result.failed
        )
        report.errors = result.errors
        report.polled, report.failed = len(result.polled), len(result.failed)
        return report

    async def poll_feeds_logged(self) -> IngestReport:
        """``poll_feeds`` for ``serve``: failures logged in one line, and only when they
        change (a vendor down for a day is one warning, not one per package per poll)."""
        report = await self.poll_feeds()
        said = (report.failed, report.polled, report.errors[:1])
        if said != self._feed_errors_said:
            if report.errors:
                log.warning(
                    "release feeds: %d of %d packages could not be read (%d feeds failed), "
                    "e.g. %s",
                    report.failed, report.polled, len(report.errors), report.errors[0],
                )  # fmt: skip
            elif self._feed_errors_said[0]:
                log.info("release feeds: every feed read again")
            self._feed_errors_said = said
        return report

    async def _fetcher(self) -> Fetcher:
        rows = await self.dbt.session_aside(releases.load_feed_state)
        return Fetcher(self.feeds, cache=cache_from_rows(rows))

    async def _save_feed_state(self, fetcher: Fetcher) -> None:
        states = {
            url: FeedStateRow(e.etag, e.last_modified, e.failures, e.next_attempt_at, e.last_error)
            for url, e in fetcher.cache.items()
            if url in fetcher.touched
        }
        now = datetime.now(UTC)
        await self.dbt.session_aside(releases.save_feed_state, states, now)

    # inventories and fingerprints


def _wanted(session: Session, cmses: Sequence[Cms]) -> dict[str, list[tuple[str, str, str | None]]]:
    """Per CMS, the (type, package, update source) its sites run."""
    return {c.kind: releases.packages_to_poll(session, c.ecosystem) for c in cmses}
