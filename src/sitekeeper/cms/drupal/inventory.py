"""Drupal (7 and 8-11) over SSH: the version from ``core/lib/Drupal.php`` or Drupal 7's
``includes/bootstrap.inc``, extensions from ``*.info.yml`` / ``*.info`` (drupal.org's
packaging adds ``version`` and ``project``), and enabled state from the database
(``core.extension`` config, or Drupal 7's ``system`` table) with ``settings.php``'s
credentials.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sitekeeper.cms.collector import (
    CONFIG_BYTES,
    Collector,
    InventoryLimits,
    gather,
    gather_each,
)
from sitekeeper.cms.db_credentials import DbCredentials, hex_value
from sitekeeper.cms.php_config import class_values, parse_php_config
from sitekeeper.cms.php_serialize import PhpSerializeError, unserialize
from sitekeeper.domain.inventory import Extension, ExtensionType, Inventory
from sitekeeper.domain.untrusted import clean, server_said
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import DirEntry, SshConnection

if TYPE_CHECKING:
    pass

from sitekeeper.cms.drupal.settings import db_credentials
from sitekeeper.cms.drupal.signals import CMS

VERSION_FILES = ("core/lib/Drupal.php", "includes/bootstrap.inc")  # 8+, 7
INFO_BYTES = 64 * 1024
MAX_DIRS = 3000  # directories walked looking for .info files
MAX_DEPTH = 4  # modules/contrib/<project>/modules/<sub>
MAX_INFO_FILES = 5000  # .info(.yml) files read; a real site has a few hundred
_SKIP_DIRS = {"tests", "node_modules", "vendor", "src", "config", "templates", "css", "js",
              "images", "assets", "translations", "fonts", "icons"}  # fmt: skip


def core_version(drupal_php: bytes | None, bootstrap_inc: bytes | None) -> str | None:
    """``Drupal::VERSION`` (8+) or Drupal 7's ``define('VERSION', ...)``."""
    if drupal_php is not None:
        value = class_values(drupal_php).get("VERSION")
        if isinstance(value, str):
            return value
    if bootstrap_inc is not None:
        return parse_php_config(bootstrap_inc).constant("VERSION")
    return None


def parse_info(data: bytes) -> dict[str, str]:
    """Top-level scalars of an ``.info.yml`` or a Drupal 7 ``.info`` file.

    Only ``key: value`` / ``key = value`` lines at column 0 are read (name,
    type, version, project, hidden...); nested YAML and arrays are skipped,
    which is all an inventory needs and keeps a YAML parser out of it. The
    last value wins, as in Drupal 7, where packaging appends ``version = "7.98"``
    after core's own ``version = VERSION``.
    """
    found: dict[str, str] = {}
    for line in data[:INFO_BYTES].decode("utf-8", "replace").splitlines():
        if not line or line[0] in " \t#;-[":
            continue
        match = re.match(r"^([A-Za-z_][\w]*)\s*(?::|=)\s*(.*?)\s*$", line)
        if not match:
            continue
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        value = clean(value)[:200]
        if value:
            found[match.group(1)] = value
        else:
            found.pop(match.group(1), None)
    return found


async def inventory(
    conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
) -> Inventory:
    """What the Drupal install at ``docroot`` runs, read over SSH, within ``limits``."""
    return await _Drupal(conn, docroot, limits).run()


@dataclass(frozen=True)
class _Info:
    path: str
    machine: str
    fields: dict[str, str]


class _Drupal(Collector):
    def __init__(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> None:
        super().__init__(conn, docroot, limits)
        self._walked: set[str] = set()

    async def collect(self) -> Inventory:
        self.root = await self.real(self.docroot)
        drupal_php = await self.read_inside(self.path("core/lib/Drupal.php"), 256 * 1024)
        bootstrap = None
        if drupal_php is None:
            bootstrap = await self.read_inside(self.path("includes/bootstrap.inc"), 512 * 1024)
        version = core_version(drupal_php, bootstrap)
        if version is None:
            raise RemoteError(f"{self.docroot} is not a Drupal 7+ install", permanent=True)
        legacy = drupal_php is None
        settings = await self.read_inside(self.path("sites/default/settings.php"), CONFIG_BYTES)
        if settings is None:
            raise RemoteError(f"no sites/default/settings.php in {self.docroot}", permanent=True)
        creds, driver = db_credentials(settings)
        php, infos, db = await gather(
            self.php_version(), self.infos(legacy), self.drupal_db(creds, driver, legacy)
        )
        server, enabled = db
        extensions: dict[tuple[ExtensionType, str], Extension] = {}
        for info in infos:
            extension = _extension(info, legacy)
            if extension is not None:
                active = (extension.type, info.machine) in enabled
                extensions.setdefault(
                    extension.key, extension.model_copy(update={"active": active})
                )
        return Inventory(
            cms=CMS,
            version=version,
            php=php,
            database=server,
            extensions=sorted(extensions.values(), key=lambda e: e.key),
            collected_at=datetime.now(UTC),
            warnings=self.warnings,
        )

    async def infos(self, legacy: bool) -> list[_Info]:
        """Every ``.info.yml`` (or 7's ``.info``) outside core, walking a bounded tree."""
        suffix = ".info" if legacy else ".info.yml"
        roots = [
            "sites/all/modules",
            "sites/all/themes",
            "sites/default/modules",
            "sites/default/themes",
        ]
        if not legacy:  # on 7 these hold core itself
            roots = ["modules", "themes", "profiles", *roots]
        queue = [(root, 0) for root in roots]
        found: list[str] = []
        walked = 0
        cut = more = False
        while queue and walked < MAX_DIRS:
            batch, queue = queue[:32], queue[32:]
            walked += len(batch)
            listings = await gather(*(self.listing(rel) for rel, _ in batch))
            for (relative, depth), entries in zip(batch, listings, strict=True):
                for entry in entries:
                    child = f"{relative}/{entry.name}"
                    if entry.kind == "file" and entry.name.endswith(suffix):
                        more = more or len(found) >= MAX_INFO_FILES
                        if not more:
                            found.append(child)
                    elif entry.kind == "dir" and depth < MAX_DEPTH and entry.name not in _SKIP_DIRS:
                        cut = cut or walked + len(queue) >= MAX_DIRS  # never queue past the walk
                        if not cut:
                            queue.append((child, depth + 1))
        if queue or cut:
            self.warn(f"stopped after {MAX_DIRS} directories looking for {suffix}")
        if more:
            self.warn(
                f"the site has more extensions than sitekeeper reads: more than "
                f"{MAX_INFO_FILES:,} {suffix} files; the first {MAX_INFO_FILES:,} found were "
                f"read (cap {MAX_INFO_FILES:,})"
            )
        datas = await gather_each(self.read_inside(self.path(p), INFO_BYTES) for p in found)
        return [
            _Info(p, posixpath.basename(p).removesuffix(suffix), parse_info(d))
            for p, d in zip(found, datas, strict=True)
            if d is not None
        ]

    async def listing(self, relative: str) -> list[DirEntry]:
        """A directory's entries, if it is one inside the docroot not walked before."""
        path = self.path(relative)
        entry = await self.stat(path)
        if entry is None or entry.kind not in ("dir", "symlink"):
            return []
        real = await self.real(path)
        if not self.inside(real):
            self.warn(f"skipped {path}: resolves outside the docroot to {real}")
            return []
        if entry.kind == "symlink":
            target = await self.stat(real)
            if target is None or target.kind != "dir":
                return []
        if real in self._walked:  # two roots leading to one directory: walked once
            return []
        self._walked.add(real)
        listing = await self.scan(real)
        if not listing.complete:
            self.warn(f"{path}: only the first {listing.read:,} entries read")
        return listing.entries

    async def drupal_db(
        self, creds: DbCredentials, driver: str, legacy: bool
    ) -> tuple[str | None, set[tuple[ExtensionType, str]]]:
        """Server version and enabled modules/themes, in a read-only transaction."""
        if driver != "mysql":
            self.warn(f"database driver {driver!r} not supported; enabled state unknown")
            return None, set()
        prefix = creds.table_prefix  # checked against [A-Za-z0-9_]
        if legacy:
            query = f"SELECT HEX(type), HEX(name) FROM `{prefix}system` WHERE status = 1;"  # noqa: S608
        else:
            query = (
                f"SELECT HEX('config'), HEX(data) FROM `{prefix}config` "  # noqa: S608
                "WHERE collection = '' AND name = 'core.extension';"
            )
        sql = f"SET SESSION TRANSACTION READ ONLY; SELECT HEX(VERSION()); {query}"
        result = await self.run_remote(creds.mysql_argv(sql), stdin=creds.option_file())
        if result.exit_status != 0:  # its stderr is the server's: quoted, escapes visible
            raise RemoteError(f"reading the Drupal database failed: {server_said(result.stderr)}")
        lines = result.text.splitlines()
        server = hex_value(lines[0]).decode("utf-8", "replace") if lines else None
        rows = [  # two HEX() columns per row, whatever else the client prints
            (hex_value(a), hex_value(b))
            for a, b in (line.split("\t") for line in lines[1:] if line.count("\t") == 1)
        ]
        enabled: set[tuple[ExtensionType, str]] = set()
        if legacy:
            for kind, name in rows:
                enabled.add(
                    ("theme" if kind == b"theme" else "module", name.decode("utf-8", "replace"))
                )
            return server, enabled
        for _, data in rows:
            try:
                config = unserialize(data)
            except PhpSerializeError as exc:
                self.warn(f"core.extension is unreadable: {exc}")
                continue
            if isinstance(config, dict):
                for key, type_ in (("module", "module"), ("theme", "theme")):
                    names = config.get(key)
                    if isinstance(names, dict):
                        enabled.update((type_, str(n)) for n in names)  # type: ignore[misc]
        return server, enabled


def _extension(info: _Info, legacy: bool) -> Extension | None:
    """An Extension from an info file; hidden (test) modules and profiles are left out."""
    fields = info.fields
    if fields.get("hidden", "").lower() == "true" or "name" not in fields:
        return None
    if legacy:
        is_theme = "engine" in fields or "/themes/" in f"/{info.path}"
    else:
        if fields.get("type") not in ("module", "theme"):
            return None
        is_theme = fields["type"] == "theme"
    project = fields.get("project")
    return Extension(
        type="theme" if is_theme else "module",
        slug=info.machine,
        name=fields["name"],
        version=fields.get("version"),
        update_source=f"drupal.org/project/{project}" if project else "none",
        file=info.path,
    )
