"""diff() of two inventories: the facts the journal records (domain.inventory)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitekeeper.domain.inventory import Extension, Inventory, diff, version_key

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _inv(version: str, *extensions: Extension) -> Inventory:
    return Inventory(
        cms="wordpress", version=version, extensions=list(extensions), collected_at=NOW
    )


def _plugin(slug: str, version: str | None, *, active: bool = False) -> Extension:
    return Extension(
        type="plugin",
        slug=slug,
        name=slug.title(),
        version=version,
        active=active,
        update_source="wordpress.org",
    )


def test_installed_removed_upgraded_downgraded_and_activation() -> None:
    old = _inv(
        "6.1.9",
        _plugin("akismet", "5.0.2"),
        _plugin("gone", "1.0"),
        _plugin("rolled-back", "2.0", active=True),
        Extension(
            type="theme",
            slug="akismet",
            name="A theme",
            version="1.0",
            update_source="wordpress.org",
        ),
    )
    new = _inv(
        "6.4.1",
        _plugin("akismet", "5.3", active=True),
        _plugin("fresh", "0.1"),
        _plugin("rolled-back", "1.9"),
        Extension(
            type="theme",
            slug="akismet",
            name="A theme",
            version="1.0",
            update_source="wordpress.org",
        ),
    )

    change = diff(old, new)

    assert [e.slug for e in change.installed] == ["fresh"]
    assert [e.slug for e in change.removed] == ["gone"]
    assert [(c.type, c.slug, c.from_version, c.to_version) for c in change.upgraded] == [
        ("core", "wordpress", "6.1.9", "6.4.1"),
        ("plugin", "akismet", "5.0.2", "5.3"),
    ]
    assert [(c.slug, c.from_version, c.to_version) for c in change.downgraded] == [
        ("rolled-back", "2.0", "1.9")
    ]
    assert [e.slug for e in change.activated] == ["akismet"]
    assert [e.slug for e in change.deactivated] == ["rolled-back"]
    assert not change.empty


def test_same_inventory_is_empty() -> None:
    inv = _inv("6.1.9", _plugin("akismet", "5.0.2"))
    assert diff(inv, inv).empty


def test_same_slug_as_plugin_and_theme_are_different_extensions() -> None:
    old = _inv("6.1.9", _plugin("x", "1"))
    new = _inv(
        "6.1.9",
        Extension(type="theme", slug="x", name="X", version="1", update_source="wordpress.org"),
    )
    change = diff(old, new)
    assert [e.type for e in change.installed] == ["theme"]
    assert [e.type for e in change.removed] == ["plugin"]


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("6.1", "6.1.9"),
        ("6.1.9", "6.1.10"),
        ("6.1-beta2", "6.1"),
        ("6.1-beta2", "6.1-rc1"),
        ("6.1-RC1", "6.1.1"),
        ("1.9", "2.0"),
        (None, "0.1"),
    ],
)
def test_version_order(lower: str | None, higher: str | None) -> None:
    assert version_key(lower) < version_key(higher)


@pytest.mark.parametrize("type_", ["module", "component", "template", "library", "package"])
def test_any_extension_type_may_change_version(type_: str) -> None:
    """Before: a Drupal module or Joomla component that moved made storing the inventory
    fail (the change's type allowed only core, plugin and theme)."""

    def one(version: str) -> Inventory:
        ext = Extension.model_validate(
            {"type": type_, "slug": "sk", "name": "SK", "version": version,
             "update_source": "drupal.org/project/sk"}
        )  # fmt: skip
        return _inv("10.1.6", ext)

    (change,) = diff(one("1.0.0"), one("1.1.0")).upgraded
    assert (change.type, change.from_version, change.to_version) == (type_, "1.0.0", "1.1.0")
