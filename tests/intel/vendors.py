"""Loopback stand-ins for updates.drupal.org and update.joomla.org with release archives
shaped like the real ones (a ``drupal-X/`` top folder with pax headers for long paths and
Composer's vendor tree; a flat Joomla update zip), built here from a release table."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
import zipfile
from collections.abc import Iterable

from tests.intel.feedserver import FeedServer

DRUPAL_95 = ["9.5.5", "9.5.6", "9.5.7", "9.5.8", "9.5.9", "9.5.10", "9.5.11"]
LONG = "core/assets/vendor/ckeditor5/ckeditor5-build-classic/translations/" + "x" * 60 + ".js"


def _variant(version: str, changes: Iterable[str]) -> int:
    """How many of the releases in ``changes`` ``version`` has reached (0, 1, 2 …)."""
    key = [int(p) for p in version.split(".")]
    return sum(1 for c in changes if key >= [int(p) for p in c.split(".")])


def drupal_files(version: str) -> dict[str, bytes]:
    """One Drupal 9.5/10 release: the three JavaScript files that never change in 9.5.x,
    and public files that change at a few releases each (as core's do)."""
    changing = {
        "core/modules/system/css/components/hidden.module.css": ("9.5.6", "9.5.8"),
        "core/modules/ckeditor5/js/ckeditor5.js": ("9.5.7", "9.5.11"),
        "core/misc/dialog/off-canvas.js": ("9.5.9",),
        "core/themes/claro/css/base/elements.css": ("9.5.10",),
    }
    files = {
        "index.php": b"<?php\n// front controller\n",
        "core/lib/Drupal.php": f"<?php class Drupal {{ const VERSION = '{version}'; }}".encode(),
        "core/CHANGELOG.txt": f"Drupal {version}, 2023-01-01\n".encode(),
        "core/misc/drupal.js": f"/* Drupal {version[:1]} drupal.js; behaviors */".encode(),
        "core/misc/ajax.js": b"/* ajax.js, the same through 9.5 */",
        "core/misc/states.js": b"/* states.js, the same through 9.5 */",
        "vendor/symfony/polyfill/bootstrap.js": f"/* not public {version} */".encode(),
        LONG: b"/* a translation */",
    }
    for path, changes in changing.items():
        files[path] = f"/* {path} variant {_variant(version, changes)} */".encode()
    return files


def tarball(version: str, files: dict[str, bytes], *, filler: int = 0) -> bytes:
    """``drupal-<version>.tar.gz`` as drupal.org packs it (pax, one top folder); ``filler``
    bytes of incompressible data in a big public file make it realistically large."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        extra = {"core/assets/vendor/big.bundle.js": random.Random(1).randbytes(filler)}
        for name, data in {**files, **(extra if filler else {})}.items():
            info = tarfile.TarInfo(f"drupal-{version}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def serve_drupal(server: FeedServer, archives: dict[str, bytes]) -> str:
    """The release history of ``current`` (7.x answers 404, as an old branch may); returns
    the ``drupal_updates_url`` to configure."""
    releases = "".join(
        f"""
    <release>
      <name>drupal {v}</name><version>{v}</version><tag>{v}</tag><status>published</status>
      <download_link>{server.url(f"/files/drupal-{v}.tar.gz")}</download_link>
      <date>1706745600</date>
      <mdhash>{hashlib.md5(data).hexdigest()}</mdhash><filesize>{len(data)}</filesize>
      <terms><term><name>Release type</name><value>Security update</value></term></terms>
    </release>"""
        for v, data in archives.items()
    )
    server.bodies["/release-history/drupal/current"] = f"""<?xml version="1.0" encoding="utf-8"?>
<project xmlns:dc="http://purl.org/dc/elements/1.1/">
  <title>Drupal core</title><short_name>drupal</short_name>
  <supported_branches>10.1.,9.5.</supported_branches><project_status>published</project_status>
  <releases>{releases}
  </releases>
</project>
""".encode()
    for version, data in archives.items():
        server.bodies[f"/files/drupal-{version}.tar.gz"] = data
    return server.url("/release-history")


def joomla_files(version: str) -> dict[str, bytes]:
    """A Joomla 4.4 update package: core.min.js changes every release, a CSS file once."""
    css = "4.4.5" if version >= "4.4.5" else "4.4.0"
    return {
        "index.php": b"<?php\n",
        "administrator/manifests/files/joomla.xml": f"<version>{version}</version>".encode(),
        "media/system/js/core.min.js": f"/* Joomla {version} core */".encode(),
        "media/system/css/joomla-fontawesome.min.css": f"/* fa {css} */".encode(),
        "libraries/vendor/composer/installed.json": b"{}",
    }


def joomla_zip(files: dict[str, bytes], *, filler: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if filler:
            archive.writestr("media/vendor/big.min.js", random.Random(2).randbytes(filler))
    return buffer.getvalue()


def serve_joomla(server: FeedServer, packages: dict[str, bytes]) -> str:
    """update.joomla.org's legacy core list for these packages; returns its URL."""
    link = '<downloadurl type="full" format="zip">{}</downloadurl>'
    updates = "".join(
        f"""<update><name>Joomla! 4.4</name><element>joomla</element><type>file</type>
    <version>{v}</version>
    <downloads>{link.format(server.url(f"/releases/{v}.zip"))}</downloads>
    <sha512>{hashlib.sha512(data).hexdigest()}</sha512>
    <targetplatform name="joomla" version="4.[01234]" /></update>"""
        for v, data in packages.items()
    )
    server.bodies["/core/list.xml"] = f"<updates>{updates}</updates>".encode()
    for version, data in packages.items():
        server.bodies[f"/releases/{version}.zip"] = data
    return server.url("/core/list.xml")
