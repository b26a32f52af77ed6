"""WordPress over SSH: core, PHP, database server, plugins and themes, and which are active.

Files are read the way WordPress reads them (plugin headers from the first
8 KB, ``style.css`` for themes), but never beyond the docroot: a symlink that
resolves outside it is skipped with a warning. Activation lives only in the
database, so the site's own credentials from ``wp-config.php`` are used with
the ``mysql`` client, read-only, the password passed on stdin (never argv).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sitekeeper.cms.collector import (
    CONFIG_BYTES,
    Collector,
    InventoryLimits,
    gather,
    gather_each,
)
from sitekeeper.cms.db_credentials import DbCredentials, hex_value
from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.php_serialize import PhpSerializeError, string_list
from sitekeeper.domain.inventory import Extension, ExtensionType, Inventory
from sitekeeper.domain.untrusted import clean, server_said
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import DirEntry, SshConnection

if TYPE_CHECKING:
    pass

from sitekeeper.cms.wordpress.config import credentials_from_config

HEADER_BYTES = 8192  # WordPress's get_file_data() reads no more than this
MAX_EXTENSIONS = 1000  # per type; more is not a real site
MAX_FILES_PER_PLUGIN = 50  # top-level .php files inspected for a header
MAX_FIELD = 200  # characters kept of a header value


_WP_ORG_HOSTS = {"wordpress.org", "w.org", "downloads.wordpress.org"}


async def inventory(
    conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
) -> Inventory:
    """What the WordPress install at ``docroot`` runs, read over SSH, within ``limits``."""
    return await _WordPress(conn, docroot, limits).run()


def parse_file_header(data: bytes, fields: Iterable[str]) -> dict[str, str]:
    """Header fields (``Plugin Name: ...``) of a plugin file or ``style.css``.

    Mirrors WordPress: only the first 8 KB, CR treated as newline, a field may
    be prefixed by comment characters, and a trailing ``*/`` or ``?>`` is cut.
    """
    text = data[:HEADER_BYTES].decode("utf-8", errors="replace").replace("\r", "\n")
    found: dict[str, str] = {}
    for field in fields:
        pattern = re.compile(
            r"^(?:[ \t]*<\?php)?[ \t/*#@]*" + re.escape(field) + r":(.*)$",
            re.IGNORECASE | re.MULTILINE,
        )
        match = pattern.search(text)
        if match:
            value = clean(re.sub(r"\s*(?:\*/|\?>).*", "", match.group(1)))[:MAX_FIELD]
            if value:
                found[field] = value
    return found


def parse_core_version(source: bytes) -> str | None:
    """``$wp_version`` from ``wp-includes/version.php``."""
    version = parse_php_config(source).variable("wp_version")
    return None if version is None else clean(version)[:MAX_FIELD] or None


def parse_mysql_rows(output: str) -> dict[str, bytes]:
    """``name<TAB>HEX(value)`` lines (hex so no value can break the framing)."""
    rows: dict[str, bytes] = {}
    for line in output.splitlines():
        name, sep, hexed = line.partition("\t")
        if sep:
            rows[name] = hex_value(hexed)
    return rows


@dataclass(frozen=True)
class _DbState:
    server: str | None
    active_plugins: frozenset[str]
    active_themes: frozenset[str]


class _WordPress(Collector):
    async def collect(self) -> Inventory:
        self.root = await self.real(self.docroot)
        version_src = await self.read_inside(self.path("wp-includes/version.php"), 64 * 1024)
        if version_src is None:
            raise RemoteError(f"{self.docroot} is not a WordPress install", permanent=True)
        config = parse_php_config(await self.read_config())
        php, db, plugins, themes = await gather(
            self.php_version(),
            self.database(credentials_from_config(config)),
            self.extensions("plugin"),
            self.extensions("theme"),
        )
        extensions = [
            e.model_copy(update={"active": (e.file or "") in db.active_plugins}) for e in plugins
        ] + [e.model_copy(update={"active": e.slug in db.active_themes}) for e in themes]
        return Inventory(
            cms="wordpress",
            version=parse_core_version(version_src),
            php=php,
            database=db.server,
            extensions=extensions,
            collected_at=datetime.now(UTC),
            warnings=self.warnings,
        )

    async def read_config(self) -> bytes:
        """``wp-config.php`` in the docroot, or one level up (WordPress looks there too)."""
        data = await self.read_inside(self.path("wp-config.php"), CONFIG_BYTES)
        if data is not None:
            return data
        parent = posixpath.join(posixpath.dirname(self.root.rstrip("/")), "wp-config.php")
        entry = await self.stat(parent)
        if entry is not None and entry.kind == "file":
            async with self._gate:
                data = await self.conn.read_file(parent, CONFIG_BYTES)
            self.spend(len(data), parent)
            return data
        raise RemoteError(f"no wp-config.php for {self.docroot}", permanent=True)

    async def database(self, creds: DbCredentials) -> _DbState:
        """Server version and active plugins/themes, in a read-only transaction."""
        options = f"`{creds.table_prefix}options`"  # prefix checked against [A-Za-z0-9_]
        sql = (
            "SET SESSION TRANSACTION READ ONLY; "  # noqa: S608 - only the checked prefix goes in
            "SELECT 'version', HEX(VERSION()); "
            f"SELECT option_name, HEX(option_value) FROM {options} "
            "WHERE option_name IN ('active_plugins', 'template', 'stylesheet');"
        )
        result = await self.run_remote(creds.mysql_argv(sql), stdin=creds.option_file())
        if result.exit_status != 0:  # its stderr is the server's: quoted, escapes visible
            raise RemoteError(
                f"reading the WordPress database failed: {server_said(result.stderr)}"
            )
        rows = parse_mysql_rows(result.text)
        try:
            active = string_list(rows.get("active_plugins", b"a:0:{}"))
        except PhpSerializeError as exc:
            self.warn(f"active_plugins is unreadable: {exc}")
            active = []
        # Cleaned as the slugs and files they are compared with are.
        themes = {
            clean(rows[k].decode("utf-8", "replace"))
            for k in ("template", "stylesheet")
            if k in rows
        }
        server = rows.get("version")
        return _DbState(
            server=clean(server.decode("utf-8", "replace"), MAX_FIELD) if server else None,
            active_plugins=frozenset(clean(a) for a in active),
            active_themes=frozenset(themes),
        )

    async def extensions(self, type_: ExtensionType) -> list[Extension]:
        """Plugins or themes found in ``wp-content``: the first MAX_EXTENSIONS by name."""
        relative = "wp-content/plugins" if type_ == "plugin" else "wp-content/themes"
        if await self.stat(self.path(relative)) is None:
            self.warn(f"no {self.path(relative)}")
            return []
        base, entries = await self.extension_entries(relative, MAX_EXTENSIONS, f"{type_}s")
        finder = self.plugin if type_ == "plugin" else self.theme
        found = await gather_each(
            self.skipping(f"{base}/{entry.name}", finder(base, entry)) for entry in entries
        )
        return [e for e in found if e is not None]

    async def plugin(self, base: str, entry: DirEntry) -> Extension | None:
        """A plugin: a ``.php`` file in ``plugins/`` or a directory with one that has a header."""
        located = await self.locate(base, entry)
        if located is None:
            return None
        real, kind = located
        if kind == "other" and entry.name.endswith(".php"):  # a FIFO would hang a reader
            self.warn(f"skipped {base}/{entry.name}: not a regular file")
        if kind == "file" and entry.name.endswith(".php"):
            header = await self.once("header", real, lambda: self.plugin_header(real))
            return _plugin(entry.name.removesuffix(".php"), entry.name, header)
        if kind != "dir":
            return None
        # One real directory is read once, however many symlinks lead to it.
        found = await self.once("plugin", real, lambda: self.plugin_dir(real))
        if found is None:
            return None
        name, header = found
        return _plugin(entry.name, f"{entry.name}/{name}", header)

    async def plugin_dir(self, real: str) -> tuple[str, dict[str, str]] | None:
        """The file of a plugin directory that has the header, and the header.

        The usual layout (``akismet/akismet.php``) is tried first, so one read is
        typical; else the top-level ``.php`` files, as WordPress does, at most
        MAX_FILES_PER_PLUGIN of them.
        """
        usual = f"{posixpath.basename(real)}.php"
        header = await self.plugin_header(posixpath.join(real, usual))
        if header is not None:
            return usual, header
        listing = await self.scan(real)
        if not listing.complete:
            self.warn(f"{real}: only the first {listing.read:,} entries read")
        files = [
            f.name
            for f in listing.entries
            if f.name.endswith(".php") and f.kind in ("file", "symlink") and f.name != usual
        ]
        for name in files[:MAX_FILES_PER_PLUGIN]:
            header = await self.plugin_header(posixpath.join(real, name))
            if header is not None:
                return name, header
        return None

    async def plugin_header(self, path: str) -> dict[str, str] | None:
        data = await self.read_inside(path, HEADER_BYTES)
        if data is None:
            return None
        header = parse_file_header(data, ("Plugin Name", "Version", "Update URI"))
        return header if "Plugin Name" in header else None

    async def theme(self, base: str, entry: DirEntry) -> Extension | None:
        located = await self.locate(base, entry)
        if located is None or located[1] != "dir":
            return None
        real = located[0]
        header = await self.once("theme", real, lambda: self.theme_header(real))
        if header is None:
            return None
        return Extension(
            type="theme",
            slug=entry.name,
            name=header["Theme Name"],
            version=header.get("Version"),
            update_source=_update_source(header.get("Update URI")),
            file=f"{entry.name}/style.css",
        )

    async def theme_header(self, real: str) -> dict[str, str] | None:
        data = await self.read_inside(posixpath.join(real, "style.css"), HEADER_BYTES)
        if data is None:
            return None
        header = parse_file_header(data, ("Theme Name", "Version", "Update URI"))
        return header if "Theme Name" in header else None


def _plugin(slug: str, file: str, header: dict[str, str] | None) -> Extension | None:
    if header is None:
        return None
    return Extension(
        type="plugin",
        slug=slug,
        name=header["Plugin Name"],
        version=header.get("Version"),
        update_source=_update_source(header.get("Update URI")),
        file=file,
    )


def _update_source(update_uri: str | None) -> str:
    """wordpress.org unless the header names another update server (WordPress 5.8+)."""
    if not update_uri:
        return "wordpress.org"
    host = urlsplit(update_uri if "//" in update_uri else f"//{update_uri}").hostname or ""
    return "wordpress.org" if host in _WP_ORG_HOSTS else update_uri
