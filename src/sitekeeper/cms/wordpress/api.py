"""Responses of api.wordpress.org: core version-check 1.7, stable-check 1.0, checksums 1.0,
plugin/theme info 1.2 and plugins update-check 1.1.

The API answers PHP-flavoured JSON: ``false`` where a value is missing, ``[]``
where an object is empty. The models accept exactly those shapes and nothing
else, so a changed or hostile answer is rejected instead of half-read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sitekeeper.domain.catalogue import VendorRelease
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate


def _empty_list_is_empty_dict(value: Any) -> Any:
    """PHP's json_encode writes an empty array as ``[]`` even where a map is meant."""
    return {} if value == [] else value


def _false_is_none(value: Any) -> Any:
    return None if value is False else value


OptionalStr = Annotated[str | None, BeforeValidator(_false_is_none)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CorePackages(_Model):
    """Download URLs of a core offer; only ``full`` is always present."""

    full: str
    no_content: OptionalStr = None
    new_bundled: OptionalStr = None
    partial: OptionalStr = None
    rollback: OptionalStr = None


class CoreOffer(_Model):
    """One offer: ``response`` is upgrade, latest, development or autoupdate."""

    response: str
    version: str
    current: str | None = None
    locale: str
    download: str
    packages: CorePackages
    php_version: str
    mysql_version: str
    new_bundled: OptionalStr = None
    partial_version: OptionalStr = None


class _VersionCheck(_Model):
    offers: list[CoreOffer]


def parse_version_check(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[CoreOffer]:
    """The offers of ``/core/version-check/1.7/``; at least one, or InvalidFeed."""
    what = "WordPress version-check"
    result = validate(_VersionCheck, load_json(data, what=what, max_bytes=max_bytes), what=what)
    if not result.offers:
        raise InvalidFeed(f"{what}: no offers")
    return result.offers


class StableStatus(enum.StrEnum):
    """stable-check's verdict on a core version; ``insecure`` is the vendor's security flag."""

    LATEST = "latest"
    OUTDATED = "outdated"
    INSECURE = "insecure"


_CORE_VERSION = re.compile(r"^\d+(\.\d+){0,3}([-.][0-9A-Za-z.-]{1,30})?$")


def parse_stable_check(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, StableStatus]:
    """``/core/stable-check/1.0/``: every core version -> latest / outdated / insecure."""
    what = "WordPress stable-check"
    result = validate(
        dict[str, StableStatus], load_json(data, what=what, max_bytes=max_bytes), what=what
    )
    bad = [version for version in result if not _CORE_VERSION.match(version)]
    if bad:
        raise InvalidFeed(f"{what}: not a version: {bad[0]!r}")
    if not result:
        raise InvalidFeed(f"{what}: empty")
    return result


def parse_core_checksums(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, str] | None:
    """``/core/checksums/1.0/``: path -> md5, or None when WordPress does not know the version."""
    what = "WordPress core checksums"
    body = validate(
        dict[str, dict[str, str] | bool],
        load_json(data, what=what, max_bytes=max_bytes),
        what=what,
    )
    if "checksums" not in body:
        raise InvalidFeed(f"{what}: no 'checksums' member")
    checksums = body["checksums"]
    if checksums is False:
        return None
    if not isinstance(checksums, dict) or not checksums:
        raise InvalidFeed(f"{what}: 'checksums' is neither a map nor false")
    bad = [path for path, digest in checksums.items() if not re.fullmatch(r"[0-9a-f]{32}", digest)]
    if bad:
        raise InvalidFeed(f"{what}: {bad[0]!r} has no MD5 digest")
    return checksums


class PackageInfo(_Model):
    """``/plugins/info/1.2/`` or ``/themes/info/1.2/`` for one slug."""

    name: str
    slug: str
    version: str
    requires: OptionalStr = None
    requires_php: OptionalStr = None
    tested: OptionalStr = None
    last_updated: OptionalStr = None
    download_link: OptionalStr = None
    versions: Annotated[dict[str, str | None], BeforeValidator(_empty_list_is_empty_dict)] = Field(
        default_factory=dict
    )


def parse_package_info(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> PackageInfo | None:
    """Plugin or theme information; None when the API says the slug does not exist."""
    what = "WordPress plugin/theme info"
    body = load_json(data, what=what, max_bytes=max_bytes)
    if isinstance(body, dict) and "error" in body and "slug" not in body:
        return None
    return validate(PackageInfo, body, what=what)


class PluginUpdate(_Model):
    """One plugin in an update-check answer (under ``plugins`` or ``no_update``)."""

    id: str
    slug: str
    plugin: str
    new_version: str
    url: OptionalStr = None
    package: OptionalStr = None
    requires: OptionalStr = None
    tested: OptionalStr = None
    requires_php: OptionalStr = None


_PluginMap = Annotated[dict[str, PluginUpdate], BeforeValidator(_empty_list_is_empty_dict)]


class PluginsUpdateCheck(_Model):
    """``/plugins/update-check/1.1/``: ``plugins`` have updates, ``no_update`` are current."""

    plugins: _PluginMap
    no_update: _PluginMap = Field(default_factory=dict)


def parse_plugins_update_check(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> PluginsUpdateCheck:
    """Parse the answer; keys are plugin files ("buddypress/bp-loader.php")."""
    what = "WordPress plugins update-check"
    return validate(PluginsUpdateCheck, load_json(data, what=what, max_bytes=max_bytes), what=what)


def releases_from_stable_check(statuses: Mapping[str, StableStatus]) -> list[VendorRelease]:
    """WordPress's stable-check: only ``insecure`` flags, no dates."""
    return [VendorRelease(v, insecure=s is StableStatus.INSECURE) for v, s in statuses.items()]
