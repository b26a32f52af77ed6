"""A synthetic Joomla core release made from jm1's own files, for the core update tests.

No second real Joomla release can be had here (../shared/packages/README.md), so a test
publishes "5.3.3" as Joomla's update servers would: an Update_Package (no top folder, no
configuration.php, no installation/) holding jm1's core files with the version constant
and the files extension's manifest moved to 5.3.3 and one file changed, plus the parts a
real release uses to change the database and drop old files (com_admin's
``sql/updates/mysql/<version>.sql`` and ``script.php``), listed in a core update XML with
its sha256/sha384/sha512 and a collection pointing at it. It says so in its name.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.updates.cms_builds import Built, flat_zip

TARGET = "5.3.3"
DETAILS = "/joomla/core/extension_sts.xml"
COLLECTION = "/joomla/core/list_sts.xml"
# jm1's third-party extensions and its own state: never in a core package
NOT_CORE = (
    "configuration.php",
    "tmp/",
    "administrator/components/com_skshop/",
    "administrator/manifests/packages/",
    "administrator/modules/mod_skstats/",
    "modules/mod_skhello/",
    "plugins/",
    "templates/skdark/",
)
ADMIN = "administrator/components/com_admin"
DROPPED = "media/system/js/dropped-in-533.js"  # a file 5.3.2 had and 5.3.3 removes
FRONT_PAGE_FATAL = "sk_undefined_function_in_the_new_release();\n"


def update_package(
    docroot: Path, *, version: str = TARGET, sql: str = "", break_front_page: bool = False
) -> Built:
    """jm1's core files as the Update_Package of ``version`` (``sql``: its schema update;
    ``break_front_page``: its index.php fatals on every page load)."""
    members: dict[str, bytes] = {}
    for path in sorted(p for p in docroot.rglob("*") if p.is_file()):
        rel = path.relative_to(docroot).as_posix()
        if not rel.startswith(NOT_CORE) and rel != DROPPED:
            members[rel] = path.read_bytes()
    major, minor, patch = version.split(".")
    source = members["libraries/src/Version.php"].decode()
    for name, value in (("MAJOR", major), ("MINOR", minor), ("PATCH", patch)):
        source = re.sub(rf"({name}_VERSION = )\d+;", rf"\g<1>{value};", source)
    members["libraries/src/Version.php"] = source.encode()
    manifest = "administrator/manifests/files/joomla.xml"
    members[manifest] = re.sub(
        rb"<version>[^<]*</version>", f"<version>{version}</version>".encode(), members[manifest]
    )
    members["media/system/js/core.min.js"] += f"\n/* Joomla {version} */\n".encode()
    if break_front_page:
        members["index.php"] = members["index.php"].replace(
            b"<?php", b"<?php\n" + FRONT_PAGE_FATAL.encode(), 1
        )
    if sql:
        members[f"{ADMIN}/sql/updates/mysql/{version}.sql"] = sql.encode()
    members[f"{ADMIN}/script.php"] = (
        "<?php\n\\defined('_JEXEC') or die;\n\nclass JoomlaInstallerScript\n{\n"
        "    public function deleteUnexistingFiles(): void\n    {\n"
        f"        $old = \\dirname(__DIR__, 3) . '/{DROPPED}';\n"
        "        if (is_file($old)) {\n            unlink($old);\n        }\n    }\n}\n"
    ).encode()
    return Built(version, f"/joomla/core/Joomla_{version}-Stable-Update_Package.zip",
                 flat_zip(members))  # fmt: skip


def details_xml(base: str, release: Built, *, sha256: str | None = None) -> bytes:
    """The core update XML for ``release`` (``sha256``: a digest to list instead)."""
    return f"""<updates>
	<update>
		<name>Joomla! {release.version}</name>
		<description>Joomla! {release.version} Release (synthetic, from jm1's files)</description>
		<element>joomla</element>
		<type>file</type>
		<version>{release.version}</version>
		<infourl title="Joomla!">https://www.joomla.org/</infourl>
		<downloads>
			<downloadurl type="full" format="zip">{base}{release.path}</downloadurl>
		</downloads>
		<tags><tag>stable</tag></tags>
		<maintainer>Joomla! Production Department</maintainer>
		<section>STS</section>
		<targetplatform name="joomla" version="5.[0-3]" />
		<php_minimum>8.1.0</php_minimum>
		<sha256>{sha256 or release.digest("sha256")}</sha256>
		<sha384>{release.digest("sha384")}</sha384>
		<sha512>{release.digest("sha512")}</sha512>
	</update>
</updates>
""".encode()


def collection_xml(base: str, version: str = TARGET) -> bytes:
    return f"""<extensionset name="Joomla Core" description="Joomla! Core">
	<extension name="Joomla" element="joomla" type="file" version="{version}"
		targetplatformversion="5.[0-3]" detailsurl="{base}{DETAILS}" />
</extensionset>
""".encode()
