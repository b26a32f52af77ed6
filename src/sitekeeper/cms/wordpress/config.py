"""WordPress's ``wp-config.php``: the database credentials and a restored copy pointed
at a drill's database (what backups and restore drills need).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sitekeeper.cms.db_credentials import DbCredentials, parse_db_host
from sitekeeper.cms.php_config import PhpConfig, parse_php_config
from sitekeeper.cms.php_edit import set_defines
from sitekeeper.errors import RemoteError

if TYPE_CHECKING:
    from sitekeeper.cms.site_database import DrillTarget


_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # WordPress dies on anything else


def credentials_from_config(config: PhpConfig) -> DbCredentials:
    """Credentials from ``wp-config.php``'s literal defines; RemoteError (permanent) if
    one is missing."""
    values = {k: config.constant(k) for k in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST")}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise RemoteError(
            f"wp-config.php has no literal {', '.join(missing)}; cannot read the database",
            permanent=True,
        )
    prefix = config.variable("table_prefix")
    if prefix is None or not _PREFIX.match(prefix):
        raise RemoteError(
            f"wp-config.php $table_prefix is missing or invalid ({prefix!r})", permanent=True
        )
    host, port, socket = parse_db_host(values["DB_HOST"] or "")
    return DbCredentials(
        name=values["DB_NAME"] or "",
        user=values["DB_USER"] or "",
        password=values["DB_PASSWORD"] or "",
        host=host,
        port=port,
        socket=socket,
        table_prefix=prefix,
    )


def point_at(config: bytes, target: DrillTarget) -> bytes:
    """``wp-config.php`` pointed at a drill's database and loopback URL, without cron.

    Each constant is replaced where it is defined by a literal and defined first
    otherwise (PHP keeps the first definition); the result is read back, and a
    database setting that did not become the drill's is refused.
    """
    values: dict[str, str | bool] = {
        "DB_NAME": target.database,
        "DB_USER": target.user,
        "DB_PASSWORD": target.password,
        "DB_HOST": f"{target.host}:{target.port}",
        "WP_HOME": target.url,
        "WP_SITEURL": target.url,
        "DISABLE_WP_CRON": True,
    }
    try:
        pointed = set_defines(config.decode("utf-8", "surrogateescape"), values)
    except ValueError:
        raise RemoteError("wp-config.php has no <?php opening tag", permanent=True) from None
    read = parse_php_config(pointed)
    wrong = [k for k, v in values.items() if isinstance(v, str) and read.constant(k) != v]
    if wrong:
        raise RemoteError(
            f"wp-config.php could not be pointed at the drill's database ({', '.join(wrong)})",
            permanent=True,
        )
    return pointed.encode("utf-8", "surrogateescape")
