"""Extension releases the Joomla and Drupal update tests build, and the vendor documents
that list them, in the shapes the real services use (see ../shared/formats/joomla and
../shared/formats/drupal): a Joomla system plugin's flat zip (its install manifest at the
root, ``method="upgrade"``, an update server) with an extension update XML giving
sha256/sha512; a Drupal module's zip and tar.gz (top folder = machine name, drupal.org's
packaging lines in its ``.info.yml``) with a release history giving each archive's MD5.

A release's ``body`` is PHP run on every page load (Joomla: the plugin's
``onAfterInitialise``; Drupal: the module's ``hook_page_attachments``).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape

JOOMLA_PLUGIN = "skupdater"  # plugins/system/skupdater, slug plg_system_skupdater
JOOMLA_SLUG = f"plg_system_{JOOMLA_PLUGIN}"
DRUPAL_MODULE = "skmod"  # modules/contrib/skmod
QUIET = "return;"
# Fatals only on the front page (the health check's home page; the login page still works).
FRONT_PAGE_FATAL = (
    "if (parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) === '/') {\n"
    "    sk_undefined_function_on_the_front_page();\n}\n"
)
DATESTAMP = 1764547200  # 2026-12-01


@dataclass(frozen=True)
class Built:
    """One release's archive as served, and its digests."""

    version: str
    path: str  # where the vendor serves it
    data: bytes

    def digest(self, name: str) -> str:
        return hashlib.new(name, self.data).hexdigest()


def flat_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def joomla_manifest(version: str, server: str, *, element: str = JOOMLA_PLUGIN) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<extension type="plugin" group="system" method="upgrade">
	<name>plg_system_{element}</name>
	<author>Sitekeeper Tests</author>
	<creationDate>2026-12</creationDate>
	<copyright>(C) 2026 Sitekeeper Tests</copyright>
	<version>{version}</version>
	<description>PLG_SYSTEM_{element.upper()}_XML_DESCRIPTION</description>
	<files>
		<filename plugin="{element}">{element}.php</filename>
	</files>
	<updateservers>
		<server type="extension" priority="1" name="Sitekeeper tests">{escape(server)}</server>
	</updateservers>
</extension>
""".encode()


def joomla_plugin(
    version: str, server: str, body: str = QUIET, *, element: str = JOOMLA_PLUGIN
) -> Built:
    """The plugin's zip as an extension developer publishes it (no top folder)."""
    code = (
        "<?php\n\\defined('_JEXEC') or die;\n\n"
        f"class PlgSystem{element.capitalize()}\n{{\n"
        f"    public function onAfterInitialise(): void\n    {{\n        {body}\n    }}\n}}\n"
    )
    data = flat_zip(
        {f"{element}.xml": joomla_manifest(version, server, element=element),
         f"{element}.php": code.encode()}
    )  # fmt: skip
    return Built(version, f"/joomla/plg_system_{element}-{version}.zip", data)


JOOMLA_4_4_AND_5 = r"((4\.4)|(5\.(0|1|2|3|4|5|6|7|8|9)))"  # a real extension's pattern


def joomla_update_xml(
    base: str,
    releases: list[Built],
    *,
    sha256: dict[str, str] | None = None,
    targetplatform: str = JOOMLA_4_4_AND_5,
) -> bytes:
    """The extension update server's XML (``sha256``: a digest to list instead of the
    real one, per version; ``targetplatform``: the Joomla versions the releases are for)."""
    wrong = sha256 or {}
    updates = "".join(
        f"""	<update>
		<name>plg_system_{JOOMLA_PLUGIN}</name>
		<description>Sitekeeper test plugin</description>
		<element>{JOOMLA_PLUGIN}</element>
		<type>plugin</type>
		<folder>system</folder>
		<client>site</client>
		<version>{r.version}</version>
		<downloads>
			<downloadurl type="full" format="zip">{base}{r.path}</downloadurl>
		</downloads>
		<tags><tag>stable</tag></tags>
		<sha256>{wrong.get(r.version, r.digest("sha256"))}</sha256>
		<sha512>{r.digest("sha512")}</sha512>
		<targetplatform name="joomla" version="{targetplatform}" />
		<php_minimum>8.1</php_minimum>
	</update>
"""
        for r in releases
    )
    return f"<updates>\n{updates}</updates>\n".encode()


def drupal_files(version: str, body: str, top: str, update_n: int | None) -> dict[str, bytes]:
    info = (
        "name: 'SK module'\ntype: module\ndescription: 'A module the update tests move.'\n"
        "core_version_requirement: ^10\npackage: Testing\n\n"
        f"# Information added by Drupal.org packaging script on 2026-12-01\n"
        f"version: '{version}'\nproject: '{DRUPAL_MODULE}'\ndatestamp: {DATESTAMP}\n"
    )
    module = (
        "<?php\n\n/**\n * @file\n * SK module.\n */\n\n"
        f"function {DRUPAL_MODULE}_page_attachments(array &$attachments) {{\n  {body}\n}}\n"
    )
    files = {
        f"{top}/{DRUPAL_MODULE}.info.yml": info.encode(),
        f"{top}/{DRUPAL_MODULE}.module": module.encode(),
    }
    if update_n is not None:
        install = (
            "<?php\n\n/**\n * @file\n * Install and update hooks of SK module.\n */\n\n"
            f"/**\n * Adds nothing: proves updatedb ran.\n */\n"
            f"function {DRUPAL_MODULE}_update_{update_n}(&$sandbox) {{\n"
            "  return 'SK module schema updated.';\n}\n"
        )
        files[f"{top}/{DRUPAL_MODULE}.install"] = install.encode()
    return files


def drupal_module(
    version: str, body: str = QUIET, *, update_n: int | None = None, top: str = DRUPAL_MODULE
) -> tuple[Built, Built]:
    """The module's zip and tar.gz as drupal.org's packaging publishes them."""
    files = drupal_files(version, body, top, update_n)
    tar_out = io.BytesIO()
    with tarfile.open(fileobj=tar_out, mode="w:gz") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(data), 0o644, DATESTAMP
            tar.addfile(entry, io.BytesIO(data))
    base = f"/files/projects/{DRUPAL_MODULE}-{version}"
    return Built(version, f"{base}.zip", flat_zip(files)), Built(
        version, f"{base}.tar.gz", tar_out.getvalue()
    )


def drupal_history(
    base: str, releases: list[tuple[Built, Built]], *, md5: dict[str, str] | None = None
) -> bytes:
    """``/release-history/skmod/current`` (``md5``: a digest to list instead of the real
    zip's, per version)."""
    wrong = md5 or {}
    items = []
    for zipped, tarred in releases:
        v = zipped.version
        files = "".join(
            f"<file><url>{base}{b.path}</url><archive_type>{kind}</archive_type>"
            f"<md5>{digest}</md5><size>{len(b.data)}</size><filedate>{DATESTAMP}</filedate></file>"
            for b, kind, digest in (
                (tarred, "tar.gz", tarred.digest("md5")),
                (zipped, "zip", wrong.get(v, zipped.digest("md5"))),
            )
        )
        items.append(
            f"<release><name>{DRUPAL_MODULE} {v}</name><version>{v}</version><tag>{v}</tag>"
            f"<status>published</status>"
            f"<release_link>https://www.drupal.org/project/{DRUPAL_MODULE}/releases/{v}</release_link>"
            f"<download_link>{base}{tarred.path}</download_link><date>{DATESTAMP}</date>"
            f"<mdhash>{tarred.digest('md5')}</mdhash><filesize>{len(tarred.data)}</filesize>"
            f"<files>{files}</files>"
            "<terms><term><name>Release type</name><value>Bug fixes</value></term></terms>"
            '<security covered="1">Covered by Drupal\'s security advisory policy</security>'
            "</release>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<project xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<title>SK module</title><short_name>{DRUPAL_MODULE}</short_name>"
        "<dc:creator>sitekeeper</dc:creator><type>project_module</type>"
        "<supported_branches>1.,2.</supported_branches><project_status>published</project_status>"
        f"<link>https://www.drupal.org/project/{DRUPAL_MODULE}</link>"
        "<terms><term><name>Projects</name><value>Modules</value></term></terms>"
        f"<releases>{''.join(reversed(items))}</releases></project>\n"
    ).encode()
