"""WordPress inventory over SSH, against the real sites, plus its parsers."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sitekeeper.cms.db_credentials import DbCredentials, parse_db_host
from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.registry import CMSES
from sitekeeper.cms.wordpress import WordPress
from sitekeeper.cms.wordpress.config import credentials_from_config
from sitekeeper.cms.wordpress.inventory import (
    HEADER_BYTES,
    inventory,
    parse_file_header,
    parse_mysql_rows,
)
from sitekeeper.domain.inventory import Extension, diff
from sitekeeper.errors import RemoteError
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from tests.realsites import private_key, real_wp_sites, ssh_access

__all__ = ["real_wp_sites"]

# ---------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", None, None)),
        ("db.example:3307", ("db.example", 3307, None)),
        ("localhost:/run/mysqld/mysqld.sock", ("localhost", None, "/run/mysqld/mysqld.sock")),
        ("[::1]:3306", ("::1", 3306, None)),
        ("::1", ("::1", None, None)),
        ("localhost", ("localhost", None, None)),
        (" 127.0.0.1\r", ("127.0.0.1", None, None)),
    ],
)
def test_parse_db_host(value: str, expected: tuple[str | None, int | None, str | None]) -> None:
    assert parse_db_host(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"<?php\n/*\nPlugin Name: A\nVersion: 1.2\n*/", {"Plugin Name": "A", "Version": "1.2"}),
        (
            b"<?php\r/**\r * Plugin Name: CR only\r * Version: 2.0 */",
            {"Plugin Name": "CR only", "Version": "2.0"},
        ),
        (b"<?php // Plugin Name: Inline ?>\n", {"Plugin Name": "Inline"}),
        (b"<?php\n# plugin name:   lower case  \n", {"Plugin Name": "lower case"}),
        (b"<?php\n$x = 'Plugin Name: not at line start';", {}),
        (b"<?php\n/*\nPlugin Name:\n*/", {}),  # empty value = absent
        (b"<?php\n" + b" " * HEADER_BYTES + b"\nPlugin Name: too late\n", {}),
    ],
)
def test_parse_file_header(text: bytes, expected: dict[str, str]) -> None:
    assert parse_file_header(text, ("Plugin Name", "Version")) == expected


def test_header_values_are_capped() -> None:
    header = parse_file_header(b"Plugin Name: " + b"x" * 5000, ("Plugin Name",))
    assert len(header["Plugin Name"]) == 200


def test_credentials_from_config_and_option_file_quoting() -> None:
    config = parse_php_config(
        "<?php\r\ndefine('DB_NAME','n');\r\ndefine('DB_USER','u');\r\n"
        "define('DB_PASSWORD','a#b\"c\\\\d');\r\ndefine('DB_HOST','h:3307');\r\n"
        "$table_prefix = 'wp2_';\r\n"
    )
    creds = credentials_from_config(config)
    assert (creds.host, creds.port, creds.table_prefix) == ("h", 3307, "wp2_")
    assert b'password="a#b\\"c\\\\d"\n' in creds.option_file()
    assert not any(creds.password in arg for arg in creds.mysql_argv("SELECT 1"))


@pytest.mark.parametrize(
    ("prefix_line", "message"),
    [
        ("$table_prefix = 'wp_; DROP TABLE x';", "invalid"),
        ("$table_prefix = getenv('P');", "invalid"),
        ("", "invalid"),
    ],
)
def test_bad_table_prefix_is_refused(prefix_line: str, message: str) -> None:
    config = parse_php_config(
        "<?php define('DB_NAME','n'); define('DB_USER','u'); define('DB_PASSWORD','p');"
        f"define('DB_HOST','h'); {prefix_line}"
    )
    with pytest.raises(RemoteError, match=message):
        credentials_from_config(config)


def test_missing_credentials_are_named() -> None:
    with pytest.raises(RemoteError, match="DB_PASSWORD, DB_HOST"):
        credentials_from_config(
            parse_php_config("<?php define('DB_NAME','n'); define('DB_USER','u');")
        )


def test_mysql_rows_are_hex_framed() -> None:
    assert parse_mysql_rows("version\t31302E31\ntemplate\t\nnoise\n") == {
        "version": b"10.1",
        "template": b"",
    }
    with pytest.raises(RemoteError, match="unexpected mysql output"):
        parse_mysql_rows("version\tnot-hex")


def test_registered_as_the_wordpress_cms_plugin() -> None:
    assert isinstance(CMSES.get("wordpress"), WordPress)


# ---------------------------------------------------------------- real sites


@pytest.fixture
def pins(sqlite_db: Database) -> StoreHostKeyPins:
    return StoreHostKeyPins(sqlite_db)


@pytest.fixture
async def wp1(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins
) -> AsyncIterator[SshConnection]:
    site = real_wp_sites[0]
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        yield conn


@pytest.fixture
async def wp2(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins
) -> AsyncIterator[SshConnection]:
    """wp2 is the site the tests change (temporarily); wp1 stays pristine."""
    site = real_wp_sites[1]
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        yield conn


def _by_slug(extensions: list[Extension]) -> dict[tuple[str, str], tuple[str | None, bool]]:
    return {(e.type, e.slug): (e.version, e.active) for e in extensions}


async def test_inventory_of_a_real_site(wp1: SshConnection) -> None:
    inv = await WordPress().inventory(wp1, "/srv/sites/wp1")

    assert inv.cms == "wordpress"
    assert inv.version == "6.1.9"
    assert inv.php is not None
    assert inv.php.startswith("8.")
    assert inv.database is not None
    assert "MariaDB" in inv.database
    assert _by_slug(inv.extensions) == {
        ("plugin", "xrds-simple"): ("1.2", True),
        ("plugin", "akismet"): ("5.0.2", False),
        ("plugin", "http-authentication"): ("4.6", False),
        ("theme", "twentytwentythree"): ("1.0", True),
        ("theme", "twentytwentytwo"): ("1.3", False),
        ("theme", "twentytwentyone"): ("1.7", False),
    }
    akismet = inv.extension("plugin", "akismet")
    assert akismet is not None
    assert (akismet.name, akismet.file) == ("Akismet Anti-Spam", "akismet/akismet.php")
    assert akismet.update_source == "wordpress.org"
    assert inv.warnings == []
    assert inv.collected_at.tzinfo is not None


async def test_not_a_wordpress_docroot(wp1: SshConnection) -> None:
    with pytest.raises(RemoteError, match="not a WordPress install") as caught:
        await inventory(wp1, "/srv/sites/wp1/wp-content")
    assert caught.value.permanent


FAKE_PLUGIN = b"""<?php
/**
 * Plugin Name: Sitekeeper Test Plugin
 * Version: 0.0.1
 * Update URI: https://updates.example.test/sk-test
 */
"""


async def test_diff_sees_a_plugin_uploaded_over_ssh_and_removed(wp2: SshConnection) -> None:
    plugin_dir = "/srv/sites/wp2/wp-content/plugins/sk-test-uploaded"
    before = await inventory(wp2, "/srv/sites/wp2")
    await wp2.run(["mkdir", plugin_dir])
    try:
        await wp2.write_file(f"{plugin_dir}/sk-test-uploaded.php", FAKE_PLUGIN, mode=0o644)
        during = await inventory(wp2, "/srv/sites/wp2")
    finally:
        await wp2.run(["rm", "-rf", "--", plugin_dir])
    after = await inventory(wp2, "/srv/sites/wp2")

    added = diff(before, during)
    assert [(e.slug, e.name, e.version, e.active) for e in added.installed] == [
        ("sk-test-uploaded", "Sitekeeper Test Plugin", "0.0.1", False)
    ]
    assert added.installed[0].update_source == "https://updates.example.test/sk-test"
    assert not (added.removed)
    assert not (added.upgraded)
    assert not (added.downgraded)
    gone = diff(during, after)
    assert [e.slug for e in gone.removed] == ["sk-test-uploaded"]
    assert diff(before, after).empty


HOSTILE_SETUP = r"""
set -e
cd /srv/sites/wp2/wp-content/plugins
ln -s /etc sk-hostile-etc
ln -s /etc/passwd sk-hostile-passwd.php
ln -s akismet sk-hostile-inside
mkfifo sk-hostile-fifo.php
mkdir sk-hostile-huge sk-hostile-binary sk-hostile-many
{ printf '<?php\n/*\nPlugin Name: Huge\nVersion: '; head -c 20000000 /dev/zero | tr '\0' 9; } \
    > sk-hostile-huge/sk-hostile-huge.php
head -c 200000 /dev/urandom > sk-hostile-binary/sk-hostile-binary.php
for i in $(seq 1 300); do printf '<?php // no header\n' > sk-hostile-many/f$i.php; done
cd ../themes
ln -s /usr/share/wordpress/wp-content/themes/twentytwentythree sk-hostile-theme
"""
HOSTILE_TEARDOWN = (
    "cd /srv/sites/wp2/wp-content/plugins && rm -rf sk-hostile-* && rm -f ../themes/sk-hostile-*"
)


@pytest.fixture
async def hostile_wp2(wp2: SshConnection) -> AsyncIterator[SshConnection]:
    await wp2.run(["sh", "-c", HOSTILE_TEARDOWN])
    await wp2.run(["sh", "-c", HOSTILE_SETUP])
    try:
        yield wp2
    finally:
        await wp2.run(["sh", "-c", HOSTILE_TEARDOWN])


async def test_hostile_files_stay_bounded_and_inside_the_docroot(
    hostile_wp2: SshConnection,
) -> None:
    async with asyncio.timeout(60):
        inv = await inventory(hostile_wp2, "/srv/sites/wp2")

    slugs = {e.slug for e in inv.extensions}
    assert {"sk-hostile-etc", "sk-hostile-passwd", "sk-hostile-theme"}.isdisjoint(slugs)
    assert {"sk-hostile-fifo", "sk-hostile-binary", "sk-hostile-many"}.isdisjoint(slugs)
    assert "root:x:0:0" not in inv.model_dump_json()
    outside = " ".join(w for w in inv.warnings if "outside the docroot" in w or "out of" in w)
    assert "sk-hostile-etc" in outside
    assert "sk-hostile-passwd.php" in outside
    assert "sk-hostile-theme" in outside
    assert any("sk-hostile-fifo.php" in w and "not a regular file" in w for w in inv.warnings)

    huge = inv.extension("plugin", "sk-hostile-huge")
    assert huge is not None
    assert huge.name == "Huge"
    assert huge.version is not None
    assert set(huge.version) == {"9"}
    assert len(huge.version) <= 200
    inside = inv.extension("plugin", "sk-hostile-inside")  # a symlink that stays inside: fine
    assert inside is not None
    assert inside.name == "Akismet Anti-Spam"
    # The real extensions are all still there.
    assert {"akismet", "xrds-simple", "http-authentication", "twentytwentythree"} <= slugs


async def test_database_password_travels_on_stdin_with_special_characters(
    wp1: SshConnection,
) -> None:
    """A password with #, quotes, backslash and $ reaches MariaDB intact, never via argv."""
    password = "p#a\"s's\\w$o`r;d x"
    sql_password = password.replace("\\", "\\\\").replace("'", "\\'")
    user = "sk_test_quoting"
    _mariadb_root(
        f"DROP USER IF EXISTS '{user}'@'127.0.0.1'; "
        f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{sql_password}'; "
        f"GRANT SELECT ON wp1.* TO '{user}'@'127.0.0.1';"
    )
    creds = DbCredentials("wp1", user, password, "127.0.0.1", 3306, None, "wp_")
    try:
        argv = creds.mysql_argv("SELECT CURRENT_USER()")
        result = await wp1.run(argv, stdin=creds.option_file())
    finally:
        _mariadb_root(f"DROP USER IF EXISTS '{user}'@'127.0.0.1';")
    assert result.text.strip() == f"{user}@127.0.0.1"
    assert all(password not in arg for arg in argv)


def _mariadb_root(sql: str) -> None:
    """Administer MariaDB as root through its socket (the realsites set-up allows it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a MariaDB user")
    subprocess.run(["mysql", "--protocol=socket", "-e", sql], check=True, timeout=30)
