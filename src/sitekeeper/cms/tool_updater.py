"""The updater (``cms.updater.Updater`` and ``MaintenanceSwitch``) of a CMS whose
extension packages are installed by the site's own tool: Joomla's console, Drupal's
drush.

Both answer the run's questions the same way -- the package source from the CMS's
vendor document, a refusal in preflight when the site lacks the tool (before the
snapshot), the owner of what the install rewrites, the install itself, and the
maintenance flag lifted after a crash -- so one class holds that shape and each CMS
names its own functions (``cms.joomla.updater``, ``cms.drupal.updater``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import CORE, ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


class SourceOf(Protocol):
    def __call__(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource: ...


class SiteSourceOf(Protocol):
    def __call__(
        self,
        conn: SshConnection,
        docroot: str,
        item: UpdateItem,
        vendor: Mapping[str, Any],
        *,
        sha256: str | None = None,
    ) -> Awaitable[PackageSource | None]: ...


class Install(Protocol):
    def __call__(
        self,
        conn: SshConnection,
        docroot: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> Awaitable[ApplyResult]: ...


@dataclass(frozen=True)
class ToolUpdater:
    """One CMS's extension updates by its site's own tool."""

    types: tuple[str, ...]
    source: SourceOf  # where a target comes from and what it is checked against
    missing_tool: Callable[[SshConnection, str], Awaitable[Check | None]]  # None: it is there
    owner: Callable[[SshConnection, str, UpdateItem], Awaitable[Check]]
    install: Install
    lift: Callable[[SshConnection, str], Awaitable[Check]]
    # a source that reads the site first (None from it, or no such function: ``source``)
    site_source: SiteSourceOf | None = None

    def package_source(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        """The vendor document's download of ``item``'s target and its digests."""
        return self.source(item, vendor, sha256=sha256)

    async def site_package_source(
        self,
        conn: SshConnection,
        docroot: str,
        item: UpdateItem,
        vendor: Mapping[str, Any],
        *,
        sha256: str | None = None,
    ) -> PackageSource:
        """The package source of ``item`` for this site (``cms.updater.SiteSource``)."""
        if self.site_source is not None:
            found = await self.site_source(conn, _root(docroot), item, vendor, sha256=sha256)
            if found is not None:
                return found
        return self.source(item, vendor, sha256=sha256)

    async def check_owner(self, conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
        """The site has its own tool (refused before the snapshot without it), and what
        the install rewrites belongs to the user sitekeeper works as."""
        root = _root(docroot)
        missing = await self.missing_tool(conn, root)
        if missing is not None:
            return missing
        return await self.owner(conn, root, item)

    async def apply(
        self,
        conn: SshConnection,
        docroot: str,
        url: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        """The CMS's install of the verified package (the site's URL is not needed)."""
        del url
        return await self.install(conn, docroot, package, reset_opcache=reset_opcache)

    async def lift_maintenance(self, conn: SshConnection, docroot: str) -> Check:
        """The CMS's maintenance flag off after a crash (``cms.updater.MaintenanceSwitch``)."""
        return await self.lift(conn, _root(docroot))


def core_or_package_source(core: SourceOf, extension: SourceOf) -> SourceOf:
    """One source for core and another for extensions, as each CMS fetches them apart."""

    def source(
        item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        chosen = core if item.type == CORE else extension
        return chosen(item, vendor, sha256=sha256)

    return source


def core_or_package_install(core: Install, extension: Install) -> Install:
    """One install for core and another for extensions, as each CMS installs them apart."""

    async def install(
        conn: SshConnection,
        docroot: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        chosen = core if package.item.type == CORE else extension
        return await chosen(conn, docroot, package, reset_opcache=reset_opcache)

    return install


def _root(docroot: str) -> str:
    return docroot.rstrip("/") or "/"
