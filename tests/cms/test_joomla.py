"""Joomla: parsers, public signals, and the SSH inventory of fixture sites inside wp2.

The fixture docroots (tests/fixtures/sites) are copied into a scratch folder
owned by wp2 (/srv/sites/wp2/.sk-fixtures/...), with a scratch MariaDB
database and user; everything is removed afterwards. wp1 is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.joomla import Joomla
from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.cms.joomla.configuration import db_credentials
from sitekeeper.cms.joomla.inventory import core_version, inventory
from sitekeeper.cms.php_config import class_values
from sitekeeper.cms.registry import CMSES
from sitekeeper.errors import RemoteError
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from tests.realsites import private_key, real_wp_sites, ssh_access

__all__ = ["real_wp_sites"]

SITES = Path(__file__).parents[1] / "fixtures" / "sites"
SCRATCH = Path("/srv/sites/wp2/.sk-fixtures")

# ---------------------------------------------------------------- parsers


def test_version_php_of_38_and_later() -> None:
    source = (SITES / "joomla5/libraries/src/Version.php").read_bytes()
    assert core_version(source) == "5.1.2"
    dev = source.replace(b"EXTRA_VERSION = ''", b"EXTRA_VERSION = 'rc1'")
    assert core_version(dev) == "5.1.2-rc1"


def test_legacy_version_php_of_30_to_37() -> None:
    source = (SITES / "joomla3/libraries/cms/version/version.php").read_bytes()
    assert core_version(source) == "3.7.5"
    as_vars = b"<?php class JVersion { public $RELEASE = '3.2'; public $DEV_LEVEL = '7'; }"
    assert core_version(as_vars) == "3.2.7"
    assert core_version(b"<?php // const MAJOR_VERSION = 9;\n") is None


def test_configuration_php_credentials() -> None:
    source = (SITES / "joomla5/configuration.php.in").read_bytes()
    rendered = (
        source.replace(b"@HOST@", b"db.example:3307")
        .replace(b"@USER@", b"joomla")
        .replace(b"@PASSWORD@", b"p#ss'w")  # a quote inside breaks nothing: it is a literal
        .replace(b"@DB@", b"site")
        .replace(b"@PREFIX@", b"jx7_")
    )
    assert class_values(rendered)["sitename"] == "Joomla Fixture"
    creds, dbtype = db_credentials(rendered.replace(b"p#ss'w", b"p#ss\\'w"))
    assert (creds.host, creds.port, creds.user, creds.password) == (
        "db.example",
        3307,
        "joomla",
        "p#ss'w",
    )
    assert (creds.name, creds.table_prefix, dbtype) == ("site", "jx7_", "mysqli")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b"'@PREFIX@'", b"'x`; DROP'"), "dbprefix is invalid"),
        ((b"public $password = '@PASSWORD@';", b"public $password = getenv('P');"), "$password"),
    ],
)
def test_bad_configuration_is_refused(change: tuple[bytes, bytes], message: str) -> None:
    source = (SITES / "joomla5/configuration.php.in").read_bytes().replace(*change)
    with pytest.raises(RemoteError, match=message.replace("$", r"\$")):
        db_credentials(source)


def test_public_signals() -> None:
    manifest = (SITES / "joomla5/administrator/manifests/files/joomla.xml").read_text()
    url = "http://x/administrator/manifests/files/joomla.xml"
    assert [c.version for c in joomla.read(url, 200, {}, manifest)] == ["5.1.2"]
    assert joomla.read(url, 404, {}, manifest) == []
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><extension>&a;</extension>'
    assert joomla.read(url, 200, {}, bomb) == []
    old = (
        '<meta name="generator" '
        'content="Joomla! - Open Source Content Management - Version 3.9.28" />'
    )
    assert [c.version for c in joomla.read("u", 200, {}, old)] == ["3.9.28"]
    home3 = (SITES / "joomla3/index.html").read_text()
    assert {c for clue in joomla.read("u", 200, {}, home3) for c in clue.candidates} == {joomla.J3}


def test_registered_as_the_joomla_cms_plugin() -> None:
    assert isinstance(CMSES.get("joomla"), Joomla)


# ---------------------------------------------------------------- fixture sites over SSH


@dataclass
class ScratchDb:
    """A scratch MariaDB database and user, made by root over TCP without a password."""

    name: str
    user: str
    password: str

    def sql(self, statements: str, database: str | None = None) -> None:
        argv = ["mysql", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch"]
        if database:
            argv.append(f"--database={database}")
        subprocess.run(argv, input=statements, text=True, check=True, capture_output=True)


@pytest.fixture
def scratch_db(real_wp_sites: list[dict[str, Any]]) -> Iterator[ScratchDb]:
    token = uuid.uuid4().hex[:8]
    db = ScratchDb(name=f"skfx_{token}", user=f"skfx_{token}", password=f"pw-{token}#x")
    hosts = ("127.0.0.1", "localhost")
    db.sql(
        f"CREATE DATABASE `{db.name}`;"
        + "".join(
            f"CREATE USER '{db.user}'@'{h}' IDENTIFIED BY '{db.password}';"
            f"GRANT SELECT ON `{db.name}`.* TO '{db.user}'@'{h}';"
            for h in hosts
        )
    )
    try:
        yield db
    finally:
        db.sql(f"DROP DATABASE IF EXISTS `{db.name}`;" + "".join(
            f"DROP USER IF EXISTS '{db.user}'@'{h}';" for h in hosts
        ))  # fmt: skip


def copy_fixture(name: str) -> Path:
    """Copy a fixture docroot into wp2's scratch folder, owned by wp2."""
    target = SCRATCH / f"{name}-{uuid.uuid4().hex[:6]}"
    SCRATCH.mkdir(exist_ok=True)
    shutil.copytree(SITES / name, target)
    subprocess.run(["chown", "-R", "wp2:wp2", str(SCRATCH)], check=True)
    return target


def install_fixture(name: str, db: ScratchDb, config: str, prefix: str) -> str:
    """A fixture docroot with its config file rendered for the scratch database."""
    target = copy_fixture(name)
    template = target / f"{config}.in"
    rendered = (
        template.read_text()
        .replace("@HOST@", "127.0.0.1")
        .replace("@PORT@", "3306")
        .replace("@USER@", db.user)
        .replace("@PASSWORD@", db.password)
        .replace("@DB@", db.name)
        .replace("@PREFIX@", prefix)
    )
    (target / config).write_text(rendered)
    template.unlink()
    shutil.chown(target / config, "wp2", "wp2")
    return str(target)


def remove_fixture(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if SCRATCH.exists() and not any(SCRATCH.iterdir()):
        SCRATCH.rmdir()


@pytest.fixture
async def wp2(
    real_wp_sites: list[dict[str, Any]], sqlite_db: Database
) -> AsyncIterator[SshConnection]:
    site, pins = real_wp_sites[1], StoreHostKeyPins(sqlite_db)
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        yield conn


JOOMLA_TABLE = """
CREATE TABLE `jx7_extensions` (
  `extension_id` int NOT NULL AUTO_INCREMENT,
  `package_id` int NOT NULL DEFAULT 0,
  `name` varchar(100) NOT NULL,
  `type` varchar(20) NOT NULL,
  `element` varchar(100) NOT NULL,
  `changelogurl` text,
  `folder` varchar(100) NOT NULL DEFAULT '',
  `client_id` tinyint NOT NULL,
  `enabled` tinyint NOT NULL DEFAULT 0,
  `access` int unsigned NOT NULL DEFAULT 1,
  `protected` tinyint NOT NULL DEFAULT 0,
  `locked` tinyint NOT NULL DEFAULT 0,
  `manifest_cache` text NOT NULL,
  `params` text NOT NULL,
  `custom_data` text NOT NULL,
  `ordering` int DEFAULT 0,
  `state` int DEFAULT 0,
  `note` varchar(255),
  PRIMARY KEY (`extension_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `jx7_extensions`
 (name, type, element, folder, client_id, enabled, manifest_cache, params, custom_data) VALUES
 ('com_content', 'component', 'com_content', '', 1, 1, '{}', '{}', ''),
 ('COM_SKSHOP', 'component', 'com_skshop', '', 1, 1, '{}', '{}', ''),
 ('plg_system_skcache', 'plugin', 'skcache', 'system', 0, 0, '{}', '{}', ''),
 ('skdark', 'template', 'skdark', '', 0, 1, '{}', '{}', ''),
 ('mod_skhello', 'module', 'mod_skhello', '', 0, 1, '{}', '{}', ''),
 ('mod_skstats', 'module', 'mod_skstats', '', 1, 0, '{}', '{}', ''),
 ('SK Shop Package', 'package', 'pkg_skshop', '', 0, 1, '{}', '{}', '');
"""


async def test_joomla5_inventory_over_ssh(wp2: SshConnection, scratch_db: ScratchDb) -> None:
    scratch_db.sql(JOOMLA_TABLE, database=scratch_db.name)
    docroot = install_fixture("joomla5", scratch_db, "configuration.php", "jx7_")
    try:
        inv = await Joomla().inventory(wp2, docroot)
    finally:
        remove_fixture(docroot)

    assert (inv.cms, inv.version, inv.warnings) == ("joomla", "5.1.2", [])
    assert inv.database is not None
    assert "MariaDB" in inv.database
    found = {
        (e.type, e.slug): (e.name, e.version, e.active, e.update_source) for e in inv.extensions
    }
    assert found == {
        ("component", "com_skshop"): ("COM_SKSHOP", "2.3.1", True, "https://updates.example.test/skshop.xml"),
        ("plugin", "plg_system_skcache"): ("plg_system_skcache", "1.0.4", False, "none"),
        ("template", "tpl_skdark"): ("skdark", "3.0.0", True, "https://templates.example.test/list.xml"),
        ("module", "mod_skhello"): ("mod_skhello", "0.9.0", True, "none"),
        ("module", "administrator/mod_skstats"): ("mod_skstats", "1.1.0", False, "none"),
        ("package", "pkg_skshop"): (
            "SK Shop Package", "2.3.1", True, "https://updates.example.test/pkg_skshop.xml"
        ),
    }  # fmt: skip
    skshop = inv.extension("component", "com_skshop")
    assert skshop is not None
    assert skshop.file == "administrator/components/com_skshop/skshop.xml"


async def test_joomla3_legacy_version_and_missing_configuration(wp2: SshConnection) -> None:
    target = copy_fixture("joomla3")
    try:
        with pytest.raises(RemoteError, match=r"no configuration\.php"):
            await inventory(wp2, str(target))
        with pytest.raises(RemoteError, match=r"not a Joomla 3\+ install") as caught:
            await inventory(wp2, str(target / "language"))
    finally:
        remove_fixture(str(target))
    assert caught.value.permanent


async def test_joomla_reads_the_first_extensions_of_a_crowded_folder(
    wp2: SshConnection, scratch_db: ScratchDb
) -> None:
    """A plugin group with more folders than the cap: the first ones by name are read, and
    a warning says the site has more extensions than sitekeeper reads."""
    scratch_db.sql(JOOMLA_TABLE, database=scratch_db.name)
    docroot = install_fixture("joomla5", scratch_db, "configuration.php", "jx7_")
    group = Path(docroot) / "plugins" / "system"
    for i in range(1200):
        (group / f"zz-crowd-{i:04d}").mkdir()
    try:
        inv = await Joomla().inventory(wp2, docroot)
    finally:
        remove_fixture(docroot)

    assert inv.extension("plugin", "plg_system_skcache") is not None  # first by name: read
    assert inv.warnings == [
        f"the site has more extensions than sitekeeper reads: {group} has 1,201 entries; "
        "the first 1,000 by name were read (cap 1,000)"
    ]
