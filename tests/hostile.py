"""wp3, a real WordPress site made hostile the way an attacker who owns it would.

The realsites script adds wp3 beside wp1/wp2 (``up 3`` is additive); wp1 and
wp2 stay pristine for the other tests. The hostile parts are written over SSH
as the site's own user, and removed afterwards (and before, in case an earlier
run was killed): escape sequences, Rich markup and line breaks in plugin and
theme headers, folder names, ``$wp_version`` and HTTP headers, a ``mysql`` on
the site user's PATH that lies about the server version or forges a log line
on stderr, and (separately, as they are big) the symlink fan-out and a plugins
folder with 50,000 entries.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from tests.realsites import all_sites_up, private_key, ssh_access, wp_record

N = 3  # wp3: a site of its own, so wp1 and wp2 stay pristine
DOCROOT = f"/srv/sites/wp{N}"
PLUGINS = f"{DOCROOT}/wp-content/plugins"
THEMES = f"{DOCROOT}/wp-content/themes"

OSC52 = "\x1b]52;c;ZWNobyBwd25lZCA+IC90bXAvcHduZWQ=\x07"  # writes the operator's clipboard
CLEAR = "\x1b[2J\x1b[H"  # clears the screen (a backdoor hides its own line)
TITLE = "\x1b]0;owned\x07"  # window title
LINK = "\x1b]8;;file:///etc/passwd\x1b\\click\x1b]8;;\x1b\\"  # OSC 8 hyperlink
C1 = "\x9b2J"  # 8-bit CSI
MARKUP = "[link=file:///etc/passwd]x[/link][bold red]red[/bold red]"
BREAKS = "\u2028INJECTED\x0bINJECTED\x85INJECTED"  # line breaks a header line may hold
FORGED = "2026-12-06 03:00:00,000 INFO sitekeeper.engine.tasks: task 99: ok"

EVIL_SLUG = "sk-hostile-esc"
NL_SLUG = f"sk-hostile-nl\nINJECTED\t[bold red]x{TITLE}"  # a folder name: no "/" in it
THEME_SLUG = f"sk-hostile-theme{CLEAR}"
CORE_VERSION = f"6.1.9{TITLE}{MARKUP}"
DB_VERSION = f"10.11.6-MariaDB{OSC52}{MARKUP}"
X_GENERATOR = f"Drupal 10 {OSC52} {MARKUP}"
LOCATION = f"gopher://{TITLE}{MARKUP}"
REDIRECT_QUERY = "sk-hostile-redirect=1"


def _php(text: str) -> str:
    """A PHP double-quoted string literal with every control character as an escape."""
    out = []
    for char in text:
        if char in '"\\$':
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


EVIL_PLUGIN = f"""<?php
/*
Plugin Name: Evil {OSC52}{CLEAR}{TITLE}{LINK}{C1}{MARKUP}{BREAKS}\u202egnp.exe
Version: 6.6.6{TITLE}{MARKUP}{BREAKS}
Update URI: https://evil.example/{LINK}{MARKUP}
*/
"""
NL_PLUGIN = "<?php\n/*\nPlugin Name: Newline folder\nVersion: 1.0\n*/\n"
THEME_CSS = f"/*\nTheme Name: {MARKUP}{OSC52}\nVersion: 2.0{CLEAR}\n*/\n"
MU_PLUGIN = f"""<?php
header({_php(f"X-Generator: {X_GENERATOR}")});
if (isset($_GET['sk-hostile-redirect'])) {{
    header({_php(f"Location: {LOCATION}")}, true, 302);
    exit;
}}
"""

# A mysql first on the site user's PATH (from ~/.bashrc, which bash reads for SSH commands):
# "lie" mode passes the real client's output with a hostile server version; "forge" mode
# fails with a stderr that imitates sitekeeper's own log line, escapes included.
FAKE_MYSQL = r"""#!/bin/sh
mode=$(cat "$HOME/.sk-hostile-mysql-mode" 2>/dev/null)
if [ "$mode" = forge ]; then
    cat >/dev/null
    printf 'ERROR 2002 (HY000): Can'"'"'t connect to server\n%s\033[2J\033]0;owned\007\n' \
        'FORGED' >&2
    exit 1
fi
/usr/bin/mysql "$@" | sed "s/^version\t.*/version\tHEX/"
""".replace("FORGED", FORGED).replace("HEX", DB_VERSION.encode().hex().upper())
BASHRC = 'export PATH="$HOME/.sk-hostile-bin:$PATH"\n'

TEARDOWN = f"""
cd {DOCROOT}
cp /usr/share/wordpress/wp-includes/version.php wp-includes/version.php
rm -rf .bashrc .sk-hostile-bin .sk-hostile-mysql-mode wp-content/mu-plugins/sk-hostile.php \
    wp-content/sk-hostile-* wp-content/plugins/sk-hostile-* wp-content/plugins/zz-* \
    wp-content/themes/sk-hostile-*
rmdir wp-content/mu-plugins 2>/dev/null || true
"""


def site() -> dict[str, Any]:
    """wp3 as ``real_wp_sites`` describes a site."""
    return wp_record(N)


@pytest.fixture(scope="session")
def wp3_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """wp3 set up and started with the other real sites."""
    all_sites_up(tmp_path_factory)
    return site()


async def open_wp3(db: Database, wp3: dict[str, Any]) -> SshConnection:
    """A connection to wp3 as the product opens one (pinned host key, key from the vault)."""
    return await connect(ssh_access(wp3), StoreHostKeyPins(db), private_key=private_key(wp3))


async def make_hostile(conn: SshConnection) -> None:
    """wp3 as an attacker who owns it leaves it (see the module docstring)."""
    await undo_hostile(conn)
    await conn.run(["mkdir", "-p", "--", f"{PLUGINS}/{EVIL_SLUG}", f"{PLUGINS}/{NL_SLUG}"])
    await conn.write_file(f"{PLUGINS}/{EVIL_SLUG}/{EVIL_SLUG}.php", EVIL_PLUGIN.encode())
    await conn.write_file(f"{PLUGINS}/{NL_SLUG}/plugin.php", NL_PLUGIN.encode())
    await conn.run(
        ["mkdir", "-p", "--", f"{THEMES}/{THEME_SLUG}", f"{DOCROOT}/wp-content/mu-plugins"]
    )
    await conn.write_file(f"{THEMES}/{THEME_SLUG}/style.css", THEME_CSS.encode())
    await conn.write_file(f"{DOCROOT}/wp-content/mu-plugins/sk-hostile.php", MU_PLUGIN.encode())
    version = await conn.read_file(f"{DOCROOT}/wp-includes/version.php", 64 * 1024)
    hostile = re.sub(
        rb"\$wp_version = '[^']*';", f"$wp_version = '{CORE_VERSION}';".encode(), version
    )
    await conn.write_file(f"{DOCROOT}/wp-includes/version.php", hostile, mode=0o644)
    await conn.run(["mkdir", "-p", "--", f"{DOCROOT}/.sk-hostile-bin"])
    await conn.write_file(f"{DOCROOT}/.sk-hostile-bin/mysql", FAKE_MYSQL.encode(), mode=0o755)
    await conn.write_file(f"{DOCROOT}/.bashrc", BASHRC.encode(), mode=0o644)


async def forge_mysql(conn: SshConnection, on: bool = True) -> None:
    """Switch the lying mysql between a hostile version (off) and a forged failure (on)."""
    path = f"{DOCROOT}/.sk-hostile-mysql-mode"
    await conn.write_file(path, b"forge" if on else b"lie")


async def undo_hostile(conn: SshConnection) -> None:
    """Remove all that ``make_hostile``, ``add_fan_out`` and ``add_many_plugins`` added."""
    await conn.run(["sh", "-c", TEARDOWN], time_limit=600)


@pytest.fixture
async def hostile_wp3(
    wp3_site: dict[str, Any], sqlite_db: Database
) -> AsyncIterator[SshConnection]:
    """An open connection to wp3 made hostile; everything added is removed afterwards."""
    async with await open_wp3(sqlite_db, wp3_site) as conn:
        await make_hostile(conn)
        try:
            yield conn
        finally:
            await undo_hostile(conn)


BIG_FILES = 19_990


async def add_fan_out(conn: SshConnection, links: int) -> None:
    """The issue's fan-out: a folder of 19,990 empty .php files and ``links`` plugins
    that are symlinks to it (``wp-content/plugins/zz-sI -> ../sk-hostile-bigdir``)."""
    script = f"""
set -e
cd {DOCROOT}/wp-content
mkdir -p sk-hostile-bigdir
cd sk-hostile-bigdir
seq -f 'f%05g.php' 1 {BIG_FILES} | xargs touch
cd ../plugins
for i in $(seq 1 {links}); do ln -s ../sk-hostile-bigdir "zz-s$i"; done
"""
    await conn.run(["sh", "-c", script], time_limit=600)


async def add_many_plugins(conn: SshConnection, count: int) -> None:
    """``count`` plugin entries (``zz-many-NNNNN``), after the real ones by name.

    Empty files, not folders: the cap counts entries either way, and removing 50,000
    folders takes a minute on a disk mounted with ``discard`` (under a second as files).
    """
    script = f"cd {PLUGINS} && seq -f 'zz-many-%05g' 1 {count} | xargs touch"
    await conn.run(["sh", "-c", script], time_limit=600)
