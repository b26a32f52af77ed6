"""Drupal 7 and 10: parsers, public signals, and the SSH inventory of fixture sites in wp2."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from sitekeeper.cms import site_files
from sitekeeper.cms.collector import InventoryLimits
from sitekeeper.cms.drupal import Drupal, drush, install
from sitekeeper.cms.drupal import signals as drupal
from sitekeeper.cms.drupal.inventory import core_version, inventory, parse_info
from sitekeeper.cms.drupal.settings import db_credentials
from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.updates import Check, UpdateItem, VerifiedPackage
from sitekeeper.errors import InventoryRefused, RemoteError
from sitekeeper.intel.osv import OSV_NAMES
from sitekeeper.remote.ssh import SshConnection
from tests.cms.test_joomla import (
    ScratchDb,
    install_fixture,
    real_wp_sites,
    remove_fixture,
    scratch_db,
    wp2,
)

__all__ = ["real_wp_sites", "scratch_db", "wp2"]

SITES = Path(__file__).parents[1] / "fixtures" / "sites"

# ---------------------------------------------------------------- parsers


def test_core_versions() -> None:
    assert core_version((SITES / "drupal10/core/lib/Drupal.php").read_bytes(), None) == "10.2.3"
    assert core_version(None, (SITES / "drupal7/includes/bootstrap.inc").read_bytes()) == "7.98"
    assert core_version(None, b"<?php // define('VERSION', '7.1');\n") is None


def test_info_files() -> None:
    token = parse_info((SITES / "drupal10/modules/contrib/token/token.info.yml").read_bytes())
    assert (token["name"], token["type"], token["version"], token["project"]) == (
        "Token", "module", "8.x-1.13", "token",
    )  # fmt: skip
    assert "dependencies" not in token  # nested YAML is not read as a scalar
    node = parse_info((SITES / "drupal7/modules/node/node.info").read_bytes())
    assert node["version"] == "7.98"  # packaging's line wins over core's "VERSION"
    zen = parse_info((SITES / "drupal7/sites/all/themes/zen/zen.info").read_bytes())
    assert (zen["engine"], zen["version"]) == ("phptemplate", "7.x-5.6")


@pytest.mark.parametrize("site", ["drupal10", "drupal7"])
def test_settings_php_credentials(site: str) -> None:
    source = (SITES / site / "sites/default/settings.php.in").read_bytes()
    rendered = (
        source.replace(b"@DB@", b"site")
        .replace(b"@USER@", b"dr")
        .replace(b"@PASSWORD@", b"s3cr3t//not-a-comment")
        .replace(b"@HOST@", b"db.internal")
        .replace(b"@PORT@", b"3307")
        .replace(b"@PREFIX@", b"")
    )
    creds, driver = db_credentials(rendered)
    assert (creds.name, creds.user, creds.password) == ("site", "dr", "s3cr3t//not-a-comment")
    assert (creds.host, creds.port, creds.table_prefix, driver) == (
        "db.internal",
        3307,
        "",
        "mysql",
    )


def test_commented_out_databases_are_not_credentials() -> None:
    source = (SITES / "drupal7/sites/default/settings.php.in").read_bytes()
    only_comment = source.split(b"$databases = array")[0]
    with pytest.raises(RemoteError, match="no literal database"):
        db_credentials(only_comment)


def test_public_signals() -> None:
    home = (SITES / "drupal10/index.html").read_text()
    headers = {"x-generator": "Drupal 10 (https://www.drupal.org)"}
    clues = drupal.read("u", 200, headers, home)
    assert {c for clue in clues for c in clue.candidates} == {">=10.0 <11.0", ">=8.0"}
    assert all(clue.version is None for clue in clues)  # aggregated assets reveal nothing
    assert drupal.version_paths(clues) == ("core/install.php", "core/CHANGELOG.txt")
    d7 = drupal.read("u", 200, {}, (SITES / "drupal7/index.html").read_text())
    assert drupal.version_paths(d7) == ("CHANGELOG.txt",)
    assert drupal.hash_files(d7)[0] == "misc/drupal.js"


def test_registered_as_the_drupal_cms_plugin() -> None:
    assert isinstance(CMSES.get("drupal"), Drupal)


# ---------------------------------------------------------------- fixture sites over SSH


def _php_serialize(value: object) -> str:
    """PHP's serialize() for the shapes core.extension uses (the test writes the DB row)."""
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    assert isinstance(value, dict)
    items = "".join(_php_serialize(k) + _php_serialize(v) for k, v in value.items())
    return f"a:{len(value)}:{{{items}}}"


CORE_EXTENSION = {
    "_core": {"default_config_hash": "R4IF-ClDHXxblLcG0L7MgsLvfBIMAvi_skumNFQwkDc"},
    "module": {"block": 0, "node": 0, "sk_tweaks": 0, "token": 0, "standard": 1000},
    "theme": {"olivero": 0, "claro": 0, "gin": 0},
    "profile": "standard",
}


async def test_drupal10_inventory_over_ssh(wp2: SshConnection, scratch_db: ScratchDb) -> None:
    data = _php_serialize(CORE_EXTENSION).replace("'", "''")
    scratch_db.sql(
        "CREATE TABLE `dx_config` (collection varchar(255) NOT NULL DEFAULT '', "
        "name varchar(255) NOT NULL DEFAULT '', data longblob, PRIMARY KEY (collection, name));"
        f"INSERT INTO `dx_config` VALUES ('', 'core.extension', '{data}'),"
        f"('language.en', 'core.extension', 'a:0:{{}}');",
        database=scratch_db.name,
    )
    docroot = install_fixture("drupal10", scratch_db, "sites/default/settings.php", "dx_")
    try:
        inv = await Drupal().inventory(wp2, docroot)
    finally:
        remove_fixture(docroot)

    assert (inv.cms, inv.version, inv.warnings) == ("drupal", "10.2.3", [])
    assert inv.database is not None
    assert "MariaDB" in inv.database
    found = {
        (e.type, e.slug): (e.name, e.version, e.active, e.update_source) for e in inv.extensions
    }
    assert found == {
        ("module", "token"): ("Token", "8.x-1.13", True, "drupal.org/project/token"),
        ("module", "pathauto"): ("Pathauto", "8.x-1.12", False, "drupal.org/project/pathauto"),
        ("module", "sk_tweaks"): ("Sitekeeper tweaks", None, True, "none"),
        ("theme", "gin"): ("Gin", "8.x-3.0-rc9", True, "drupal.org/project/gin"),
    }  # the hidden test module under tests/ is not an installed extension


async def test_drupal7_inventory_over_ssh(wp2: SshConnection, scratch_db: ScratchDb) -> None:
    scratch_db.sql(
        "CREATE TABLE `system` (filename varchar(255) NOT NULL DEFAULT '', "
        "name varchar(255) NOT NULL DEFAULT '', type varchar(12) NOT NULL DEFAULT '', "
        "owner varchar(255) NOT NULL DEFAULT '', status int NOT NULL DEFAULT 0, "
        "bootstrap int NOT NULL DEFAULT 0, schema_version smallint NOT NULL DEFAULT -1, "
        "weight int NOT NULL DEFAULT 0, info blob, PRIMARY KEY (filename));"
        "INSERT INTO `system` (filename, name, type, status) VALUES "
        "('modules/node/node.module', 'node', 'module', 1),"
        "('sites/all/modules/views/views.module', 'views', 'module', 1),"
        "('sites/all/modules/ctools/ctools.module', 'ctools', 'module', 0),"
        "('sites/all/themes/zen/zen.info', 'zen', 'theme', 1);",
        database=scratch_db.name,
    )
    docroot = install_fixture("drupal7", scratch_db, "sites/default/settings.php", "")
    try:
        inv = await inventory(wp2, docroot)
    finally:
        remove_fixture(docroot)

    assert (inv.cms, inv.version, inv.warnings) == ("drupal", "7.98", [])
    found = {(e.type, e.slug): (e.version, e.active) for e in inv.extensions}
    assert found == {  # core's modules/node is core, not an extension
        ("module", "views"): ("7.x-3.29", True),
        ("module", "ctools"): ("7.x-1.21", False),
        ("theme", "zen"): ("7.x-5.6", True),
    }


async def test_drupal_roots_linking_to_one_directory_and_the_byte_budget(
    wp2: SshConnection, scratch_db: ScratchDb
) -> None:
    """Roots that are symlinks to one directory give each extension once; past its byte
    budget the inventory is refused."""
    data = _php_serialize(CORE_EXTENSION).replace("'", "''")
    scratch_db.sql(
        "CREATE TABLE `dx_config` (collection varchar(255) NOT NULL DEFAULT '', "
        "name varchar(255) NOT NULL DEFAULT '', data longblob, PRIMARY KEY (collection, name));"
        f"INSERT INTO `dx_config` VALUES ('', 'core.extension', '{data}');",
        database=scratch_db.name,
    )
    docroot = install_fixture("drupal10", scratch_db, "sites/default/settings.php", "dx_")
    root = Path(docroot)
    for link in ("sites/all/modules", "sites/default/modules", "sites/all/themes"):
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        (root / link).symlink_to(root / "modules")
    try:
        inv = await inventory(wp2, docroot)
        with pytest.raises(InventoryRefused, match=r"exceeds the budget of 4\.0 KiB per inventory"):
            await inventory(wp2, docroot, InventoryLimits(max_bytes=4096))
    finally:
        remove_fixture(docroot)

    assert inv.warnings == []
    slugs = [e.slug for e in inv.extensions]
    assert sorted(slugs) == ["gin", "pathauto", "sk_tweaks", "token"]  # each once


@pytest.mark.parametrize(
    ("osv", "name", "expected"),
    [
        ("Packagist", "drupal/core", ("drupal", "core")),
        (
            "Packagist:https://packages.drupal.org/8",
            "drupal/admin_toolbar",
            ("admin_toolbar", "module"),
        ),
        ("Packagist", "symfony/http-kernel", None),
        ("npm", "drupal/core", None),
    ],
)
def test_osv_names_drupal_core_and_contrib_in_the_drupal_ecosystem(
    osv: str, name: str, expected: tuple[str, str] | None
) -> None:
    found = OSV_NAMES.get("drupal").package(osv, name)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.ecosystem is DRUPAL
        assert (found.slug, str(found.type)) == expected


async def test_an_unreadable_maintenance_state_stops_the_install_before_any_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As Joomla reads its offline flag first: the site's maintenance state is read
    before a working folder is made or the release staged there."""
    made: list[str] = []

    async def found(*_: object) -> str:
        return "vendor/bin/drush"

    async def owner(*_: object) -> Check:
        return Check("owner", True)

    async def unknown(*_: object) -> None:
        return None

    async def workspace(*_: object) -> str:
        made.append("workspace")
        return "/tmp/sk-work"

    monkeypatch.setattr(drush, "find", found)
    monkeypatch.setattr(install, "owner_check", owner)
    monkeypatch.setattr(drush, "maintenance_state", unknown)
    monkeypatch.setattr(site_files, "make_workspace", workspace)
    item = UpdateItem("module", "views", "1.0.0", "1.1.0", "drupal")
    package = VerifiedPackage(item, "/nowhere.zip", "0" * 64, "https://x/views.zip", "", "views")
    result = await install.apply_package(cast(SshConnection, object()), "/srv/d", package)
    assert not result.ok
    assert [(c.name, c.ok) for c in result.checks] == [("owner", True), ("maintenance", False)]
    assert made == []
