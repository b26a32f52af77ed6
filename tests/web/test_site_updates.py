"""The site page and /api/updates show both update paths (the installed branch's newest
release and the newest beyond it) and "feed not reachable since …" for a package whose
vendor feed failed, as the CLI does (issue 9, points 13b and 14)."""

from __future__ import annotations

from datetime import UTC, datetime

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import releases
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, login

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_site_page_and_api_show_branch_and_major_updates_and_unreachable_feeds(
    db: Database, live: Live, world: World
) -> None:
    portal = world.globex_sites[0]  # WordPress 6.7.1 with woocommerce, akismet, …
    core = PackageInfo(
        WORDPRESS, "core", "wordpress", latest="7.1", source="wordpress.org",
        details={"branch_latest": {"6.7": "6.7.2", "7.1": "7.1"}},
        releases=(ReleaseInfo("6.7.1", insecure=True), ReleaseInfo("6.7.2"), ReleaseInfo("7.1")),
    )  # fmt: skip
    with db.session() as session:
        releases.store_packages(session, [core], NOW)
        releases.mark_unreachable(
            session, {("wordpress", "plugin", "akismet"): "api.wordpress.org: timeout"}, NOW
        )
        rematch(session, NOW, site_ids=[portal])
    tom = login(live.base, "tom@agency.example")
    page = tom.get(f"/sites/{portal}").text
    assert '6.7.2 <span class="subtle">branch, security</span>' in page
    assert '7.1 <span class="subtle">major, needs approval</span>' in page
    assert "feed not reachable since 2026-03-01 12:00 UTC: api.wordpress.org: timeout" in page
    rows = {u["package"]: u for u in tom.get("/api/updates").json() if u["site_id"] == portal}
    assert (rows["wordpress"]["branch_update"], rows["wordpress"]["major_update"]) == (
        "6.7.2", "7.1",
    )  # fmt: skip
    assert rows["akismet"]["status"] == "feed not reachable"
