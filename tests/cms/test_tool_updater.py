"""A tool updater sends core to the CMS's core install and the rest to its extension
install: a core package run through an extension installer would break the site."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.tool_updater import core_or_package_install, core_or_package_source
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import CORE, ApplyResult, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


def _item(type_: str) -> UpdateItem:
    return UpdateItem(type_, "x", "1.0.0", "1.0.1", "test")


def _source_named(name: str) -> Any:
    def source(
        item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        return PackageSource(url=name, top_folder="", cache_key=(name,), sha256=sha256)

    return source


def _install_named(name: str) -> Any:
    async def install(
        conn: SshConnection,
        docroot: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        return ApplyResult(ok=True, version_on_disk=f"{name}:{docroot}")

    return install


def test_core_and_extensions_get_their_own_source() -> None:
    source = core_or_package_source(_source_named("core"), _source_named("ext"))
    assert source(_item(CORE), {}, sha256="ab").url == "core"
    assert source(_item(CORE), {}, sha256="ab").sha256 == "ab"
    assert source(_item("module"), {}).url == "ext"


def test_core_and_extensions_get_their_own_install() -> None:
    install = core_or_package_install(_install_named("core"), _install_named("ext"))
    conn = cast(SshConnection, object())

    async def applied(type_: str) -> str | None:
        package = VerifiedPackage(_item(type_), "/p", "00", "u", "c", "")
        return (await install(conn, "/site", package)).version_on_disk

    assert asyncio.run(applied(CORE)) == "core:/site"
    assert asyncio.run(applied("plugin")) == "ext:/site"
