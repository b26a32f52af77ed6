"""What every software-intelligence job shares: the store, the settings, the alerts, the leases.

The jobs themselves live one module per job (``intel_feeds``: release feeds and
advisories; ``intel_sites``: SSH inventories and fingerprints) and meet in
``intel_jobs.IntelJobs``. Database work leaves the event loop through one typed
``DbThread`` (beside its writer thread: these are few, short transactions that
must not queue behind a batch of check results).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.engine.software_alerts import SoftwareAlerts
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.probes.fingerprint import FingerprintOptions
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.leases import Leases
from sitekeeper.vault import Vault

FingerprintFn = Callable[[str, FingerprintOptions], Awaitable[Fingerprint]]


@dataclass(frozen=True)
class Schedule:
    """A periodic job for ``serve``."""

    name: str
    period: float
    action: Callable[[], Awaitable[object]]


class IntelBase:
    """The state the intelligence jobs share (see ``IntelJobs`` for the parameters)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        feeds: FeedSettings | None = None,
        vault: Vault | None = None,
        fingerprint: FingerprintFn | None = None,
        concurrency: int = 10,
        leases: Leases | None = None,
    ) -> None:
        """``fingerprint``: what fingerprints a site (default: one shared probe per run).

        ``leases``: how scheduled work is shared with other ``serve`` processes
        (default: held as ``settings.worker_name``).
        """
        self.db = db
        self.dbt = DbThread(db)
        self.settings = settings
        self.feeds = feeds or FeedSettings.from_settings(settings)
        self.vault = vault or Vault.from_home(settings.home, settings.secret_key)
        self.alerts = SoftwareAlerts(settings.alert_urls, self.vault)
        self.fingerprint_fn = fingerprint
        self.concurrency = concurrency
        self.leases = leases or Leases(db, settings.worker_name)
