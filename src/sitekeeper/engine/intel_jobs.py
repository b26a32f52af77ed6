"""Software intelligence jobs: feed polls, advisory imports, inventories, fingerprints.

Each job fetches outside any transaction, then stores what it learnt, re-matches
only what changed and queues alerts in one transaction (``intel_ingest``). One
module per job (``intel_feeds``, ``intel_sites``); this one gathers them and says
how ``serve`` runs them: the ``*_due`` / ``poll`` / ``refresh`` / ``learn`` methods
as periodic loops. The CLI calls the same methods once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sitekeeper.engine.content_jobs import ContentJobs
from sitekeeper.engine.domain_jobs import DomainJobs
from sitekeeper.engine.integrity_jobs import IntegrityJobs
from sitekeeper.engine.intel_base import Schedule
from sitekeeper.engine.intel_feeds import FeedJobs
from sitekeeper.engine.intel_security import SecurityJobs
from sitekeeper.engine.intel_sites import SiteJobs
from sitekeeper.errors import SitekeeperError

log = logging.getLogger(__name__)


class IntelJobs(IntegrityJobs, FeedJobs, SiteJobs, SecurityJobs, DomainJobs, ContentJobs):
    """The jobs ``serve`` schedules and the CLI runs once, sharing one code path.

    Parameters: see :class:`~sitekeeper.engine.intel_base.IntelBase`.
    """

    def schedules(self, due_check: float = 300.0) -> list[Schedule]:
        """What ``serve`` runs periodically: (name, period in seconds, action).

        Inventories and fingerprints are checked for due sites every ``due_check``
        seconds; each site's own interval (plan option or setting) decides. Release
        hashes are learned unless their interval is 0. With several ``serve`` processes
        the global jobs run in one of them per period and each due site in one of them
        (``store.leases``).
        """
        schedules = [
            self._global("intel-feeds", self.feeds.poll_interval, self.poll_feeds_logged),
            self._global("intel-advisories", self.feeds.advisory_interval, self.refresh_advisories),
            Schedule("intel-inventories", due_check, self.inventories_due),
            Schedule("intel-fingerprints", due_check, self.fingerprints_due),
            Schedule("security-probes", due_check, self.security_due),
            Schedule("domain-watch", due_check, self.domains_due),
            Schedule("integrity-scans", due_check, self.integrity_due),
            Schedule("content-probes", due_check, self.content_due),
        ]
        if self.feeds.hash_learn_interval:
            learn = self._global("intel-hashes", self.feeds.hash_learn_interval, self.learn_hashes)
            schedules.append(learn)
        return schedules

    def _global(
        self, name: str, period: float, action: Callable[[], Awaitable[object]]
    ) -> Schedule:
        return Schedule(name, period, self.leases.periodic(name, period, action))

    async def run_safely(self, schedule: Schedule) -> None:
        """One scheduled run; a failure is logged and the loop goes on (the next run retries)."""
        try:
            await schedule.action()
        except SitekeeperError as exc:
            log.error("%s failed: %s", schedule.name, exc)
