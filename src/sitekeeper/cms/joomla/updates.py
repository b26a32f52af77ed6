"""Joomla's XML update-server format: ``<updates>``, collections and manifests' servers.

Joomla decides whether an update applies by matching ``targetplatform``'s
``version`` as a regular expression against the start of the installed
version, so "3.[789]" covers 3.7–3.9 and "3.1" also covers 3.10. We keep that
rule, but the regex comes from the internet: it is length-capped and patterns
that can backtrack catastrophically are refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, expect_root, parse_xml, text_of

_MAX_PATTERN = 200
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")
_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def compile_platform_pattern(pattern: str, *, what: str) -> re.Pattern[str]:
    """Joomla's ``'/^' . $version . '/'``, refusing patterns that could hang the matcher."""
    if len(pattern) > _MAX_PATTERN or _NESTED_QUANTIFIER.search(pattern):
        raise InvalidFeed(f"{what}: refused target platform pattern {pattern[:60]!r}")
    try:
        return re.compile("^" + pattern)
    except re.error as exc:
        raise InvalidFeed(f"{what}: bad target platform pattern {pattern!r} ({exc})") from exc


@dataclass(frozen=True)
class TargetPlatform:
    """Which Joomla an update is for: ``name`` "joomla" and a version regex."""

    name: str
    version: str
    pattern: re.Pattern[str]

    def matches(self, joomla_version: str) -> bool:
        """Whether a site on ``joomla_version`` may install the update (prefix regex match)."""
        return self.name.lower() == "joomla" and self.pattern.search(joomla_version) is not None


@dataclass(frozen=True)
class Download:
    """A package URL; ``source`` marks Joomla's mirror list (``<downloadsource>``)."""

    url: str
    type: str
    format: str
    source: bool = False


@dataclass(frozen=True)
class JoomlaUpdate:
    """One ``<update>`` of an update server (core or extension)."""

    name: str
    element: str
    type: str
    version: str
    client: str | None
    description: str | None
    infourl: str | None
    downloads: tuple[Download, ...]
    tags: tuple[str, ...]
    hashes: dict[str, str]  # "sha256"/"sha384"/"sha512" -> lower-case hex
    targetplatform: TargetPlatform
    php_minimum: str | None
    maintainer: str | None
    section: str | None


def _downloads(update: ET.Element, what: str) -> tuple[Download, ...]:
    found = []
    for node in update.findall("downloads/*"):
        if node.tag not in ("downloadurl", "downloadsource"):
            continue
        url = (node.text or "").strip()
        if not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"{what}: download URL {url[:80]!r} is not http(s)")
        found.append(
            Download(
                url=url,
                type=node.get("type", "full"),
                format=node.get("format", "zip"),
                source=node.tag == "downloadsource",
            )
        )
    if not found:
        raise InvalidFeed(f"{what}: update has no download URL")
    return tuple(found)


def _hashes(update: ET.Element, what: str) -> dict[str, str]:
    hashes = {}
    for name, length in _HEX.items():
        value = text_of(update, name, what=what, required=False)
        if value is None:
            continue
        if not re.fullmatch(rf"[0-9a-fA-F]{{{length}}}", value):
            raise InvalidFeed(f"{what}: {name} is not {length} hex digits")
        hashes[name] = value.lower()
    return hashes


def _platform(update: ET.Element, what: str) -> TargetPlatform:
    node = update.find("targetplatform")
    if node is None or not node.get("version"):
        raise InvalidFeed(f"{what}: update has no <targetplatform version=...>")
    version = node.get("version", "")
    return TargetPlatform(
        name=node.get("name", "joomla"),
        version=version,
        pattern=compile_platform_pattern(version, what=what),
    )


def _update(node: ET.Element, what: str) -> JoomlaUpdate:
    def text(path: str, required: bool = False) -> str | None:
        return text_of(node, path, what=what, required=required)

    name, element = text("name", True), text("element", True)
    kind, version = text("type", True), text("version", True)
    if not (name and element and kind and version):  # unreachable: required=True raised
        raise InvalidFeed(f"{what}: incomplete <update>")
    return JoomlaUpdate(
        name=name,
        element=element,
        type=kind,
        version=version,
        client=text("client"),
        description=text("description"),
        infourl=text("infourl"),
        downloads=_downloads(node, what),
        tags=tuple((t.text or "").strip() for t in node.findall("tags/tag") if t.text),
        hashes=_hashes(node, what),
        targetplatform=_platform(node, what),
        php_minimum=text("php_minimum"),
        maintainer=text("maintainer"),
        section=text("section"),
    )


def parse_update_server(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[JoomlaUpdate]:
    """Every ``<update>`` of an extension-type update server (core 3.x/4.x or extensions)."""
    what = "Joomla update server"
    root = parse_xml(data, what=what, max_bytes=max_bytes)
    expect_root(root, "updates", what=what)
    return [_update(node, what) for node in root.findall("update")]


def updates_for(updates: list[JoomlaUpdate], joomla_version: str) -> list[JoomlaUpdate]:
    """The updates a site on ``joomla_version`` may install, as Joomla itself filters them."""
    return [u for u in updates if u.targetplatform.matches(joomla_version)]


@dataclass(frozen=True)
class CollectionEntry:
    """An ``<extension>`` of a collection: where the details of a version live."""

    name: str
    element: str
    type: str
    version: str
    targetplatformversion: str | None
    detailsurl: str
    pattern: re.Pattern[str] | None

    def applies_to(self, joomla_version: str) -> bool:
        """Whether this entry is meant for a site on ``joomla_version`` (prefix regex)."""
        return self.pattern is None or self.pattern.search(joomla_version) is not None


def parse_collection(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[CollectionEntry]:
    """A collection (``<extensionset>``) such as Joomla's ``legacy_core_list.xml``."""
    what = "Joomla update collection"
    root = parse_xml(data, what=what, max_bytes=max_bytes)
    expect_root(root, "extensionset", what=what)
    entries = []
    for node in root.findall("extension"):
        attrs = {k: node.get(k, "").strip() for k in ("name", "element", "type", "version")}
        url = node.get("detailsurl", "").strip()
        if not all(attrs.values()) or not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"{what}: <extension> lacks name/element/type/version/detailsurl")
        target = node.get("targetplatformversion")
        entries.append(
            CollectionEntry(
                **attrs,
                targetplatformversion=target,
                detailsurl=url,
                pattern=compile_platform_pattern(target, what=what) if target else None,
            )
        )
    return entries


@dataclass(frozen=True)
class UpdateServer:
    """An update server an extension declares in its manifest."""

    url: str
    type: str  # "extension" or "collection"
    name: str | None
    priority: int | None


@dataclass(frozen=True)
class ExtensionManifest:
    """The parts of an extension's install manifest that tell where its updates come from."""

    name: str | None
    type: str | None
    version: str | None
    update_servers: tuple[UpdateServer, ...]


def parse_manifest(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ExtensionManifest:
    """An extension manifest (``<extension>``): name, version and ``<updateservers>``."""
    what = "Joomla extension manifest"
    root = parse_xml(data, what=what, max_bytes=max_bytes)
    expect_root(root, "extension", what=what)
    servers = []
    for node in root.findall("updateservers/server"):
        url = (node.text or "").strip()
        if not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"{what}: update server URL {url[:80]!r} is not http(s)")
        priority = node.get("priority")
        if priority is not None and not priority.strip().isdigit():
            raise InvalidFeed(f"{what}: update server priority {priority!r} is not a number")
        servers.append(
            UpdateServer(
                url=url,
                type=node.get("type", "extension"),
                name=node.get("name"),
                priority=int(priority) if priority is not None else None,
            )
        )
    return ExtensionManifest(
        name=text_of(root, "name", what=what, required=False),
        type=root.get("type"),
        version=text_of(root, "version", what=what, required=False),
        update_servers=tuple(servers),
    )
