"""Breaking a real WordPress site the ways a bad update does, as root on the test host.

Each helper writes files owned by the site's user (as an upgrader running as the owner
would) or changes the site's database, and nothing else; the ``wp5`` fixture
(``tests.updates.sites``) puts the site back after the test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PLUGIN_HEADER = "<?php\n/*\nPlugin Name: {name}\nVersion: {version}\n*/\n"

# Fatals while WordPress loads its plugins: every page answers 500 (the fatal handler).
FATAL_ON_LOAD = "sk_undefined_function_called_on_load();\n"
# Fatals only when the front page is rendered: wp-login.php still works.
FATAL_FRONT_PAGE = (
    "add_action('template_redirect', function () {\n"
    "    if (is_front_page()) { sk_undefined_function_on_the_front_page(); }\n"
    "});\n"
)
# Fatals only where is_admin() is true (wp-admin, and WordPress loaded as wp-admin from
# the CLI): the home page and wp-login.php stay healthy.
FATAL_IN_ADMIN = "if (is_admin()) { sk_undefined_function_in_wp_admin(); }\n"
# Ends the front page before anything is printed: 200 with an empty body.
EMPTY_FRONT_PAGE = (
    "add_action('template_redirect', function () {\n    if (is_front_page()) { exit; }\n});\n"
)
# A page cache as caching plugins do it: a stored copy for requests without a query string,
# served before any plugin loads (so a broken plugin behind it goes unseen).
STALE_CACHE = (
    "<?php\n"
    "$sk_copy = __DIR__ . '/sk-stale-cache.html';\n"
    "if (($_SERVER['QUERY_STRING'] ?? '') === '' && is_readable($sk_copy)) {\n"
    "    header('Content-Type: text/html; charset=UTF-8');\n"
    "    readfile($sk_copy);\n"
    "    exit;\n"
    "}\n"
)


def owner(site: dict[str, Any]) -> str:
    """The site's Unix user and group, as ``chown`` takes them."""
    return f"{site['name']}:{site['name']}"


def write_as_site(site: dict[str, Any], relative: str, content: str, mode: int = 0o644) -> Path:
    """A file under the docroot, owned by the site's user (folders made as needed)."""
    path = Path(site["docroot"]) / relative
    for parent in reversed(path.relative_to(site["docroot"]).parents[:-1]):
        folder = Path(site["docroot"]) / parent
        if not folder.exists():
            folder.mkdir(mode=0o755)
            shutil.chown(folder, site["name"], site["name"])
    path.write_text(content, encoding="utf-8")
    path.chmod(mode)
    shutil.chown(path, site["name"], site["name"])
    return path


def plugin(site: dict[str, Any], slug: str, body: str, version: str = "9.9") -> str:
    """A one-file plugin ``slug/slug.php`` (replacing the folder if it exists); returns the
    plugin's file as WordPress names it in ``active_plugins``."""
    folder = Path(site["docroot"]) / "wp-content/plugins" / slug
    if folder.exists():
        shutil.rmtree(folder)
    code = PLUGIN_HEADER.format(name=slug, version=version) + body
    write_as_site(site, f"wp-content/plugins/{slug}/{slug}.php", code)
    return f"{slug}/{slug}.php"


def root_sql(site: dict[str, Any], sql: str) -> str:
    """SQL on the site's database as the local MariaDB root, tab-separated output."""
    return subprocess.run(
        ["mysql", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", site["db"]["name"]],
        input=sql,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def active_plugins(site: dict[str, Any]) -> list[str]:
    """The plugin files WordPress loads (option ``active_plugins``)."""
    value = root_sql(site, "SELECT option_value FROM wp_options WHERE option_name='active_plugins'")
    return re.findall(r's:\d+:"([^"]*)"', value)


def activate(site: dict[str, Any], plugin_file: str) -> None:
    """Add a plugin to ``active_plugins`` (what activating it in wp-admin stores)."""
    files = [*active_plugins(site), plugin_file]
    items = "".join(f'i:{n};s:{len(f.encode())}:"{f}";' for n, f in enumerate(files))
    value = f"a:{len(files)}:{{{items}}}"
    root_sql(
        site, f"UPDATE wp_options SET option_value='{value}' WHERE option_name='active_plugins'"
    )


def leave_maintenance(site: dict[str, Any]) -> None:
    """The ``.maintenance`` file an interrupted WordPress update leaves behind."""
    write_as_site(site, ".maintenance", "<?php $upgrading = time(); ?>")


def stale_page_cache(site: dict[str, Any]) -> bytes:
    """Serve the home page as it is now to every request without a query string, from
    now on (a must-use plugin, loaded before plugins); returns the cached copy."""
    with urllib.request.urlopen(site["url"], timeout=30) as answer:
        copy: bytes = answer.read()
    write_as_site(site, "wp-content/mu-plugins/sk-stale-cache.html", copy.decode("utf-8"))
    write_as_site(site, "wp-content/mu-plugins/sk-stale-cache.php", STALE_CACHE)
    return copy


def naive_get(url: str) -> tuple[int, bytes]:
    """What a health probe that ignores caches sees: a plain GET of the URL."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def own_as_root(folder: Path) -> None:
    """What an updater run as root leaves: a folder (and all in it) owned by root."""
    subprocess.run(["chown", "-R", "root:root", str(folder)], check=True, timeout=60)
