"""Where a Drupal module's or theme's update package comes from and what it is checked
against.

The project's release history on updates.drupal.org (``drupal_updates_url``, a mirror or
a test's loopback server) lists each release's archives with their MD5 and size (the
only digest it publishes; the sha256 sitekeeper takes of the download is journaled
beside it). The zip archive is used; its single top folder is the project's machine
name and holds ``<name>.info.yml`` of the same type. A submodule (a module whose project
is another) moves with its project, never on its own.
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sitekeeper.cms.drupal.inventory import INFO_BYTES, parse_info
from sitekeeper.cms.drupal.releases import parse_release_history
from sitekeeper.cms.drupal.sources import release_history_base
from sitekeeper.cms.package_source import PackageSource, Release, ReleaseListing
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError

TYPES = ("module", "theme")
PROJECT_SOURCE = "drupal.org/project/"
_MACHINE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def project_of(source: str | None, slug: str) -> str:
    """The drupal.org project an extension comes with (its info file's ``project``)."""
    if source and source.startswith(PROJECT_SOURCE):
        return source.removeprefix(PROJECT_SOURCE)
    return slug


def package_source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    """The release history's zip of ``item``'s target (UsageError for a core update, a
    submodule, or a name no URL or folder can hold: they come from a site)."""
    if item.type not in TYPES:
        raise UsageError(f"sitekeeper does not update Drupal {item.type} packages")
    if not _MACHINE.fullmatch(item.package):
        raise UsageError(f"not a Drupal machine name: {item.package[:60]!r}")
    project = project_of(item.source, item.package)
    if project != item.package:
        raise UsageError(
            f"{item.type} {item.package} comes with the project {project[:60]}: "
            f"it is updated with {project[:60]}, not on its own"
        )
    url = f"{release_history_base(vendor)}/{quote(project, safe='')}/current"
    return PackageSource(
        url="",
        top_folder=item.package,
        cache_key=("drupal", item.type, item.package, item.target),
        sha256=sha256,
        listing=ReleaseListing(
            url=url,
            parse=functools.partial(release_of, project, item.target),
            label=f"the release history of {project} ({url})",
        ),
        shape=functools.partial(check_archive, item.type, item.package),
    )


def release_of(project: str, version: str, body: bytes) -> Release:
    """The zip archive and its MD5 the history lists for ``version``."""
    history = parse_release_history(body)
    if history is None:
        raise InvalidFeed(f"the release history does not know the project {project}")
    release = next(
        (r for r in history.releases if r.version == version and r.status == "published"), None
    )
    if release is None:
        raise InvalidFeed(f"the release history of {project} has no published {version}")
    for url, md5, size in release.archives():
        if url.endswith(".zip") and md5:
            return Release(url, {"md5": md5}, size)
    raise InvalidFeed(
        f"the release history lists no zip archive of {project} {version} with a digest: "
        "nothing to verify it against, refused"
    )


def check_archive(type_: str, name: str, archive: Path) -> str:
    """The archive's top folder holds ``<name>.info.yml`` saying it is a ``type_``."""
    info_path = f"{name}/{name}.info.yml"
    with zipfile.ZipFile(archive) as opened:
        try:
            entry = opened.getinfo(info_path)
        except KeyError:
            raise InvalidFeed(f"the archive has no {info_path}: not the {type_} {name}") from None
        if entry.file_size > INFO_BYTES:
            raise InvalidFeed(f"{info_path} is over {INFO_BYTES} bytes")
        fields = parse_info(opened.read(entry))
    if fields.get("type") != type_:
        raise InvalidFeed(f"{info_path} says type {fields.get('type')!r}, not {type_}; refused")
    return f"{info_path} is the {type_} {fields.get('name', name)} {fields.get('version', '')}"
