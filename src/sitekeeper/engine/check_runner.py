"""Runs claimed uptime-check jobs: load targets in bulk, probe, confirm failures, record.

The probe is the one registered for the site's check kind (``probes.registry``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.incidents import evaluate, evaluate_tls, needs_confirmation
from sitekeeper.engine.recorder import Outcome, Recorder
from sitekeeper.engine.stats import Stats
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.jobs import Claim
from sitekeeper.store.monitoring import CheckTarget, load_targets


class CheckRunner:
    """The one path for check work, whichever dispatcher hands over the claims."""

    kind = "check"

    def __init__(
        self,
        dbthread: DbThread,
        probes: ProbeSet,
        recorder: Recorder,
        stats: Stats,
        *,
        confirm_delay: float,
    ) -> None:
        self._db = dbthread
        self._probes = probes
        self._recorder = recorder
        self._stats = stats
        self._confirm_delay = confirm_delay

    async def load(self, claims: Sequence[Claim]) -> list[tuple[Claim, CheckTarget]]:
        """Targets of a batch of claims in one query; vanished or paused sites drop out."""
        site_ids = [c.site_id for c in claims if c.site_id is not None]
        targets = await self._db.call(load_targets, site_ids)
        return [(c, targets[c.site_id]) for c in claims if c.site_id in targets]

    async def run_one(self, claim: Claim, target: CheckTarget) -> Outcome:
        """Check one site; a failure of a site not known down is re-checked first."""
        self._stats.record(time.time() - claim.due_at)
        result = await self._probes.check(target.probe, target.url, target.options)
        if needs_confirmation(target.previously_up, result):
            self._stats.confirmations += 1
            await asyncio.sleep(self._confirm_delay)  # give a blip time to pass
            result = await self._probes.check(target.probe, target.url, target.options)
        outcome = outcome_of(target, result)
        self._recorder.add(outcome)
        return outcome


def outcome_of(target: CheckTarget, result: CheckResult) -> Outcome:
    """A confirmed result's outcome; with several check locations, up/down is left to the
    recorder, which sees the other locations' results (domain.quorum)."""
    if target.check_locations > 1:
        tls = evaluate_tls(target.open_kinds, result, target.tls_warn_days)
        return Outcome(target, result, tls, quorum=True)
    return Outcome(target, result, evaluate(target.open_kinds, result, target.tls_warn_days))
