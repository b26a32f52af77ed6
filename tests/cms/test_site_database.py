"""The database side of each CMS, as backups and drills use it: credentials, pointing a
restored config file at a drill's database, and the home page's title.

Pointed config files are checked by reading them back with PHP itself (the CLI
that serves drills), not only with our parser.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sitekeeper.cms.site_database import DrillTarget, site_database
from sitekeeper.errors import RemoteError, UsageError

SITES = Path(__file__).parents[1] / "fixtures" / "sites"
TARGET = DrillTarget(
    database="sk_drill_7_ab12",
    user="sk_drill_7_ab12",
    password="p'w\\x#y",  # a quote, a backslash, a comment sign: all literal
    host="127.0.0.1",
    port=3307,
    url="http://127.0.0.1:45678",
)


def _render(template: Path, prefix: str) -> bytes:
    return (
        template.read_text()
        .replace("@HOST@", "db.client.example")
        .replace("@PORT@", "3306")
        .replace("@USER@", "live_user")
        .replace("@PASSWORD@", "live-secret")
        .replace("@DB@", "live_db")
        .replace("@PREFIX@", prefix)
        .encode()
    )


JOOMLA = _render(SITES / "joomla5/configuration.php.in", "k7v2q_")
DRUPAL = _render(SITES / "drupal10/sites/default/settings.php.in", "")
WORDPRESS = b"""<?php\r
define( 'DB_NAME', 'live_db' );\r
define( 'DB_USER', 'live_user' );\r
define( 'DB_PASSWORD', 'live-secret' );\r
define( 'DB_HOST', 'db.client.example' );\r
$table_prefix = 'wp_';\r
define( 'WP_HOME', getenv( 'HOME_URL' ) );\r
require_once ABSPATH . 'wp-settings.php';\r
"""


def _php(code: str, config: bytes, tmp_path: Path) -> dict[str, object]:
    """What PHP itself makes of a config file (``code`` prints a JSON object)."""
    path = tmp_path / "config.php"
    path.write_bytes(config)
    script = f"$file = {json.dumps(str(path))}; {code}"
    done = subprocess.run(
        ["php", "-d", "display_errors=stderr", "-r", script],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


# ---------------------------------------------------------------- credentials


def test_credentials_of_each_cms() -> None:
    joomla = site_database("joomla").credentials(JOOMLA)
    drupal = site_database("drupal").credentials(DRUPAL)
    wordpress = site_database("wordpress").credentials(WORDPRESS)
    assert (joomla.name, joomla.user, joomla.password, joomla.table_prefix) == (
        "live_db",
        "live_user",
        "live-secret",
        "k7v2q_",
    )
    assert (drupal.name, drupal.host, drupal.port, drupal.table_prefix) == (
        "live_db",
        "db.client.example",
        3306,
        "",
    )
    assert (wordpress.name, wordpress.table_prefix) == ("live_db", "wp_")


def test_a_database_that_is_not_mysql_is_not_backed_up() -> None:
    with pytest.raises(RemoteError, match="database type 'pgsql' is not backed up"):
        site_database("joomla").credentials(JOOMLA.replace(b"'mysqli'", b"'pgsql'"))
    with pytest.raises(RemoteError, match="driver 'pgsql' is not backed up"):
        site_database("drupal").credentials(DRUPAL.replace(b"'mysql',", b"'pgsql',"))


def test_config_files_are_where_each_cms_keeps_them() -> None:
    assert site_database("wordpress").config_files == ("wp-config.php", "../wp-config.php")
    assert site_database("joomla").config_files == ("configuration.php",)
    assert site_database("drupal").config_files == ("sites/default/settings.php",)
    with pytest.raises(UsageError, match="cannot back up the database of typo3 sites"):
        site_database("typo3")


# ---------------------------------------------------------------- pointing a restored config


def test_wordpress_points_at_the_drill(tmp_path: Path) -> None:
    (tmp_path / "wp-settings.php").write_text("<?php\n")
    pointed = site_database("wordpress").point_at(WORDPRESS, TARGET)
    values = _php(
        f"define('ABSPATH', {json.dumps(str(tmp_path) + '/')}); require $file;"
        "echo json_encode(['v' => [DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, WP_HOME, WP_SITEURL,"
        " DISABLE_WP_CRON]]);",
        pointed,
        tmp_path,
    )
    assert values == {
        "v": [
            TARGET.database,
            TARGET.user,
            TARGET.password,
            "127.0.0.1:3307",
            TARGET.url,  # defined first: the site's own getenv() definition comes too late
            TARGET.url,
            True,
        ]
    }


def test_joomla_points_at_the_drill(tmp_path: Path) -> None:
    pointed = site_database("joomla").point_at(JOOMLA, TARGET)
    values = _php(
        "require $file; $c = new JConfig;"
        "echo json_encode(['host' => $c->host, 'user' => $c->user, 'password' => $c->password,"
        " 'db' => $c->db, 'dbprefix' => $c->dbprefix, 'live_site' => $c->live_site,"
        " 'force_ssl' => $c->force_ssl, 'sitename' => $c->sitename]);",
        pointed,
        tmp_path,
    )
    assert values == {
        "host": "127.0.0.1:3307",
        "user": TARGET.user,
        "password": TARGET.password,
        "db": TARGET.database,
        "dbprefix": "k7v2q_",  # the restored tables keep their prefix
        "live_site": TARGET.url,
        "force_ssl": 0,
        "sitename": "Joomla Fixture",
    }
    declared_once = pointed.count(b"public $host")
    assert declared_once == 1


def test_drupal_points_at_the_drill(tmp_path: Path) -> None:
    closing = DRUPAL + b"\n?>\n"  # a closing tag at the end changes nothing
    for source in (DRUPAL, closing):
        pointed = site_database("drupal").point_at(source, TARGET)
        values = _php(
            "$app_root = '/x'; $site_path = 'sites/default'; $settings = []; $databases = [];"
            "ob_start(); require $file; ob_end_clean();"
            "echo json_encode($databases['default']['default'] + "
            "['trusted' => $settings['trusted_host_patterns']]);",
            pointed,
            tmp_path,
        )
        assert values["database"] == TARGET.database
        assert (values["username"], values["password"]) == (TARGET.user, TARGET.password)
        assert (values["host"], values["port"], values["prefix"]) == ("127.0.0.1", "3307", "")
        assert values["namespace"] == "Drupal\\mysql\\Driver\\Database\\mysql"
        assert values["trusted"] == ["^127\\.0\\.0\\.1$", "^localhost$"]


@pytest.mark.parametrize(
    ("cms", "source", "message"),
    [
        # a constructor could set the live database again after our values
        (
            "joomla",
            JOOMLA.replace(
                b"class JConfig {",
                b"class JConfig {\n\tfunction __construct() { $this->host = 'db.client.example'; }",
            ),
            "holds functions",
        ),
        # a value that is not a literal cannot be replaced, and is not declared twice
        (
            "joomla",
            JOOMLA.replace(b"'db.client.example'", b"'db.' . 'client.example'"),
            r"\(\$host\)",
        ),
        ("joomla", b"<?php\n$host = 'x';\n", "no class JConfig"),
        # settings.php that stops before its end would never reach the drill's settings
        ("drupal", DRUPAL.replace(b"$databases = [];", b"$databases = []; return;"), "stop"),
        ("drupal", DRUPAL.replace(b"$databases = [];", b"if (1) { die(); }"), "stop"),
        ("wordpress", b"define('DB_NAME', 'x');", "no <\\?php"),
    ],
)
def test_a_config_that_cannot_be_pointed_with_certainty_is_refused(
    cms: str, source: bytes, message: str
) -> None:
    with pytest.raises(RemoteError, match=message) as caught:
        site_database(cms).point_at(source, TARGET)
    assert caught.value.permanent


# ---------------------------------------------------------------- the home page's title


def _hex(text: str) -> str:
    return text.encode().hex().upper() + "\n"


def test_titles_from_the_restored_database() -> None:
    wordpress, joomla, drupal = (site_database(c) for c in ("wordpress", "joomla", "drupal"))
    assert wordpress.title(_hex("Shop & Co"), WORDPRESS) == "Shop & Co"
    assert "`wp_options`" in wordpress.title_sql("wp_")

    params = json.dumps({"page_title": "Realsites Joomla jm1", "show_page_heading": "0"})
    assert joomla.title(_hex(params), JOOMLA) == "Realsites Joomla jm1"
    assert joomla.title(_hex('{"page_title":""}'), JOOMLA) == "Joomla Fixture"  # the sitename
    assert joomla.title("", JOOMLA) == "Joomla Fixture"
    assert "`k7v2q_menu`" in joomla.title_sql("k7v2q_")

    site = 'a:2:{s:4:"uuid";s:1:"x";s:4:"name";s:20:"Realsites Drupal dr1";}'
    assert drupal.title(_hex(site), DRUPAL) == "Realsites Drupal dr1"
    assert drupal.title(_hex('O:8:"stdClass":0:{}'), DRUPAL) == ""  # never an object
    assert "`config`" in drupal.title_sql("")
