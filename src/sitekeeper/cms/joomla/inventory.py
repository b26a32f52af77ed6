"""Joomla over SSH: the core version from ``libraries/src/Version.php`` (3.8+) or
``libraries/cms/version/version.php`` (3.0-3.7), extensions from their install manifests,
and enabled state from ``#__extensions`` with the site's own ``configuration.php``
credentials (read-only, password on stdin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sitekeeper.cms.collector import CONFIG_BYTES, Collector, InventoryLimits, gather
from sitekeeper.cms.db_credentials import DbCredentials, hex_value
from sitekeeper.cms.joomla.updates import parse_manifest
from sitekeeper.cms.php_config import class_values
from sitekeeper.domain.inventory import Extension, ExtensionType, Inventory
from sitekeeper.domain.untrusted import server_said
from sitekeeper.errors import InvalidFeed, RemoteError
from sitekeeper.intel.payload import parse_xml
from sitekeeper.remote.ssh import DirEntry, SshConnection

if TYPE_CHECKING:
    pass

from sitekeeper.cms.joomla.configuration import db_credentials
from sitekeeper.cms.joomla.signals import CMS, MANIFEST_BYTES

VERSION_FILES = ("libraries/src/Version.php", "libraries/cms/version/version.php")


MAX_PER_DIR = 1000
CORE_AUTHOR = "Joomla! Project"  # core's own extensions update with core, not on their own


def core_version(source: bytes) -> str | None:
    """The release from ``Version.php`` (3.8+) or the legacy ``version.php`` (3.0-3.7)."""
    values = class_values(source)
    major, minor, patch = (
        values.get(k) for k in ("MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION")
    )
    if isinstance(major, int) and isinstance(minor, int) and isinstance(patch, int):
        extra = values.get("EXTRA_VERSION")
        return f"{major}.{minor}.{patch}" + (f"-{extra}" if extra else "")
    release, level = values.get("RELEASE"), values.get("DEV_LEVEL")
    if release is not None and level is not None:
        return f"{release}.{level}"
    return None


async def inventory(
    conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
) -> Inventory:
    """What the Joomla install at ``docroot`` runs, read over SSH, within ``limits``."""
    return await _Joomla(conn, docroot, limits).run()


@dataclass(frozen=True)
class _Found:
    """A manifest found on disk, before the database says if it is enabled."""

    extension: Extension
    db_key: tuple[str, str, str, int]  # (type, element, folder, client_id) as in #__extensions


class _Joomla(Collector):
    async def collect(self) -> Inventory:
        self.root = await self.real(self.docroot)
        version = None
        for relative in VERSION_FILES:
            source = await self.read_inside(self.path(relative), 64 * 1024)
            if source is not None:
                version = core_version(source)
                break
        if version is None:
            raise RemoteError(f"{self.docroot} is not a Joomla 3+ install", permanent=True)
        config = await self.read_inside(self.path("configuration.php"), CONFIG_BYTES)
        if config is None:
            raise RemoteError(f"no configuration.php in {self.docroot}", permanent=True)
        creds, dbtype = db_credentials(config)
        php, found, db = await gather(
            self.php_version(), self.manifests(), self.joomla_db(creds, dbtype)
        )
        server, enabled = db
        return Inventory(
            cms=CMS,
            version=version,
            php=php,
            database=server,
            extensions=[
                f.extension.model_copy(update={"active": enabled.get(f.db_key, False)})
                for f in found
            ],
            collected_at=datetime.now(UTC),
            warnings=self.warnings,
        )

    async def joomla_db(
        self, creds: DbCredentials, dbtype: str
    ) -> tuple[str | None, dict[tuple[str, str, str, int], bool]]:
        """Server version and ``enabled`` per extension, in a read-only transaction."""
        if "mysql" not in dbtype.lower():
            self.warn(f"database type {dbtype!r} not supported; enabled state unknown")
            return None, {}
        table = f"`{creds.table_prefix}extensions`"  # prefix checked against [A-Za-z0-9_]
        sql = (
            "SET SESSION TRANSACTION READ ONLY; SELECT HEX(VERSION()); "  # noqa: S608
            f"SELECT HEX(type), HEX(element), HEX(folder), client_id, enabled FROM {table};"
        )
        result = await self.run_remote(creds.mysql_argv(sql), stdin=creds.option_file())
        if result.exit_status != 0:  # its stderr is the server's: quoted, escapes visible
            raise RemoteError(f"reading the Joomla database failed: {server_said(result.stderr)}")
        lines = result.text.splitlines()
        server = hex_value(lines[0]).decode("utf-8", "replace") if lines else None
        enabled: dict[tuple[str, str, str, int], bool] = {}
        for line in lines[1:]:
            cells = line.split("\t")
            if len(cells) != 5 or not cells[3].isdigit():
                continue
            try:
                kind, element, folder = (
                    bytes.fromhex(c).decode("utf-8", "replace") for c in cells[:3]
                )
            except ValueError:
                continue
            enabled[(kind, element, folder, int(cells[3]))] = cells[4].strip() == "1"
        return server, enabled

    async def manifests(self) -> list[_Found]:
        """Every non-core extension that has an install manifest where Joomla keeps them."""
        jobs = [
            self.in_dirs("administrator/components", "component", 1, "com_"),
            self.in_dirs("modules", "module", 0, "mod_"),
            self.in_dirs("administrator/modules", "module", 1, "mod_"),
            self.in_dirs("templates", "template", 0, ""),
            self.in_dirs("administrator/templates", "template", 1, ""),
            self.in_files("administrator/manifests/libraries", "library"),
            self.in_files("administrator/manifests/packages", "package"),
        ]
        _, groups = await self.entries("plugins")
        for group in groups:
            if group.kind == "dir":
                jobs.append(self.in_dirs(f"plugins/{group.name}", "plugin", 0, "", group.name))
        results = await gather(*jobs)
        return [found for batch in results for found in batch]

    async def entries(self, relative: str) -> tuple[str, list[DirEntry]]:
        """The folder's real path and its first MAX_PER_DIR entries by name (a warning
        says if there were more)."""
        return await self.extension_entries(relative, MAX_PER_DIR, "extensions")

    async def in_dirs(
        self, relative: str, kind: str, client: int, prefix: str, folder: str = ""
    ) -> list[_Found]:
        """One manifest per extension directory (``com_x/x.xml``, ``templateDetails.xml``)."""
        found: list[_Found] = []
        base, entries = await self.entries(relative)
        for entry in entries:
            if not entry.name.startswith(prefix) or await self.resolve(base, entry) != "dir":
                continue
            name = entry.name
            if kind == "template":
                files = ["templateDetails.xml"]
            elif kind == "component":
                files = [f"{name.removeprefix('com_')}.xml", f"{name}.xml"]
            else:
                files = [f"{name}.xml"]
            for file in files:
                item = await self.manifest(f"{relative}/{name}/{file}", kind, name, client, folder)
                if item is not None:
                    found.append(item)
                    break
        return found

    async def in_files(self, relative: str, kind: str) -> list[_Found]:
        """Library and package manifests kept in ``administrator/manifests``."""
        found = []
        _, entries = await self.entries(relative)
        for entry in entries:
            if entry.kind == "file" and entry.name.endswith(".xml"):
                element = entry.name.removesuffix(".xml")
                item = await self.manifest(f"{relative}/{entry.name}", kind, element, 0, "")
                if item is not None:
                    found.append(item)
        return found

    async def manifest(
        self, relative: str, kind: str, element: str, client: int, folder: str
    ) -> _Found | None:
        data = await self.read_inside(self.path(relative), MANIFEST_BYTES)
        if data is None:
            return None
        try:
            manifest = parse_manifest(data, max_bytes=MANIFEST_BYTES)
            author = (
                parse_xml(data, what=relative, max_bytes=MANIFEST_BYTES).findtext("author") or ""
            ).strip()
        except InvalidFeed as exc:
            self.warn(f"skipped {relative}: {exc}")
            return None
        if author == CORE_AUTHOR:
            return None
        servers = sorted(manifest.update_servers, key=lambda s: s.priority or 0)
        type_ = _EXTENSION_TYPES.get(kind, "plugin")
        return _Found(
            extension=Extension(
                type=type_,
                slug=_slug(kind, element, client, folder),
                name=(manifest.name or element)[:200],
                version=manifest.version,
                update_source=servers[0].url if servers else "none",
                file=relative,
            ),
            db_key=(kind, element, folder, client),
        )


_EXTENSION_TYPES: dict[str, ExtensionType] = {
    "component": "component",
    "module": "module",
    "plugin": "plugin",
    "template": "template",
    "library": "library",
    "package": "package",
}


def _slug(kind: str, element: str, client: int, folder: str) -> str:
    """Joomla's own naming (com_, mod_, plg_<group>_, tpl_, lib_, pkg_); admin side marked."""
    name = {
        "plugin": f"plg_{folder}_{element}",
        "template": f"tpl_{element}",
        "library": f"lib_{element}",
    }.get(kind, element)
    return f"administrator/{name}" if client == 1 and kind in ("module", "template") else name
