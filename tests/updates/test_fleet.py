"""A fleet-wide run under ``serve``'s stop: the site being updated finishes, no other site
is started (a run cut off mid-way would leave its site to the recovery)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from sitekeeper.store.update_tables import APPLIED
from sitekeeper.updates import fleet
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import NOTHING, RunOutcome


async def test_once_stop_is_set_no_further_site_is_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stop = asyncio.Event()
    started: list[str] = []

    async def one_site(ctx: Any, ref: str, selection: Selection, **_: Any) -> RunOutcome:
        started.append(ref)
        stop.set()  # SIGTERM arrives while the first site's update runs
        return RunOutcome(ref, int(ref), APPLIED)

    monkeypatch.setattr(fleet, "update_site", one_site)
    wanted = [(site, Selection(everything=True)) for site in (1, 2, 3)]
    outcomes = await fleet.update_fleet(cast(UpdateContext, None), wanted, concurrency=1, stop=stop)
    assert started == ["1"]
    assert [o.status for o in outcomes] == [APPLIED, NOTHING, NOTHING]
    assert outcomes[1].reason == "not started: sitekeeper is stopping"
