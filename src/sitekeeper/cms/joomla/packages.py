"""Where a Joomla extension's update package comes from and what it is checked against.

The extension's own update server (the ``<updateservers>`` of its manifest, which the
inventory keeps as the extension's update source) lists each version's download URL and
its sha256/sha384/sha512, as Joomla's web installer checks them
(``InstallerHelper::isChecksumValid``). A version listed without any digest is refused
unless the operator pinned the archive's sha256. Joomla extension archives have no top
folder: the install manifest at the archive's root says what the package is, so it must
name the extension being updated and declare ``method="upgrade"`` (else Joomla's
installer refuses it over the installed version).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sitekeeper.cms.joomla.updates import parse_update_server
from sitekeeper.cms.package_source import PackageSource, Release, ReleaseListing
from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError
from sitekeeper.intel.payload import parse_xml

MANIFEST_BYTES = 256 * 1024
EXTENSION_TYPES = ("component", "module", "plugin", "template", "library", "package")


def package_source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    """The update server's download of ``item``'s target (UsageError when the extension
    declares none, or is not a kind sitekeeper updates)."""
    del vendor  # each extension names its own update server
    if item.type not in EXTENSION_TYPES:
        raise UsageError(f"sitekeeper does not update Joomla {item.type} packages")
    server = item.source or ""
    if not server.startswith(("https://", "http://")):
        raise UsageError(
            f"Joomla {item.type} {item.package} declares no update server in its manifest: "
            "nowhere to get the package from"
        )
    element, _ = element_of(item.type, item.package)
    key = ("joomla", item.type, item.package.replace("/", "+"), item.target)
    return PackageSource(
        url="",
        top_folder="",
        cache_key=key,
        sha256=sha256,
        listing=ReleaseListing(
            url=server,
            parse=functools.partial(
                release_of,
                element,
                item.type,
                item.target,
                pinned=sha256 is not None,
                platform=item.platform,
            ),
            label=f"the update server's <update> for {element} {item.target} ({server})",
        ),
        shape=functools.partial(check_archive, item.type, item.package),
    )


def element_of(type_: str, slug: str) -> tuple[str, str]:
    """(element, client) of an inventory slug, as ``#__extensions`` and update servers
    name them: plg_system_x -> x, tpl_x -> x, lib_x -> x, administrator/mod_x -> mod_x."""
    client = "site"
    if slug.startswith("administrator/"):
        client, slug = "administrator", slug.removeprefix("administrator/")
    if type_ == "plugin" and slug.startswith("plg_"):
        _group, _, element = slug.removeprefix("plg_").partition("_")
        return element, client
    for prefix in ("tpl_", "lib_"):
        if slug.startswith(prefix) and type_ in ("template", "library"):
            return slug.removeprefix(prefix), client
    return slug, client


def release_of(
    element: str, type_: str, version: str, body: bytes, *, pinned: bool, platform: str | None
) -> Release:
    """The zip download and digests the update server lists for ``version`` on the site's
    Joomla ``platform``: an ``<update>`` is for the Joomla versions its
    ``<targetplatform>`` matches, as Joomla's own updater reads it (an extension may list
    one release per Joomla major, each its own build); none for the site's is refused."""
    updates = [
        u
        for u in parse_update_server(body)
        if u.element == element and u.type == type_ and u.version == version
    ]
    if not updates:
        raise InvalidFeed(f"the update server lists no {type_} {element} {version}")
    if platform is None:
        raise InvalidFeed(
            f"the site's Joomla version is not known: cannot tell whether {element} {version} "
            "is for it (its <targetplatform>); inventory the site first"
        )
    fitting = [u for u in updates if u.targetplatform.matches(platform)]
    if not fitting:
        wanted = ", ".join(sorted({f'"{clean(u.targetplatform.version, 80)}"' for u in updates}))
        raise InvalidFeed(
            f"{element} {version} is for Joomla {wanted} (its <targetplatform>), not for "
            f"the site's Joomla {platform}: refused"
        )
    update = fitting[0]
    zips = [d for d in update.downloads if d.format.lower() == "zip" and d.type == "full"]
    if not zips:
        raise InvalidFeed(f"the update server offers no full zip of {element} {version}")
    if not update.hashes and not pinned:
        raise InvalidFeed(
            f"the update server gives no sha256/sha384/sha512 for {element} {version}: "
            "nothing to verify the archive against, refused (pin its sha256 to update anyway)"
        )
    chosen = next((d for d in zips if not d.source), zips[0])
    return Release(chosen.url, dict(update.hashes))


def check_archive(type_: str, slug: str, archive: Path) -> str:
    """The install manifest at the archive's root names ``slug`` and upgrades in place."""
    manifest, name = _manifest(archive)
    found_type = manifest.get("type", "")
    found = manifest_slug(manifest)
    if found_type != type_ or found != slug:
        raise InvalidFeed(
            f"the archive's manifest {name} is for {found_type or '?'} {found or '?'}, "
            f"not {type_} {slug}; refused"
        )
    # Joomla's installer updates an installed extension when the manifest says
    # method="upgrade", has an <update> element, or has an install script (whose update()
    # it calls); only a manifest with none of the three would be refused over it.
    method = manifest.get("method", "").lower()
    upgrades = method == "upgrade" or manifest.find("update") is not None
    if not upgrades and manifest.find("scriptfile") is None:
        raise InvalidFeed(
            f"the archive's manifest {name} does not say method=\"upgrade\": Joomla's installer "
            f"would refuse it over the installed {slug}; refused"
        )
    return f"its manifest {name} is {type_} {slug}"


def manifest_slug(manifest: ET.Element) -> str:
    """The inventory's slug of the extension a manifest installs (Joomla's own naming)."""
    kind = manifest.get("type", "")
    admin = manifest.get("client", "site").lower() in ("administrator", "admin", "1")
    element = (manifest.findtext("element") or "").strip()
    name = (manifest.findtext("name") or "").strip().lower()
    if kind == "plugin":
        attr = next((f.get("plugin") for f in manifest.iterfind("files/*") if f.get("plugin")), "")
        return f"plg_{manifest.get('group', '')}_{attr or element}"
    if kind == "module":
        attr = next((f.get("module") for f in manifest.iterfind("files/*") if f.get("module")), "")
        found = attr or element or name
        return f"administrator/{found}" if admin else found
    if kind == "component":
        found = element or name
        return found if found.startswith("com_") else f"com_{found}"
    if kind == "package":
        return f"pkg_{(manifest.findtext('packagename') or '').strip()}"
    if kind == "template":
        found = f"tpl_{element or name}"
        return f"administrator/{found}" if admin else found
    if kind == "library":
        return f"lib_{(manifest.findtext('libraryname') or element).strip()}"
    return ""


def _manifest(archive: Path) -> tuple[ET.Element, str]:
    """The ``<extension>`` manifest among the XML files at the archive's root."""
    with zipfile.ZipFile(archive) as opened:
        names = [
            i.filename
            for i in opened.infolist()
            if not i.is_dir() and "/" not in i.filename and i.filename.lower().endswith(".xml")
        ]
        for name in sorted(names):
            info = opened.getinfo(name)
            if info.file_size > MANIFEST_BYTES:
                continue
            try:
                root = parse_xml(opened.read(info), what=name, max_bytes=MANIFEST_BYTES)
            except InvalidFeed:
                continue
            if root.tag == "extension":
                return root, name
    raise InvalidFeed("the archive has no Joomla install manifest (<extension>) at its root")
