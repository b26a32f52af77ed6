"""A synthetic Drupal core build made from dr1's own tree, for the core update tests.

No second Drupal release and no Composer or packagist can be had here, so a test
publishes "10.1.7" as an operator's build host would (``drupal_core_build_url``): a zip of
``core/``, ``vendor/`` and ``composer.lock`` -- dr1's core with the version constant moved
to 10.1.7 and one file changed, the fixture's drush stand-in as the build's
``vendor/bin/drush`` (it reads core modules' update hooks from ``core/modules``, as
Drupal does), a ``composer.lock`` locking drupal/core 10.1.7, and the release's database
update (``core/modules/system/system.install``'s ``system_update_10107``) -- with its
sha256 beside it, plus drupal.org's core release history listing 10.1.7. It says so in
its name.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from tests.updates.cms_builds import DATESTAMP, Built

TARGET = "10.1.7"
UPDATE_N = 10107  # dr1's system schema is 10101
BUILD_URL = "/builds/drupal-core-{version}.zip"
STANDIN_DRUSH = Path(__file__).parents[1] / "fixtures/sites/realcms/drupal/vendor/bin/drush"
HARMLESS = "return 'System schema moved to 10.1.7.';"
# a release whose database update breaks the front page (a column its query reads is gone)
BREAKS_FRONT_PAGE = "global $db;\n  $db->query('ALTER TABLE node_field_data DROP COLUMN promote');"
# what the release history answers for a branch it has no history of (core's 7.x here)
NO_HISTORY = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<error>No release history available.</error>\n'
)
# drush's shape when an update hook throws: "[error] ...", "Update failed: ...", exit 1
FAILS = "throw new \\RuntimeException('SQLSTATE[42S22]: Column not found: 1054 Unknown column');"


def core_build(docroot: Path, *, version: str = TARGET, update: str = HARMLESS) -> Built:
    """dr1's core/ and vendor/ as the build of ``version`` (``update``: the body of its
    ``system_update_10107``)."""
    members: dict[str, tuple[bytes, int]] = {}
    for top in ("core", "vendor"):
        for path in sorted(p for p in (docroot / top).rglob("*") if p.is_file()):
            members[path.relative_to(docroot).as_posix()] = (path.read_bytes(), 0o644)
    members["vendor/bin/drush"] = (STANDIN_DRUSH.read_bytes(), 0o755)
    drupal_php = members["core/lib/Drupal.php"][0].decode()
    drupal_php = re.sub(r"const VERSION = '[^']*';", f"const VERSION = '{version}';", drupal_php)
    members["core/lib/Drupal.php"] = (drupal_php.encode(), 0o644)
    js, _ = members["core/misc/drupal.js"]
    members["core/misc/drupal.js"] = (js + f"\n/* Drupal {version} */\n".encode(), 0o644)
    hooks = (
        "<?php\n\n/**\n * @file\n * Install and update hooks of the system module.\n */\n\n"
        f"/**\n * The {version} release's update.\n */\n"
        f"function system_update_{UPDATE_N}(&$sandbox) {{\n  {update}\n}}\n"
    )
    members["core/modules/system/system.install"] = (hooks.encode(), 0o644)
    info_yml = f"name: System\ntype: module\npackage: Core\nversion: VERSION\n# {version}\n"
    members["core/modules/system/system.info.yml"] = (info_yml.encode(), 0o644)
    members["composer.lock"] = (lock(version), 0o644)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return Built(version, BUILD_URL.replace("{version}", version), out.getvalue())


def lock(version: str, core: str | None = None) -> bytes:
    """A composer.lock locking drupal/core ``core`` (default: ``version``)."""
    packages = [
        {"name": "drupal/core", "version": core or version, "type": "drupal-core"},
        {"name": "drush/drush", "version": "12.4.3", "type": "library"},
    ]
    return json.dumps({"content-hash": "0" * 32, "packages": packages}, indent=4).encode()


def history(base: str, versions: tuple[str, ...] = ("10.1.6", TARGET)) -> bytes:
    """``/release-history/drupal/current`` listing ``versions`` (newest first), as
    drupal.org publishes core's."""
    items = "".join(
        f"<release><name>drupal {v}</name><version>{v}</version><tag>{v}</tag>"
        f"<status>published</status>"
        f"<release_link>https://www.drupal.org/project/drupal/releases/{v}</release_link>"
        f"<download_link>{base}/files/projects/drupal-{v}.tar.gz</download_link>"
        f"<date>{DATESTAMP}</date><mdhash>{'0' * 32}</mdhash><filesize>1</filesize>"
        "<terms><term><name>Release type</name><value>Bug fixes</value></term></terms>"
        '<security covered="1">Covered by Drupal\'s security advisory policy</security>'
        "</release>"
        for v in sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<project xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<title>Drupal core</title><short_name>drupal</short_name>"
        "<dc:creator>Drupal</dc:creator><type>project_core</type>"
        "<supported_branches>10.1.,10.2.</supported_branches>"
        "<project_status>published</project_status>"
        "<link>https://www.drupal.org/project/drupal</link>"
        f"<releases>{items}</releases></project>\n"
    ).encode()
