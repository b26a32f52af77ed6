"""Where a Drupal core update's build comes from and how it is checked: the "core build
source" seam.

Drupal 8+ core is a Composer project: the release is ``composer update "drupal/core-*"
--with-all-dependencies`` on a build host, and what reaches the site is the built
``vendor/``, ``core/`` and ``composer.lock`` (updates-notes §3). Two sources yield that
build as a zip sitekeeper verifies before any site sees it:

- a **prebuilt archive** (``drupal_core_build_url``, ``{version}`` replaced): the
  operator's build host publishes it with its sha256 beside it (``<url>.sha256``, as
  ``sha256sum`` prints it), or the operator pins the digest (``update --sha256``);
- **Composer on this host** (``drupal_composer``, found on the PATH), run on the site's
  own ``composer.json`` and ``composer.lock`` in a private folder
  (``drupal.composer_build``).

Either way the archive holds only ``core/``, ``vendor/``, ``composer.lock`` (and
``composer.json``), its ``core/lib/Drupal.php`` and the lock's ``drupal/core`` both say the
target version, and nothing else (never a ``sites/`` folder or a settings file). The
release history's MD5 covers drupal.org's own tarball of drupal/drupal, not a Composer
build, so it is not what a build is checked against; that the target is a published
release comes from the history the pending update was found in.

Only a site whose ``vendor/`` lies inside its docroot (drush at ``vendor/bin/drush``, the
legacy project layout) gets core updates: the safety snapshot holds the docroot, so a
rollback of a project whose ``vendor/`` sits beside it could not put ``vendor/`` back.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sitekeeper.cms.drupal import composer_build, drush
from sitekeeper.cms.drupal.inventory import core_version
from sitekeeper.cms.drupal.sources import DrupalSources
from sitekeeper.cms.package_source import PackageSource, Release, ReleaseListing
from sitekeeper.config import extension_settings
from sitekeeper.domain.untrusted import shown
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError
from sitekeeper.remote.ssh import SshConnection

DRUPAL_PHP = "core/lib/Drupal.php"
LOCK = "composer.lock"
TOPS = ("core/", "vendor/", "composer.lock", "composer.json")  # all a build may hold
LOCK_BYTES = 16 * 1024 * 1024
DRUPAL_PHP_BYTES = 256 * 1024
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9.]{1,20})?")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
CHECKED = "the build's core/lib/Drupal.php and composer.lock (drupal/core {target})"


def package_source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    """The core build of ``item.target`` as far as it is known without the site: the
    prebuilt archive when its URL is set, else a Composer build (made once the site's
    composer files are read: ``site_source``)."""
    target = _target(item)
    settings = extension_settings(DrupalSources, vendor)
    if settings.drupal_core_build_url:
        return prebuilt_source(settings.drupal_core_build_url, target, sha256=sha256)
    return PackageSource(
        url=f"composer update drupal/core-* to {target} from the site's composer.json and lock",
        top_folder="",
        cache_key=("drupal", "core", "drupal", target, "composer"),
        sha256=sha256,
        sha256_label=CHECKED.format(target=target),
        shape=functools.partial(check_build, target),
        build=_needs_the_site,
    )


async def site_source(
    conn: SshConnection,
    docroot: str,
    item: UpdateItem,
    vendor: Mapping[str, Any],
    *,
    sha256: str | None = None,
) -> PackageSource | None:
    """Core's source for this site (None for a module or theme: the release history's);
    UsageError when the site's layout or this host cannot have a core build."""
    if item.type != "core":
        return None
    target = _target(item)
    found = await drush.find(conn, docroot)
    if found != f"{docroot.rstrip('/')}/vendor/bin/drush":
        raise UsageError(
            "Drupal core updates need the site's vendor/ inside its docroot (drush at "
            "vendor/bin/drush): the safety snapshot holds the docroot, so a rollback could "
            "not put back a vendor/ beside it; refused"
        )
    settings = extension_settings(DrupalSources, vendor)
    if settings.drupal_core_build_url:
        return prebuilt_source(settings.drupal_core_build_url, target, sha256=sha256)
    composer = shutil.which(settings.drupal_composer)
    if composer is None:
        raise UsageError(
            f"no Drupal core build source: {settings.drupal_composer!r} is not on this host and "
            "drupal_core_build_url is not set (a prebuilt vendor/, core/ and composer.lock)"
        )
    inputs = await composer_build.site_inputs(conn, docroot)
    build = functools.partial(composer_build.build, composer, inputs, target)
    return PackageSource(
        url=f"composer update drupal/core-* --with-all-dependencies ({composer})",
        top_folder="",
        cache_key=("drupal", "core", "drupal", target, "composer", inputs.digest[:16]),
        sha256=sha256,
        sha256_label=CHECKED.format(target=target),
        shape=functools.partial(check_build, target),
        build=build,
    )


def prebuilt_source(template: str, target: str, *, sha256: str | None = None) -> PackageSource:
    """The archive at ``template`` (``{version}`` → ``target``), checked against the
    sha256 published beside it or the one the operator pinned."""
    url = template.replace("{version}", target)
    shape = functools.partial(check_build, target)
    key = ("drupal", "core", "drupal", target, "prebuilt")
    if sha256:
        label = "the sha256 pinned for this build"
        return PackageSource(url, "", key, sha256=sha256, sha256_label=label, shape=shape)
    listing = ReleaseListing(
        url=f"{url}.sha256",
        parse=functools.partial(sha256_line, url),
        label=f"the build's published sha256 ({url}.sha256)",
    )
    return PackageSource("", "", key, listing=listing, shape=shape)


def sha256_line(url: str, body: bytes) -> Release:
    """``<hex>  <name>`` (``sha256sum``'s line) or the bare digest."""
    words = body[:4096].decode("ascii", "replace").split()
    if not words or not _SHA256.fullmatch(words[0]):
        raise InvalidFeed(f"{url}.sha256 holds no sha256: nothing to verify the build against")
    return Release(url, {"sha256": words[0].lower()})


def check_build(target: str, archive: Path) -> str:
    """The archive is a core build of ``target`` and nothing else (InvalidFeed if not)."""
    with zipfile.ZipFile(archive) as opened:
        names = [i.filename for i in opened.infolist()]
        for name in names:
            if not name.startswith(TOPS) and name.rstrip("/") not in ("core", "vendor"):
                raise InvalidFeed(
                    f"the build holds {shown(name, 80)}: a core build is core/, vendor/ and "
                    "composer.lock only (never the site's own files); refused"
                )
        on_disk = core_version(_member(opened, DRUPAL_PHP, DRUPAL_PHP_BYTES), None)
        locked = locked_core(_member(opened, LOCK, LOCK_BYTES))
    if on_disk != target or locked != target:
        raise InvalidFeed(
            f"the build is not Drupal {target}: {DRUPAL_PHP} says {shown(on_disk or '?', 40)}, "
            f"{LOCK} locks drupal/core {shown(locked or '?', 40)}; refused"
        )
    return f"a core build: {DRUPAL_PHP} and {LOCK} say drupal/core {target}"


def locked_core(lock: bytes) -> str | None:
    """The version of ``drupal/core`` a composer.lock holds."""
    try:
        data = json.loads(lock)
    except ValueError:
        raise InvalidFeed(f"the build's {LOCK} is not JSON; refused") from None
    packages = data.get("packages") if isinstance(data, dict) else None
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and package.get("name") == "drupal/core":
            version = package.get("version")
            return str(version).removeprefix("v") if isinstance(version, str) else None
    return None


def _member(opened: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = opened.getinfo(name)
    except KeyError:
        raise InvalidFeed(f"the build has no {name}: not a Drupal core build; refused") from None
    if info.file_size > limit:
        raise InvalidFeed(f"the build's {name} is over {limit} bytes; refused")
    return opened.read(info)


def _target(item: UpdateItem) -> str:
    if not _VERSION.fullmatch(item.target):
        raise UsageError(f"not a Drupal core version: {item.target[:40]!r}")
    return item.target


async def _needs_the_site(dest: Path) -> str:
    del dest
    raise InvalidFeed("a Composer build of Drupal core is made from the site's files")
