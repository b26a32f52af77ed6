"""Drupal's ``settings.php``: the database credentials, a restored copy pointed at a
drill's database, and the site's name (what backups and restore drills need).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sitekeeper.cms.db_credentials import DbCredentials, hex_value
from sitekeeper.cms.php_config import Token, tokenize
from sitekeeper.cms.php_edit import append_code, php_string, words
from sitekeeper.cms.php_serialize import PhpSerializeError, unserialize
from sitekeeper.domain.untrusted import clean
from sitekeeper.errors import RemoteError

if TYPE_CHECKING:
    from sitekeeper.cms.site_database import DrillTarget


_PREFIX = re.compile(r"^[A-Za-z0-9_]{0,64}$")


def db_credentials(settings_php: bytes) -> tuple[DbCredentials, str]:
    """The ``default`` connection of ``$databases`` (``array(...)`` or ``[...]`` syntax)."""
    text = settings_php.decode("utf-8", "replace")
    values = _databases(tokenize(text[: 512 * 1024]))
    missing = [k for k in ("database", "username", "password") if k not in values]
    if missing:
        raise RemoteError(
            f"settings.php has no literal {', '.join(missing)} for the default database",
            permanent=True,
        )
    prefix = values.get("prefix", "")
    if not _PREFIX.match(prefix):
        raise RemoteError(f"settings.php prefix is not supported ({prefix!r})", permanent=True)
    port = values.get("port", "")
    creds = DbCredentials(
        name=values["database"],
        user=values["username"],
        password=values["password"],
        host=values.get("host") or "localhost",
        port=int(port) if port.isdigit() else None,
        socket=None,
        table_prefix=prefix,
    )
    return creds, values.get("driver", "mysql")


def _databases(tokens: list[Token]) -> dict[str, str]:
    """``'key' => literal`` pairs of the last ``$databases...default...`` assignment."""
    result: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if token.kind != "variable" or token.text != "databases":
            continue
        end = next((j for j in range(i, len(tokens)) if tokens[j].text == ";"), len(tokens))
        statement = tokens[i:end]
        if not any(t.kind == "string" and t.text == "default" for t in statement):
            continue
        found: dict[str, str] = {}
        depth = 0
        for k, item in enumerate(statement):
            if item.text in ("(", "["):
                depth += 1
            elif item.text in (")", "]"):
                depth -= 1
            if (
                item.kind == "string"
                and k + 3 < len(statement)
                and statement[k + 1].text == "="
                and statement[k + 2].text == ">"
                and statement[k + 3].kind in ("string", "word")
                and statement[k + 3].literal
            ):
                found.setdefault(item.text, statement[k + 3].text)
        if "database" in found:
            result = found
    return result


_STOPS = {"return", "exit", "die"}  # a settings.php that stops early would skip our settings


def point_at(config: bytes, target: DrillTarget) -> bytes:
    """``settings.php`` pointed at a drill's database, and the loopback host trusted.

    ``settings.php`` is code (it often includes ``settings.local.php``), so the
    drill's connection is assigned at its very end, where it wins over anything
    before; a file that can stop before its end is refused. The result is read back,
    and a connection that is not the drill's is refused.
    """
    text = config.decode("utf-8", "surrogateescape")
    if words(text) & _STOPS:
        raise RemoteError(
            "settings.php can stop before its end (return, exit or die); "
            "a drill cannot point it at its database",
            permanent=True,
        )
    prefix = db_credentials(config)[0].table_prefix  # the restored tables keep theirs
    connection = {
        "database": target.database,
        "username": target.user,
        "password": target.password,
        "prefix": prefix,
        "host": target.host,
        "port": str(target.port),
        "driver": "mysql",
    }
    lines = [f"  {php_string(k)} => {php_string(v)}," for k, v in connection.items()]
    code = "\n".join(
        [
            "// sitekeeper restore drill: the drill's scratch database, served on loopback.",
            "$databases['default']['default'] = [",
            *lines,
            "  'namespace' => 'Drupal\\\\mysql\\\\Driver\\\\Database\\\\mysql',",
            "  'autoload' => 'core/modules/mysql/src/Driver/Database/mysql/',",
            "];",
            "$settings['trusted_host_patterns'] = ['^127\\\\.0\\\\.0\\\\.1$', '^localhost$'];",
        ]
    )
    pointed = append_code(text, code)
    read = _databases(tokenize(pointed))
    wrong = [k for k, v in connection.items() if read.get(k) != v]
    if wrong:
        raise RemoteError(
            f"settings.php could not be pointed at the drill's database ({', '.join(wrong)})",
            permanent=True,
        )
    return pointed.encode("utf-8", "surrogateescape")


def site_name(output: str) -> str:
    """The site's name from the serialized ``system.site`` object (Drupal's front page
    title is the name, with the slogan after it if there is one)."""
    lines = output.split()
    if not lines:
        return ""
    try:
        data = unserialize(hex_value(lines[0]))
    except PhpSerializeError:
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    return clean(name, 500) if isinstance(name, str) else ""
