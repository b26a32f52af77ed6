"""The plan's visual check in whole update runs on the real site wp4: an update that adds
a big banner to the home page stays applied but needs review (step, journal, alert, the
two screenshots kept); one that does not change the look is simply applied, and so is one
run where Chromium is missing (the step says why it was skipped)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import update_site
from tests.updates import breakage
from tests.updates.sites import update_sites_up, wp4
from tests.updates.test_update_run import (
    PLUGIN,
    alerts,
    fatal_release,
    journal,
    plugin_version,
    stored_with_pending,
    uctx,
)
from tests.updates.vendor import Vendor, vendor, versions

__all__ = ["uctx", "update_sites_up", "vendor", "wp4"]

pytestmark = [
    pytest.mark.realsites,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Chromium"),
]
VISUAL = {"update_visual_threshold": 5}
# A plugin release that works, but covers the top of every page with a banner.
BANNER = (
    "add_action('wp_footer', function () {\n"
    "    echo '<div style=\"position:fixed;top:0;left:0;width:100%;height:900px;"
    "background:#c00;z-index:99999\">SALE</div>';\n"
    "});\n"
)


async def test_an_update_that_changes_the_look_stays_applied_but_needs_review(
    uctx: UpdateContext, wp4: dict[str, Any], vendor: Vendor
) -> None:
    breakage.activate(wp4, "akismet/akismet.php")
    zipped, checksums = fatal_release("99.2", BANNER)
    vendor.add("/plugin/akismet.99.2.zip", zipped)
    vendor.add("/plugin-checksums/akismet/99.2.json", checksums)
    site_id = await stored_with_pending(uctx.backup, wp4, "99.2", plan=VISUAL)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "needs_review", outcome
    assert outcome.ok  # applied: the exit status and the task say so
    assert plugin_version(wp4) == "99.2"  # not rolled back
    names = [s.name for s in outcome.steps]
    assert names.index("visual before") < names.index("akismet: upgrade")
    (visual,) = [s for s in outcome.steps if s.name == "visual"]
    assert not visual.ok and "needs review" in visual.detail, visual
    assert "% of the home page changed (threshold 5 %)" in visual.detail
    assert "the home page looks different" in (outcome.reason or "")
    folder = uctx.screenshots / str(site_id) / str(outcome.run_id)
    assert sorted(p.name for p in folder.iterdir()) == ["after.png", "before.png"]
    assert all(p.stat().st_size < 16 << 20 for p in folder.iterdir())
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.needs_review"
    (alert,) = alerts(uctx.backup.db)
    assert alert.title == f"Update needs review: {wp4['name']}"
    assert "looks different" in alert.body


async def test_an_update_that_does_not_change_the_look_is_applied(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    target = versions()["akismet"]  # inactive on wp4: the home page does not change
    site_id = await stored_with_pending(uctx.backup, wp4, target, plan=VISUAL)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "applied", outcome
    (visual,) = [s for s in outcome.steps if s.name == "visual"]
    assert visual.ok and "% of the home page changed (threshold 5 %)" in visual.detail
    assert float(visual.detail.split(" %", 1)[0]) < 1.0
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.applied"
    assert not alerts(uctx.backup.db)


async def test_without_chromium_the_update_applies_and_the_visual_step_says_why(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    uctx.limits = replace(uctx.limits, chromium="/nonexistent/chromium")
    site_id = await stored_with_pending(uctx.backup, wp4, versions()["akismet"], plan=VISUAL)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "applied", outcome
    (visual,) = [s for s in outcome.steps if s.name.startswith("visual")]
    assert visual.ok
    assert visual.detail == (
        "skipped: Chromium is not installed (/nonexistent/chromium: Debian package chromium)"
    )
    assert not alerts(uctx.backup.db)
