"""Joomla's ``configuration.php``: the database credentials, a restored copy pointed at
a drill's database, and the home page's title (what backups and restore drills need).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from sitekeeper.cms.db_credentials import DbCredentials, hex_value, parse_db_host
from sitekeeper.cms.php_config import class_values
from sitekeeper.cms.php_edit import set_members, words
from sitekeeper.domain.untrusted import clean
from sitekeeper.errors import RemoteError

if TYPE_CHECKING:
    from sitekeeper.cms.site_database import DrillTarget


_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def db_credentials(source: bytes) -> tuple[DbCredentials, str]:
    """Credentials and ``dbtype`` from ``configuration.php``; RemoteError if unusable."""
    values = class_values(source)
    needed = {k: values.get(k) for k in ("host", "user", "password", "db", "dbprefix")}
    missing = [k for k, v in needed.items() if v is None]
    if missing:
        raise RemoteError(
            f"configuration.php has no literal ${', $'.join(missing)}", permanent=True
        )
    prefix = str(needed["dbprefix"])
    if not _PREFIX.match(prefix):
        raise RemoteError(f"configuration.php $dbprefix is invalid ({prefix!r})", permanent=True)
    host, port, socket = parse_db_host(str(needed["host"]))
    creds = DbCredentials(
        name=str(needed["db"]),
        user=str(needed["user"]),
        password=str(needed["password"]),
        host=host,
        port=port,
        socket=socket,
        table_prefix=prefix,
    )
    return creds, str(values.get("dbtype") or "mysqli")


def point_at(config: bytes, target: DrillTarget) -> bytes:
    """``configuration.php`` pointed at a drill's database and loopback URL.

    Joomla's settings are the declared values of ``class JConfig``'s members, so a
    file with functions (a constructor could set them again) is refused. Each member
    is replaced where it is declared with a literal, or declared; the result is read
    back, and a setting that did not become the drill's is refused.
    """
    text = config.decode("utf-8", "surrogateescape")
    if "function" in words(text):
        raise RemoteError(
            "configuration.php holds functions, not only settings; a drill does not point it",
            permanent=True,
        )
    values: dict[str, str | int] = {
        "host": f"{target.host}:{target.port}",
        "user": target.user,
        "password": target.password,
        "db": target.database,
        "live_site": target.url,
        "force_ssl": 0,  # the drill serves plain HTTP on loopback
    }
    try:
        pointed = set_members(text, "JConfig", values)
    except ValueError:
        raise RemoteError("configuration.php has no class JConfig", permanent=True) from None
    read = class_values(pointed)
    wrong = [k for k, v in values.items() if read.get(k) != v]
    if wrong:
        raise RemoteError(
            "configuration.php could not be pointed at the drill's database "
            f"(${', $'.join(wrong)})",
            permanent=True,
        )
    return pointed.encode("utf-8", "surrogateescape")


def home_title(output: str, config: bytes) -> str:
    """The home page's title: its menu item's ``page_title``, else the site's name (Joomla
    may add the name before or after a page title; either way the page title is in it)."""
    lines = output.split()
    page_title = ""
    if lines:
        try:
            params = json.loads(hex_value(lines[0]).decode("utf-8", "replace"))
        except ValueError:
            params = None
        if isinstance(params, dict):
            page_title = clean(str(params.get("page_title") or ""), 500)
    if page_title:
        return page_title
    sitename = class_values(config).get("sitename")
    return clean(str(sitename), 500) if sitename is not None else ""
