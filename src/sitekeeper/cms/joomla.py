"""Joomla: what a site shows from outside, and its inventory over SSH.

From outside, Joomla 4+ hides its version in the generator tag but still
serves its public install manifest (``administrator/manifests/files/joomla.xml``)
and the core language pack's metadata, both of which carry the release.

Over SSH the core version comes from ``libraries/src/Version.php`` (3.8+) or
``libraries/cms/version/version.php`` (3.0-3.7), extensions from their install
manifests, and enabled state from ``#__extensions`` with the site's own
``configuration.php`` credentials (read-only, password on stdin).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sitekeeper.cms.collector import CONFIG_BYTES, Collector, InventoryLimits, gather
from sitekeeper.cms.db_credentials import DbCredentials, hex_value, parse_db_host
from sitekeeper.cms.php_config import class_values
from sitekeeper.cms.php_edit import set_members, words
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Extension, ExtensionType, Inventory
from sitekeeper.domain.untrusted import clean, server_said
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import InvalidFeed, RemoteError
from sitekeeper.intel.joomla_updates import parse_manifest
from sitekeeper.intel.payload import parse_xml
from sitekeeper.remote.ssh import DirEntry, SshConnection

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from sitekeeper.cms.protocol import Wanted
    from sitekeeper.cms.site_database import DrillTarget
    from sitekeeper.domain.fingerprint import Fingerprint
    from sitekeeper.intel.fetch import Fetcher
    from sitekeeper.intel.hashes import Learner
    from sitekeeper.intel.pollers import PollResult

CMS = "joomla"
VERSION_PATHS = (
    "administrator/manifests/files/joomla.xml",
    "language/en-GB/langmetadata.xml",  # 4.0+
    "language/en-GB/en-GB.xml",  # 3.x
)
DETECT_PATH = "administrator/manifests/files/joomla.xml"
# The core version: 3.8 and later, then 3.0-3.7.
VERSION_FILES = ("libraries/src/Version.php", "libraries/cms/version/version.php")
HASH_FILES = (
    "media/system/js/core.min.js",
    "media/system/js/core.js",
    "media/system/css/joomla-fontawesome.min.css",
)
J3 = ">=3.0 <4.0"
J4_PLUS = ">=4.0"
MANIFEST_BYTES = 256 * 1024
MAX_PER_DIR = 1000
CORE_AUTHOR = "Joomla! Project"  # core's own extensions update with core, not on their own

_VERSION = re.compile(r"^\d+\.\d+(?:\.\d+)?(?:[-.]?[A-Za-z]+\d*)?$")
_META = re.compile(r"<meta\s[^>]*name\s*=\s*[\"']generator[\"'][^>]*>", re.IGNORECASE)
_CONTENT = re.compile(r"content\s*=\s*[\"']([^\"']{0,200})[\"']", re.IGNORECASE)
_META_VERSION = re.compile(r"Version\s+(\d+\.\d+(?:\.\d+)?)")
_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")


# ----------------------------------------------------------------------------- from outside


def read(url: str, status: int, headers: Mapping[str, str], text: str) -> list[Fingerprint]:
    """Clues in one response: home page, public manifest or language metadata."""
    if status != 200:
        return []
    head = text[:1_000_000]
    clues: list[Fingerprint] = []
    for tag in _META.findall(head):
        content = _CONTENT.search(tag)
        value = clean(content.group(1)) if content else ""
        if value.startswith("Joomla!"):
            version = _META_VERSION.search(value)
            clues.append(
                _clue(url, version.group(1) if version else None, f"{url}: generator {value!r}")
            )
    if url.endswith(".xml"):
        clues.extend(_xml_clues(url, text))
    if "/media/system/js/" in head:
        clues.append(_clue(url, None, f"{url}: loads /media/system/js/"))
    if "/media/vendor/" in head or "/media/templates/" in head:
        clues.append(_clue(url, None, f"{url}: Joomla 4+ asset paths", family=J4_PLUS))
    elif "/media/jui/" in head:
        clues.append(_clue(url, None, f"{url}: Joomla 3 asset paths (/media/jui/)", family=J3))
    return clues


def _xml_clues(url: str, text: str) -> list[Fingerprint]:
    """The core manifest (``files_joomla``) or the en-GB language metadata."""
    try:
        root = parse_xml(text, what="Joomla public XML", max_bytes=MANIFEST_BYTES)
    except InvalidFeed:
        return []
    name = (root.findtext("name") or "").strip()
    version = (root.findtext("version") or "").strip()
    if not _VERSION.match(version):
        return []
    if root.tag == "extension" and name == "files_joomla":
        return [_clue(url, version, f"{url}: core manifest <version>{version}</version>")]
    if root.tag == "metafile" and "en-GB" in name:
        return [_clue(url, version, f"{url}: en-GB language pack {version}")]
    return []


def version_paths(clues: list[Fingerprint]) -> tuple[str, ...]:
    """The public manifest first; the language metadata of the major the clues allow."""
    families = {c for clue in clues if clue.cms == CMS for c in clue.candidates}
    if J3 in families:
        return (VERSION_PATHS[0], VERSION_PATHS[2])
    if J4_PLUS in families:
        return VERSION_PATHS[:2]
    return VERSION_PATHS


def hash_files(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Static files to hash when no public file names the release."""
    return HASH_FILES


def _clue(url: str, version: str | None, evidence: str, family: str | None = None) -> Fingerprint:
    return Fingerprint(
        url=url,
        cms=CMS,
        version=version,
        candidates=[family] if family else [],
        evidence=[evidence],
    )


# ----------------------------------------------------------------------------- PHP sources


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


# ----------------------------------------------------------------------------- inventory


class Joomla:
    """The Joomla CMS plugin: inventory over SSH (fingerprint signals are module functions)."""

    kind = "joomla"
    markers = VERSION_FILES  # what ``inventory`` reads first (cms.detect)
    config_files = ("configuration.php",)
    ecosystem = Ecosystem.JOOMLA
    core_source = "joomla.org"
    detect_path = DETECT_PATH
    learns_unranged = False

    def read_signals(
        self, url: str, status: int, headers: Mapping[str, str], text: str
    ) -> list[Fingerprint]:
        """See :func:`read`."""
        return read(url, status, headers, text)

    def version_paths(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """See :func:`version_paths`."""
        return version_paths(clues)

    def hash_files(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """See :func:`hash_files`."""
        return hash_files(clues)

    def polls(self, source: str | None) -> bool:
        """joomla.org, or the update server an extension's manifest declares."""
        return source is not None and (
            source == self.core_source or source.startswith(("https://", "http://"))
        )

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """The TUF core repository, the legacy core list and each extension's update server."""
        from sitekeeper.intel.pollers import joomla  # noqa: PLC0415

        return await joomla.poll(fetcher, packages, state_dir=home / "tuf" / "joomla")

    async def releases(self, learner: Learner) -> list[str]:
        """Releases of the legacy update XML and of the TUF repository."""
        updates, tuf = await learner.joomla_releases()
        return list({**tuf, **updates})

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """Each release's full package, streamed."""
        return await learner.learn_joomla(paths, within=within)

    async def inventory(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> Inventory:
        """See :func:`inventory`."""
        return await inventory(conn, docroot, limits)

    # the database side, for backups and restore drills (cms.site_database)

    def credentials(self, config: bytes) -> DbCredentials:
        """Credentials from ``configuration.php``; a MySQL/MariaDB database only."""
        creds, dbtype = db_credentials(config)
        if "mysql" not in dbtype.lower():
            raise RemoteError(
                f"configuration.php: database type {clean(dbtype, 40)!r} is not backed up "
                "(MySQL and MariaDB only)",
                permanent=True,
            )
        return creds

    def point_at(self, config: bytes, target: DrillTarget) -> bytes:
        """See :func:`point_at`."""
        return point_at(config, target)

    def title_sql(self, prefix: str) -> str:
        """The parameters of the site's home menu item (its ``page_title``)."""
        menu = f"`{prefix}menu`"  # the prefix is checked against [A-Za-z0-9_]
        return (
            f"SELECT HEX(params) FROM {menu} WHERE home = 1 AND client_id = 0 "  # noqa: S608
            "AND published = 1 ORDER BY language = '*' DESC, id LIMIT 1"
        )

    def title(self, output: str, config: bytes) -> str:
        """See :func:`home_title`."""
        return home_title(output, config)


CMSES.add("joomla", Joomla())


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
