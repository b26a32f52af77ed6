"""What `sitekeeper update` plans from a site's pending updates and what it was asked."""

from __future__ import annotations

import pytest

from sitekeeper.domain.updates import UpdateItem
from sitekeeper.store.findings import UpdateRow
from sitekeeper.updates.plan import Plan, PlanError, Refusal, Selection, extension_ref, plan


def _row(package: str, installed: str, latest: str | None, **extra: object) -> UpdateRow:
    values: dict[str, object] = {
        "site_id": 1,
        "site": "shop",
        "client": "Acme",
        "ecosystem": "wordpress",
        "type": "plugin",
        "package": package,
        "installed": installed,
        "latest": latest,
        "branch_update": None,
        "branch_security": False,
        "major_update": None,
        "security": False,
        "advisory_ids": [],
        "status": "update",
        "note": None,
        "basis": "inventory",
    }
    values.update(extra)
    return UpdateRow(**values)  # type: ignore[arg-type]


ROWS = [
    _row("wordpress", "6.1.9", "6.8.3", type="core", branch_update="6.1.10",
         branch_security=True, major_update="6.8.3", security=True),
    _row("akismet", "5.0.2", "5.5"),
    _row("twentytwentythree", "1.0", "1.6", type="theme"),
    _row("premium", "1.0", None, status="unknown source", note="no feed knows it"),
    _row("guessed", "2.0", "2.1", basis="fingerprint"),
    _row("other-site", "1.0", "2.0", site_id=2),
]  # fmt: skip


def test_named_packages_move_to_the_newest_release() -> None:
    chosen = plan(1, ROWS, Selection(plugins=("akismet",), themes=("twentytwentythree",)))
    assert chosen == Plan(
        1,
        (
            UpdateItem("plugin", "akismet", "5.0.2", "5.5", "wordpress"),
            UpdateItem("theme", "twentytwentythree", "1.0", "1.6", "wordpress"),
        ),
    )


def test_security_takes_the_nearest_fix_on_the_installed_branch() -> None:
    chosen = plan(1, ROWS, Selection(security=True))
    # The core's 6.1 branch has its own fix: no major jump for a security patch. Plugins
    # without a vulnerability were never asked for; what cannot move still says why.
    assert chosen.items == (UpdateItem("core", "wordpress", "6.1.9", "6.1.10", "wordpress", True),)
    assert {r.package for r in chosen.refused} == {"premium", "guessed"}


def test_asked_for_but_not_movable_says_why() -> None:
    chosen = plan(1, ROWS, Selection(plugins=("premium", "guessed", "missing", "other-site")))
    assert chosen.items == ()
    assert chosen.refused == (
        Refusal("plugin", "missing", "no pending update"),
        Refusal("plugin", "other-site", "no pending update"),
        Refusal("plugin", "premium", "unknown source: no feed knows it"),
        Refusal(
            "plugin",
            "guessed",
            "version known only from outside: inventory the site over SSH first",
        ),
    )


def test_all_lists_what_cannot_move_and_to_picks_a_version() -> None:
    everything = plan(1, ROWS, Selection(everything=True))
    assert [i.package for i in everything.items] == ["wordpress", "akismet", "twentytwentythree"]
    assert {r.package for r in everything.refused} == {"premium", "guessed"}
    pinned = plan(1, ROWS, Selection(core=True, to="6.8.3"))
    assert pinned.items == (UpdateItem("core", "wordpress", "6.1.9", "6.8.3", "wordpress", True),)


@pytest.mark.parametrize(
    ("selection", "error"),
    [
        (Selection(), "nothing selected"),
        (Selection(everything=True, to="1.0"), "exactly one package"),
        (Selection(plugins=("a", "b"), to="1.0"), "exactly one package"),
    ],
)
def test_a_wrong_selection_is_bad_usage(selection: Selection, error: str) -> None:
    with pytest.raises(PlanError, match=error):
        plan(1, ROWS, selection)


def test_an_extension_of_another_kind_is_named_type_and_slug() -> None:
    rows = [_row("views", "8.x-3.1", "8.x-3.2", ecosystem="drupal", type="module")]
    chosen = plan(1, rows, Selection(extensions=(extension_ref("module:views"),)))
    assert chosen.items == (UpdateItem("module", "views", "8.x-3.1", "8.x-3.2", "drupal"),)
    assert plan(1, rows, Selection(plugins=("views",))).refused == (
        Refusal("plugin", "views", "no pending update"),
    )
    for bad in ("views", "kernel:views", "module:../x", "module:"):
        with pytest.raises(PlanError, match="not TYPE:SLUG"):
            extension_ref(bad)


def test_every_item_carries_the_cms_version_the_site_runs() -> None:
    """A dry run, a policy and a run see the same item: the platform its package is
    chosen for (a Joomla extension's <targetplatform>) is set where the item is made."""
    chosen = plan(1, ROWS, Selection(everything=True), platform="6.1.9")
    assert chosen.items
    assert {item.platform for item in chosen.items} == {"6.1.9"}
