"""TinyCMS: a fourth CMS that exists only in the test suite (issue 15, point 1).

It is written the way a third party would write a CMS package: one object that
satisfies ``sitekeeper.cms.protocol.Cms`` and is filed with ``CMSES.add``, plus a
reader of its vendor's advisory format filed in ``ADVISORY_FORMATS``. Nothing under
``src/`` knows it.

What TinyCMS is: a docroot with ``tiny-version.txt`` (the core's release) and
``plugins/<slug>/plugin.ini`` (``name=`` and ``version=`` lines); its pages carry
``<meta name="generator" content="TinyCMS 1.2.0">``; its vendor publishes one JSON
release feed and one JSON advisory document.

Its ecosystem is Packagist because ``domain.versions.Ecosystem`` is a closed enum (a
CMS cannot bring its own; see /work/notes/H6-blockers.md): Composer's version rules are
the nearest honest choice for a PHP CMS whose packages follow semantic versioning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sitekeeper.cms.collector import Collector, InventoryLimits
from sitekeeper.cms.db_credentials import DbCredentials
from sitekeeper.cms.site_database import DrillTarget
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import FeedError, InvalidFeed, RemoteError
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.hashes import Learner
from sitekeeper.intel.polling import PollResult
from sitekeeper.remote.ssh import SshConnection

KIND = "tinycms"
SOURCE = "tinycms.example"  # where the core's and the plugins' updates come from
ECOSYSTEM = Ecosystem.PACKAGIST
VERSION_FILE = "tiny-version.txt"
_GENERATOR = re.compile(r'<meta name="generator" content="TinyCMS (\d+\.\d+\.\d+)"')
_INI = re.compile(r"^(\w+)\s*=\s*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class TinyHealth:
    """TinyCMS's signs of health (``cms.health_markers``): a login page, nothing else."""

    login_path: str = "login"
    fatal_texts: tuple[str, ...] = ("TinyCMS crashed",)
    maintenance_texts: tuple[str, ...] = ()
    maintenance_status: int = 503
    db_update_path: str | None = None
    db_update_signs: tuple[str, ...] = ()
    maintenance_files: tuple[str, ...] = ()
    extension_dirs: tuple[tuple[str, str], ...] = ()


class TinyCms:
    """The TinyCMS plugin; ``feed`` is its vendor's release feed (a loopback URL here)."""

    kind = KIND
    ecosystem = ECOSYSTEM
    core_source = SOURCE
    markers = (VERSION_FILE,)
    config_files = ("tiny-config.ini",)
    detect_path = "tiny-version.txt"
    learns_unranged = False
    health = TinyHealth()
    updater = None  # its updates are refused: sitekeeper cannot apply them

    def __init__(self, feed: str) -> None:
        self.feed = feed

    # --- from outside ---

    def read_signals(
        self, url: str, status: int, headers: Mapping[str, str], text: str
    ) -> list[Fingerprint]:
        """The generator tag names the release."""
        if status != 200 or not (match := _GENERATOR.search(text[:100_000])):
            return []
        version = match.group(1)
        return [
            Fingerprint(url=url, cms=KIND, version=version, evidence=[f"{url}: TinyCMS {version}"])
        ]

    def version_paths(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """The generator tag is all there is."""
        return ()

    def hash_files(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """No static files worth hashing."""
        return ()

    async def releases(self, learner: Learner) -> list[str]:
        """No release archives to learn from."""
        return []

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """Nothing to learn."""
        return []

    # --- over SSH ---

    async def inventory(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> Inventory:
        """The core's release and every plugin's ``plugin.ini``."""
        return await _Tiny(conn, docroot, limits).run()

    # --- the vendor's feed ---

    def polls(self, source: str | None) -> bool:
        """Only the vendor's own packages."""
        return source == SOURCE

    async def poll(
        self, fetcher: Fetcher, packages: Sequence[tuple[str, str, str | None]], home: Path
    ) -> PollResult:
        """One feed lists every package: its latest release and each release's flags."""
        result = PollResult()
        asked = sorted({(t, p) for t, p, _ in packages})
        result.asked(ECOSYSTEM, asked)
        url = f"{self.feed}/releases.json"
        try:
            response = await fetcher.get(url)
            if response.body is None:
                return result  # unchanged since the last poll
            listed = _releases(response.body)
        except FeedError as exc:
            result.fail(ECOSYSTEM, asked, str(exc))
            return result
        for type_, package in asked:
            entry = listed.get(f"{type_}/{package}")
            if entry is None:
                info = PackageInfo(
                    ECOSYSTEM, type_, package, latest=None, source=SOURCE, status="not-found"
                )
            else:
                info = PackageInfo(
                    ECOSYSTEM, type_, package, latest=entry["latest"], source=SOURCE,
                    name=entry.get("name"),
                    releases=tuple(
                        ReleaseInfo(r["version"], security_update=bool(r.get("security")))
                        for r in entry["releases"]
                    ),
                )  # fmt: skip
            result.packages.append(info)
        return result

    # --- the database side: TinyCMS keeps its pages in files, nothing to back up ---

    def credentials(self, config: bytes) -> DbCredentials:
        """TinyCMS has no database."""
        raise RemoteError("TinyCMS has no database", permanent=True)

    def point_at(self, config: bytes, target: DrillTarget) -> bytes:
        """Nothing to point anywhere."""
        return config

    def title_sql(self, prefix: str) -> str:
        """No database, no query."""
        return "SELECT ''"

    def title(self, output: str, config: bytes) -> str:
        """No title kept in a database."""
        return ""


class _Tiny(Collector):
    async def collect(self) -> Inventory:
        self.root = await self.real(self.docroot)
        raw = await self.read_inside(self.path(VERSION_FILE), 1024)
        if raw is None:
            raise RemoteError(f"{self.docroot} is not a TinyCMS install", permanent=True)
        plugins: list[Extension] = []
        for entry in (await self.scan(self.path("plugins"))).entries:
            ini = await self.read_inside(self.path(f"plugins/{entry.name}/plugin.ini"), 4096)
            if ini is None:
                continue
            fields = dict(_INI.findall(ini.decode("utf-8", "replace")))
            plugin = Extension(
                type="plugin", slug=entry.name, name=fields.get("name", entry.name),
                version=fields.get("version"), active=fields.get("active") == "yes",
                update_source=SOURCE, file=f"{entry.name}/plugin.ini",
            )  # fmt: skip
            plugins.append(plugin)
        return Inventory(
            cms=KIND,
            version=raw.decode("ascii", "replace").strip(),
            extensions=sorted(plugins, key=lambda e: e.key),
            collected_at=datetime.now(UTC),
            warnings=self.warnings,
        )


def _releases(body: bytes) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(body)
        packages = data["packages"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FeedError(f"TinyCMS release feed unreadable: {exc}") from exc
    if not isinstance(packages, dict):
        raise FeedError("TinyCMS release feed: 'packages' is not an object")
    return packages


class TinyAdvisories:
    """The vendor's advisory document: ``{"tinycms_advisories": [...]}``."""

    name = "TinyCMS advisories"

    def read(self, data: bytes, body: object | None, max_bytes: int) -> list[Advisory] | None:
        """The advisories if ``body`` is in TinyCMS's format, else None."""
        if not isinstance(body, dict) or "tinycms_advisories" not in body:
            return None
        try:
            return [_advisory(item) for item in body["tinycms_advisories"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidFeed(f"TinyCMS advisories: {exc}") from exc


def _advisory(item: dict[str, Any]) -> Advisory:
    kind = PackageType(item["type"])
    return Advisory(
        id=item["id"],
        aliases=tuple(item.get("cve", ())),
        summary=item["title"],
        severity=item.get("severity"),
        cvss_score=None,
        cvss_vector=None,
        published=datetime.fromisoformat(item["published"]),
        modified=None,
        affected=(
            AffectedPackage(
                ECOSYSTEM,
                item["package"],
                kind,
                AffectedRanges(ECOSYSTEM, (VersionRange(introduced="0", fixed=item["fixed"]),)),
                patched_versions=(item["fixed"],),
            ),
        ),
        source=KIND,
    )
