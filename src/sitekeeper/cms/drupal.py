"""Drupal (7 and 8-11): what a site shows from outside, and its inventory over SSH.

From outside, Drupal names its major version in ``X-Generator`` and the
generator tag, core's own unaggregated assets carry ``?v=<VERSION>`` (8+),
and Drupal 7 serves ``CHANGELOG.txt``. Over SSH the version comes from
``core/lib/Drupal.php`` or Drupal 7's ``includes/bootstrap.inc``, extensions
from ``*.info.yml`` / ``*.info`` (drupal.org's packaging adds ``version`` and
``project``), and enabled state from the database (``core.extension`` config,
or Drupal 7's ``system`` table) with ``settings.php``'s credentials.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Mapping
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
from sitekeeper.cms.php_config import Token, class_values, parse_php_config, tokenize
from sitekeeper.cms.php_edit import append_code, php_string, words
from sitekeeper.cms.php_serialize import PhpSerializeError, unserialize
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Extension, ExtensionType, Inventory
from sitekeeper.domain.untrusted import clean, server_said
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import RemoteError
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

CMS = "drupal"
DETECT_PATH = "core/misc/drupal.js"
VERSION_FILES = ("core/lib/Drupal.php", "includes/bootstrap.inc")  # 8+, 7
INFO_BYTES = 64 * 1024
MAX_DIRS = 3000  # directories walked looking for .info files
MAX_DEPTH = 4  # modules/contrib/<project>/modules/<sub>
MAX_INFO_FILES = 5000  # .info(.yml) files read; a real site has a few hundred
_SKIP_DIRS = {"tests", "node_modules", "vendor", "src", "config", "templates", "css", "js",
              "images", "assets", "translations", "fonts", "icons"}  # fmt: skip
_VERSION = r"\d+\.\d+(?:\.\d+)?(?:-(?:alpha|beta|rc)\d+)?"
_GENERATOR = re.compile(r"^Drupal\s+(\d+)\b")
_META = re.compile(r"<meta\s[^>]*name\s*=\s*[\"']generator[\"'][^>]*>", re.IGNORECASE)
_CONTENT = re.compile(r"content\s*=\s*[\"']([^\"']{0,200})[\"']", re.IGNORECASE)
# Only core's own code: bundled libraries (jQuery, ...) carry their own ?v=.
_CORE_ASSET = re.compile(
    rf"/core/(?:misc|modules|themes)/[^\"'\s<>?]{{1,300}}\?v=({_VERSION})[\"'&]"
)
_CHANGELOG = re.compile(rf"^\s*Drupal ({_VERSION}), (\d{{4}}-\d{{2}}-\d{{2}})", re.MULTILINE)
_PREFIX = re.compile(r"^[A-Za-z0-9_]{0,64}$")


# ----------------------------------------------------------------------------- from outside


def family(major: int) -> str:
    """The range of one major version, e.g. ">=10.0 <11.0"."""
    return f">={major}.0 <{major + 1}.0"


def read(url: str, status: int, headers: Mapping[str, str], text: str) -> list[Fingerprint]:
    """Clues in one response: headers, generator tag, core ``?v=``, CHANGELOG, drupal.js."""
    clues: list[Fingerprint] = []
    generator = clean(headers.get("x-generator", ""), 200)
    if match := _GENERATOR.match(generator):
        major = int(match.group(1))
        clues.append(_clue(url, None, f"{url}: X-Generator {generator[:60]!r}", family(major)))
    if "x-drupal-dynamic-cache" in headers:
        clues.append(_clue(url, None, f"{url}: X-Drupal-Dynamic-Cache header (8+)", ">=8.0"))
    elif "x-drupal-cache" in headers:
        clues.append(_clue(url, None, f"{url}: X-Drupal-Cache header"))
    if status != 200:
        return clues
    head = text[:1_000_000]
    for tag in _META.findall(head):
        content = _CONTENT.search(tag)
        value = clean(content.group(1)) if content else ""
        if match := _GENERATOR.match(value):
            major = int(match.group(1))
            clues.append(_clue(url, None, f"{url}: generator {value[:60]!r}", family(major)))
    votes = Counter(_CORE_ASSET.findall(head))
    if votes:
        version, count = votes.most_common(1)[0]
        clues.append(_clue(url, version, f"{url}: ?v={version} on {count} core asset(s)"))
    if url.endswith("CHANGELOG.txt") and (match := _CHANGELOG.search(head[:4096])):
        clues.append(
            _clue(url, match.group(1), f"{url}: 'Drupal {match.group(1)}, {match.group(2)}'")
        )
    if url.endswith("/drupal.js") and "Drupal" in head and "behaviors" in head:
        span = ">=8.0" if url.endswith("core/misc/drupal.js") else family(7)
        clues.append(_clue(url, None, f"{url}: Drupal's drupal.js is served", span))
    if "drupalSettings" in head or "data-drupal-selector" in head:
        clues.append(_clue(url, None, f"{url}: drupalSettings in the page (8+)", ">=8.0"))
    elif "Drupal.settings" in head or "/misc/drupal.js" in head:
        clues.append(_clue(url, None, f"{url}: Drupal.settings / misc/drupal.js (7)", family(7)))
    return clues


def _majors(clues: list[Fingerprint]) -> set[str]:
    return {c for clue in clues if clue.cms == CMS for c in clue.candidates}


def version_paths(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Where the release may show: CHANGELOG.txt on 7, install.php's assets on 8+."""
    majors = _majors(clues)
    if family(7) in majors:
        return ("CHANGELOG.txt",)
    if majors:
        return ("core/install.php", "core/CHANGELOG.txt")
    return ("CHANGELOG.txt", "core/install.php")


_MODERN = ("core/misc/drupal.js", "core/misc/ajax.js", "core/misc/states.js")
_LEGACY = ("misc/drupal.js", "misc/ajax.js", "misc/states.js")
# Core's own JavaScript: public on every site, changed by most releases, never
# aggregated away at its source path. Learned from the release tarballs.
HASH_FILES = _MODERN + _LEGACY


def hash_files(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Static files worth hashing for the major version the clues allow."""
    modern, legacy = _MODERN, _LEGACY
    majors = _majors(clues)
    if family(7) in majors:
        return legacy
    return modern if majors else modern[:2] + legacy[:1]


def _clue(url: str, version: str | None, evidence: str, major: str | None = None) -> Fingerprint:
    return Fingerprint(
        url=url, cms=CMS, version=version, candidates=[major] if major else [], evidence=[evidence]
    )


# ----------------------------------------------------------------------------- files


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


# ----------------------------------------------------------------------------- inventory


class Drupal:
    """The Drupal CMS plugin: inventory over SSH (fingerprint signals are module functions)."""

    kind = "drupal"
    markers = VERSION_FILES  # what ``inventory`` reads first (cms.detect)
    config_files = ("sites/default/settings.php",)
    ecosystem = Ecosystem.DRUPAL
    core_source = "drupal.org"
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
        """Only drupal.org projects."""
        return source == self.core_source

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """The release history of each project on updates.drupal.org."""
        from sitekeeper.intel.pollers import drupal  # noqa: PLC0415

        return await drupal.poll(fetcher, [(t, p) for t, p, _ in packages])

    async def releases(self, learner: Learner) -> list[str]:
        """Releases of the core's release histories."""
        return list(await learner.drupal_releases())

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """Each release's tarball, checked against its published MD5."""
        return await learner.learn_drupal(paths, within=within)

    async def inventory(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> Inventory:
        """See :func:`inventory`."""
        return await inventory(conn, docroot, limits)

    # the database side, for backups and restore drills (cms.site_database)

    def credentials(self, config: bytes) -> DbCredentials:
        """The ``default`` connection of ``settings.php``; a MySQL/MariaDB database only."""
        creds, driver = db_credentials(config)
        if driver != "mysql":
            raise RemoteError(
                f"settings.php: database driver {clean(driver, 40)!r} is not backed up "
                "(MySQL and MariaDB only)",
                permanent=True,
            )
        return creds

    def point_at(self, config: bytes, target: DrillTarget) -> bytes:
        """See :func:`point_at`."""
        return point_at(config, target)

    def title_sql(self, prefix: str) -> str:
        """The ``system.site`` configuration object (the site's name)."""
        table = f"`{prefix}config`"  # the prefix is checked against [A-Za-z0-9_]
        return f"SELECT HEX(data) FROM {table} WHERE collection = '' AND name = 'system.site'"  # noqa: S608

    def title(self, output: str, config: bytes) -> str:
        """See :func:`site_name`."""
        return site_name(output)


CMSES.add("drupal", Drupal())


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
