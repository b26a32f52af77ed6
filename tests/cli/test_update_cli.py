"""`sitekeeper update`: what --dry-run shows (each package from → to, where it comes from,
what it is checked against, the snapshot and the policy) without changing anything, and
the exit codes of bad usage and refusals. The runs themselves are tested on real sites
(tests/updates/test_update_run.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from sitekeeper.cli.context import AppContext
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import inventories, releases
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import UpdateRun
from sitekeeper.updates.policy import due_updates
from tests.cli.conftest import Run, as_json

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def shop_with_updates(agency: Run, name: str = "shop", *, ssh: bool = False) -> None:
    """A WordPress 6.1.9 site with Akismet 5.0.2 (5.5 fixes a vulnerability) and its
    theme 1.0 (1.6 available), known from an inventory."""
    agency("site", "add", f"https://{name}.example", "--name", name, "--client", "Bäckerei Müller")
    inventory = Inventory(
        cms="wordpress", version="6.1.9", collected_at=NOW,
        extensions=[
            Extension(type="plugin", slug="akismet", name="Akismet", version="5.0.2",
                      update_source="wordpress.org"),
            Extension(type="theme", slug="twentytwentythree", name="TT3", version="1.0",
                      update_source="wordpress.org"),
        ],
    )  # fmt: skip
    packages = [
        PackageInfo(WORDPRESS, "plugin", "akismet", latest="5.5", source="wordpress.org",
                    releases=(ReleaseInfo("5.0.2", insecure=True), ReleaseInfo("5.5"))),
        PackageInfo(WORDPRESS, "theme", "twentytwentythree", latest="1.6",
                    source="wordpress.org", releases=(ReleaseInfo("1.0"), ReleaseInfo("1.6"))),
    ]  # fmt: skip
    with AppContext().session() as session:
        site = session.scalars(select(Site).where(Site.name == name)).one()
        site.cms = "wordpress"
        if ssh:
            site.ssh = {"host": "127.0.0.1", "port": 1, "user": "x", "docroot": "/srv/x"}
        inventories.store_inventory(session, site, inventory)
        releases.store_packages(session, packages, NOW)
        rematch(session, NOW, site_ids=[site.id])


def runs() -> int:
    with AppContext().session() as session:
        return session.scalar(select(func.count()).select_from(UpdateRun)) or 0


def test_dry_run_shows_each_package_its_source_and_checksums_and_changes_nothing(
    agency: Run, home: Path
) -> None:
    shop_with_updates(agency)
    [plan] = as_json(agency("update", "shop", "--plugin", "akismet", "--dry-run", "--json"))
    [item] = plan["items"]
    assert (item["package"], item["from"], item["to"], item["security"]) == (
        "akismet", "5.0.2", "5.5", True,
    )  # fmt: skip
    assert item["package_url"] == "https://downloads.wordpress.org/plugin/akismet.5.5.zip"
    assert "plugin checksums API" in item["checked_against"]
    assert "restic snapshot" in plan["snapshot"] and "by hand" in plan["policy"]
    table = agency("update", "shop", "--plugin", "akismet", "--dry-run")
    assert "akismet.5.5.zip" in table.stdout and "5.0.2" in table.stdout
    assert "safety" in table.stderr
    assert runs() == 0


def test_a_dry_run_with_a_refusal_exits_1_and_says_why(agency: Run, home: Path) -> None:
    shop_with_updates(agency)
    result = agency("update", "shop", "--all", "--dry-run", ok=False)
    assert result.exit_code == 1
    # WordPress.org publishes no checksums for themes: no pinned sha256, no update.
    assert "twentytwentythree" in result.stderr and "sha256" in result.stderr
    result = agency("update", "shop", "--plugin", "nothere", "--dry-run", ok=False)
    assert result.exit_code == 1
    assert "nothere: no pending update" in result.stderr


def test_a_theme_updates_once_its_archive_digest_is_pinned(agency: Run, home: Path) -> None:
    shop_with_updates(agency)
    digest = "ab" * 32
    [plan] = as_json(
        agency("update", "shop", "--theme", "twentytwentythree", "--sha256",
               f"twentytwentythree={digest.upper()}", "--dry-run", "--json")
    )  # fmt: skip
    [item] = plan["items"]
    assert (item["package"], item["to"], plan["refused"]) == ("twentytwentythree", "1.6", [])
    assert item["checked_against"] == "the archive sha256 pinned for this release"
    for bad in ("twentytwentythree", "twentytwentythree=abc", f"={digest}"):
        result = agency("update", "shop", "--all", "--sha256", bad, "--dry-run", ok=False)
        assert result.exit_code == 2 and "--sha256 takes SLUG=" in result.stderr


def test_fleet_security_dry_run_covers_the_sites_with_ssh(agency: Run, home: Path) -> None:
    shop_with_updates(agency, "shop", ssh=True)
    shop_with_updates(agency, "blog", ssh=False)  # no SSH access: cannot be updated
    plans = as_json(agency("update", "--security", "--everywhere", "--dry-run", "--json"))
    assert [(p["site"], [i["package"] for i in p["items"]]) for p in plans] == [
        ("shop", ["akismet"]),
    ]
    plans = as_json(
        agency("update", "--security", "--client", "Bäckerei Müller", "--dry-run", "--json")
    )
    assert [p["site"] for p in plans] == ["shop"]


def test_bad_usage_exits_2(agency: Run, home: Path) -> None:
    shop_with_updates(agency)
    for args in (
        ["update", "shop"],  # nothing selected
        ["update", "--security"],  # neither a site nor a fleet
        ["update", "shop", "--everywhere", "--security"],  # both
        ["update", "--everywhere", "--plugin", "akismet", "--to", "5.5"],
        ["update", "shop", "--all", "--to", "5.5"],
        ["update", "shop", "--extension", "views"],  # not TYPE:SLUG
        ["hold", "shop", "--extension", "kernel:x", "--reason", "r"],
    ):
        result = agency(*args, ok=False)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
    assert runs() == 0


def test_a_site_without_ssh_is_refused_with_the_reason(agency: Run, home: Path) -> None:
    shop_with_updates(agency)
    result = agency("update", "shop", "--plugin", "akismet", "--json", ok=False)
    assert result.exit_code == 1
    [outcome] = as_json(result)
    assert outcome["status"] == "refused"
    assert "SSH" in outcome["reason"]


def test_approvals_are_listed_decided_once_and_holds_need_a_reason(agency: Run, home: Path) -> None:
    agency("plan", "edit", "Basic", "--update-policy", "security")
    shop_with_updates(agency, ssh=True)
    core = PackageInfo(WORDPRESS, "core", "wordpress", latest="6.8.3", source="wordpress.org",
                       details={"branch_latest": {"6.1": "6.1.9", "6.8": "6.8.3"}},
                       releases=(ReleaseInfo("6.1.9"), ReleaseInfo("6.8.3")))  # fmt: skip
    with AppContext().session() as session:  # what serve's policy job does every 5 minutes
        releases.store_packages(session, [core], NOW)
        rematch(session, NOW)
        [due] = due_updates(session, NOW)  # akismet 5.5 fixes 5.0.2: the policy applies it
        assert due.selection.exact == (("plugin", "akismet", "5.5"),)
    # the major waits for a person; the theme is left out (no checksums to verify it by)
    [waiting] = as_json(agency("approvals", "--json"))
    assert (waiting["package"], waiting["from"], waiting["to"], waiting["status"]) == (
        "wordpress", "6.1.9", "6.8.3", "pending",
    )  # fmt: skip
    [decided] = as_json(agency("approvals", "--approve", str(waiting["id"]), "--json"))
    assert (decided["status"], decided["decided_by"].startswith("cli:")) == ("approved", True)
    again = agency("approvals", "--reject", str(waiting["id"]), ok=False)
    assert again.exit_code == 2 and "approved already" in again.stderr

    assert agency("hold", "shop", "--plugin", "akismet", ok=False).exit_code == 2  # no reason
    agency("hold", "shop", "--plugin", "akismet", "--reason", "breaks the checkout")
    [held] = as_json(agency("hold", "--json"))
    assert (held["site"], held["package"], held["reason"]) == (
        "shop", "akismet", "breaks the checkout",
    )  # fmt: skip
    agency("hold", "shop", "--plugin", "akismet", "--release")
    assert as_json(agency("hold", "--json")) == []
    assert agency("hold", "shop", "--plugin", "akismet", "--release", ok=False).exit_code == 2
