"""Where a Joomla core update's package comes from and what it is checked against.

Joomla's core update XML (the ``<update>`` of element ``joomla``, type ``file``) names
each release's Update_Package and its sha256/sha384/sha512, as Joomla's web updater
checks them (``UpdateModel::download``, updates-notes §2); ``core:update`` downloads
without a check, so sitekeeper fetches and verifies the package itself and installs
those bytes (``joomla.core_install``). The release must be for the site's Joomla
(``<targetplatform>``). An Update_Package has no top folder; it carries the new
``administrator/manifests/files/joomla.xml`` and ``libraries/src/Version.php`` and never
a ``configuration.php`` or an ``installation/`` folder (a Full_Package would put the web
installer on the live site): such an archive is refused.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sitekeeper.cms.joomla.packages import MANIFEST_BYTES, release_of
from sitekeeper.cms.joomla.sources import joomla_sources
from sitekeeper.cms.package_source import PackageSource, ReleaseListing
from sitekeeper.domain.untrusted import shown
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import parse_xml

MANIFEST = "administrator/manifests/files/joomla.xml"
VERSION_FILE = "libraries/src/Version.php"
NEVER = ("configuration.php", "installation/")  # the site's own, the web installer


def package_source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    """The core update XML's Update_Package of ``item.target`` for the site's Joomla."""
    url = joomla_sources(vendor).joomla_core_details_url
    return PackageSource(
        url="",
        top_folder="",
        cache_key=("joomla", "core", "joomla", item.target),
        sha256=sha256,
        listing=ReleaseListing(
            url=url,
            parse=functools.partial(
                release_of,
                "joomla",
                "file",
                item.target,
                pinned=sha256 is not None,
                platform=item.platform,
            ),
            label=f"Joomla's core update XML for {item.target} ({url})",
        ),
        shape=functools.partial(check_archive, item.target),
    )


def check_archive(target: str, archive: Path) -> str:
    """The archive is an Update_Package of ``target`` (InvalidFeed if not)."""
    with zipfile.ZipFile(archive) as opened:
        names = {i.filename for i in opened.infolist()}
        for name in sorted(names):
            if any(name == n or name.startswith(n) for n in NEVER):
                raise InvalidFeed(
                    f"the archive holds {shown(name, 80)}: not an Update_Package "
                    "(a site's configuration or the web installer must never be copied over "
                    "a live site); refused"
                )
        if VERSION_FILE not in names or MANIFEST not in names:
            raise InvalidFeed(
                f"the archive has no {MANIFEST} or {VERSION_FILE}: not a Joomla core package; "
                "refused"
            )
        info = opened.getinfo(MANIFEST)
        if info.file_size > MANIFEST_BYTES:
            raise InvalidFeed(f"{MANIFEST} is over {MANIFEST_BYTES} bytes; refused")
        manifest = parse_xml(opened.read(info), what=MANIFEST, max_bytes=MANIFEST_BYTES)
    version = (manifest.findtext("version") or "").strip()
    if manifest.tag != "extension" or manifest.get("type") != "file" or version != target:
        raise InvalidFeed(
            f"the archive's {MANIFEST} is for Joomla {shown(version, 40) or '?'}, not {target}; "
            "refused"
        )
    return f"an Update_Package: its {MANIFEST} says {target}"
