"""Joomla and Drupal fingerprints against loopback sites serving the vendors' public files,
plus hash knowledge learned from loopback stand-ins for update.joomla.org and
updates.drupal.org (feeds in the vendors' formats, archives built here), and
hostile sites (redirect loops, endless bodies, silence).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from sitekeeper.cms.drupal import signals as drupal
from sitekeeper.cms.drupal.hashes import learn_drupal
from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.cms.joomla.hashes import learn_joomla
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.hashes import HashKnowledge, HashSources, Learner
from sitekeeper.probes.fingerprint import FingerprintOptions, FingerprintProbe
from tests.probes.conftest import Site, serve

SITES = Path(__file__).parents[1] / "fixtures" / "sites"


def site_app(
    root: Path,
    *,
    headers: dict[str, str] | None = None,
    blocked: frozenset[str] = frozenset(),
    extra: dict[str, bytes] | None = None,
    seen: list[str] | None = None,
) -> web.Application:
    """Serve a fixture docroot the way a PHP site does: sources never, rendered pages as .html."""

    async def page(request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if seen is not None:
            seen.append(path)
        if path in blocked:
            return web.Response(status=403, text="Forbidden")
        if extra and path in extra:
            return web.Response(body=extra[path])
        if path == "":
            body = (root / "index.html").read_bytes()
            return web.Response(body=body, content_type="text/html", headers=headers or {})
        rendered = root / f"{path}.html"
        if path.endswith(".php") and rendered.is_file():
            return web.Response(body=rendered.read_bytes(), content_type="text/html")
        file = root / path
        if file.is_file() and file.suffix not in (".php", ".inc", ".in", ".info"):
            return web.Response(body=file.read_bytes())
        return web.Response(status=404, text="<html><body>Page not found</body></html>")

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    return app


async def _fingerprint(
    app: web.Application, hashes: HashKnowledge | None = None
) -> tuple[Fingerprint, int]:
    async with serve(app) as site, FingerprintProbe(hashes=hashes) as probe:
        result = await probe.fingerprint(site.url("/"))
        return result, probe.requests


# ---------------------------------------------------------------- Joomla


async def test_joomla5_version_from_the_public_manifest() -> None:
    result, requests = await _fingerprint(site_app(SITES / "joomla5"))
    assert (result.cms, result.version, result.error) == ("joomla", "5.1.2", None)
    assert requests == 2
    assert any("core manifest <version>5.1.2</version>" in e for e in result.evidence)
    assert any("Joomla 4+ asset paths" in e for e in result.evidence)


async def test_joomla3_falls_back_to_the_language_pack_when_the_manifest_is_blocked() -> None:
    seen: list[str] = []
    app = site_app(
        SITES / "joomla3",
        blocked=frozenset({"administrator/manifests/files/joomla.xml"}),
        seen=seen,
    )
    result, requests = await _fingerprint(app)
    assert (result.cms, result.version) == ("joomla", "3.10.12")
    # a Joomla 3 page: the 4+ language metadata is not asked for
    assert seen == ["", "administrator/manifests/files/joomla.xml", "language/en-GB/en-GB.xml"]
    assert requests == 3


async def test_joomla_without_public_version_is_a_range() -> None:
    blocked = frozenset(joomla.VERSION_PATHS)
    result, _ = await _fingerprint(site_app(SITES / "joomla5", blocked=blocked))
    assert (result.cms, result.version, result.candidates) == ("joomla", None, [">=4.0"])


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _joomla_release(version: str) -> dict[str, bytes]:
    return {
        "index.php": b"<?php\n",
        "media/system/js/core.min.js": f"/* Joomla {version} core */".encode(),
        "media/system/css/joomla-fontawesome.min.css": b"/* same in every release */",
    }


@pytest.fixture
async def joomla_vendor() -> AsyncIterator[tuple[Site, dict[str, bytes]]]:
    """update.joomla.org's layout: a collection, an extension-type server, the packages."""
    packages = {v: _zip(_joomla_release(v)) for v in ("4.4.5", "4.4.6")}
    routes: dict[str, bytes] = {}
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        body = routes.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app.router.add_get("/{path:.*}", handler)
    async with serve(app) as site:

        def package(v: str) -> str:
            return f"/releases/{v}/Joomla_{v}-Stable-Update_Package.zip"

        github = "https://github.com/joomla/joomla-cms/releases/download"
        updates = "".join(
            f"""<update>
		<name>Joomla! 4.4</name>
		<description>Joomla! 4.4 CMS</description>
		<element>joomla</element>
		<type>file</type>
		<version>{v}</version>
		<infourl title="Joomla!">https://www.joomla.org/announcements/release-news/</infourl>
		<downloads>
			<downloadurl type="full" format="zip">{site.url(package(v))}</downloadurl>
			<downloadsource type="full" format="zip">{github}{package(v)[9:]}</downloadsource>
		</downloads>
		<tags><tag>stable</tag></tags>
		<sha256>{hashlib.sha256(data).hexdigest()}</sha256>
		<sha384>{hashlib.sha384(data).hexdigest()}</sha384>
		<sha512>{hashlib.sha512(data).hexdigest()}</sha512>
		<maintainer>Joomla! Production Department</maintainer>
		<maintainerurl>https://www.joomla.org</maintainerurl>
		<section>STS</section>
		<targetplatform name="joomla" version="4.[01234]" />
		<php_minimum>7.2.5</php_minimum>
	</update>"""
            for v, data in packages.items()
        )
        routes["/core/sts/extension_sts.xml"] = f"<updates>\n\t{updates}\n</updates>\n".encode()
        routes["/core/sts/list_sts.xml"] = (
            '<extensionset name="Joomla Core" description="Joomla! Core">\n'
            '<extension name="Joomla" element="joomla" type="file" version="4.4.6" '
            'targetplatformversion="4.[01234]" '
            f'detailsurl="{site.url("/core/sts/extension_sts.xml")}"/>\n'
            "</extensionset>\n"
        ).encode()
        for v, data in packages.items():
            routes[package(v)] = data
        yield site, routes


async def test_hardened_joomla_is_pinned_by_hashes_learned_from_the_update_feed(
    joomla_vendor: tuple[Site, dict[str, bytes]], tmp_path: Path
) -> None:
    vendor, _ = joomla_vendor
    knowledge = HashKnowledge.in_home(tmp_path)
    sources = HashSources(vendor={"joomla_update_url": vendor.url("/core/sts/list_sts.xml")})
    async with Learner(knowledge, sources) as learner:
        assert sorted(await learn_joomla(learner, joomla.HASH_FILES)) == ["4.4.5", "4.4.6"]
    served = {p: d for p, d in _joomla_release("4.4.6").items() if p.startswith("media/")}
    app = site_app(SITES / "joomla5", blocked=frozenset(joomla.VERSION_PATHS), extra=served)
    result, requests = await _fingerprint(app, HashKnowledge.in_home(tmp_path))
    assert (result.cms, result.version) == ("joomla", "4.4.6")
    assert requests == 4  # home, manifest, language metadata, the one file that differs
    assert any("core.min.js: md5" in e for e in result.evidence)


async def test_a_package_that_does_not_match_the_feed_digest_is_rejected(
    joomla_vendor: tuple[Site, dict[str, bytes]], tmp_path: Path
) -> None:
    vendor, routes = joomla_vendor
    routes["/releases/4.4.6/Joomla_4.4.6-Stable-Update_Package.zip"] = _zip(
        _joomla_release("tampered")
    )
    sources = HashSources(vendor={"joomla_update_url": vendor.url("/core/sts/extension_sts.xml")})
    async with Learner(HashKnowledge(), sources) as learner:
        with pytest.raises(InvalidFeed, match="does not match the feed"):
            await learn_joomla(learner, joomla.HASH_FILES)


# ---------------------------------------------------------------- Drupal


async def test_drupal10_version_from_install_php_assets() -> None:
    headers = {"X-Generator": "Drupal 10 (https://www.drupal.org)", "X-Drupal-Cache": "HIT"}
    result, requests = await _fingerprint(site_app(SITES / "drupal10", headers=headers))
    assert (result.cms, result.version, result.error) == ("drupal", "10.2.3", None)
    assert requests == 2
    assert any("?v=10.2.3 on 3 core asset(s)" in e for e in result.evidence)  # not jQuery's 3.7.1


async def test_drupal7_version_from_changelog() -> None:
    result, requests = await _fingerprint(site_app(SITES / "drupal7"))
    assert (result.cms, result.version) == ("drupal", "7.98")
    assert requests == 2
    assert any("'Drupal 7.98, 2023-06-07'" in e for e in result.evidence)


async def test_drupal_that_hides_everything_but_its_major_version() -> None:
    headers = {"X-Generator": "Drupal 10 (https://www.drupal.org)"}
    blocked = frozenset({"core/install.php", "core/CHANGELOG.txt"})
    result, _ = await _fingerprint(site_app(SITES / "drupal10", headers=headers, blocked=blocked))
    assert (result.cms, result.version, result.candidates) == ("drupal", None, [">=10.0 <11.0"])


def _tarball(version: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"drupal-{version}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _drupal_release(version: str) -> dict[str, bytes]:
    return {
        "index.php": b"<?php\n",
        "core/misc/drupal.js": f"/** Drupal {version[:4]} drupal.js; behaviors */".encode(),
        "core/misc/ajax.js": f"/** Drupal {version} ajax.js */".encode(),
    }


def _history(site: Site, archives: dict[str, bytes]) -> bytes:
    """updates.drupal.org's format: ``mdhash``/``filesize`` of the download link and a
    ``<files>`` list with each archive's ``md5`` and ``size``."""
    releases = "".join(
        f"""
    <release>
      <name>drupal {v}</name>
      <version>{v}</version>
      <tag>{v}</tag>
      <status>published</status>
      <release_link>https://www.drupal.org/project/drupal/releases/{v}</release_link>
      <download_link>{site.url(f"/files/projects/drupal-{v}.tar.gz")}</download_link>
      <date>1706745600</date>
      <mdhash>{hashlib.md5(data).hexdigest()}</mdhash>
      <filesize>{len(data)}</filesize>
      <files>
        <file>
          <url>{site.url(f"/files/projects/drupal-{v}.tar.gz")}</url>
          <archive_type>tar.gz</archive_type>
          <md5>{hashlib.md5(data).hexdigest()}</md5>
          <size>{len(data)}</size>
          <filedate>1706745600</filedate>
        </file>
      </files>
      <terms><term><name>Release type</name><value>Bug fixes</value></term></terms>
      <security covered="1">Covered by Drupal's security advisory policy</security>
    </release>"""
        for v, data in archives.items()
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<project xmlns:dc="http://purl.org/dc/elements/1.1/">
  <title>Drupal core</title>
  <short_name>drupal</short_name>
  <dc:creator>Drupal</dc:creator>
  <supported_branches>10.2.,10.3.</supported_branches>
  <project_status>published</project_status>
  <link>https://www.drupal.org/project/drupal</link>
  <terms><term><name>Projects</name><value>Drupal project</value></term></terms>
  <releases>{releases}
  </releases>
</project>
""".encode()


NO_HISTORY = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b"<error>No release history was found for the requested project (drupal).</error>\n"
)


async def test_hardened_drupal_is_narrowed_by_hashes_from_release_archives(
    tmp_path: Path,
) -> None:
    versions = ["10.2.2", "10.2.3", "9.5.11"]
    routes: dict[str, bytes] = {}
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        body = routes.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app.router.add_get("/{path:.*}", handler)
    async with serve(app) as vendor:
        archives = {v: _tarball(v, _drupal_release(v)) for v in versions}
        routes["/release-history/drupal/current"] = _history(vendor, archives)
        routes["/release-history/drupal/7.x"] = NO_HISTORY
        for v, data in archives.items():
            routes[f"/files/projects/drupal-{v}.tar.gz"] = data
        knowledge = HashKnowledge.in_home(tmp_path)
        sources = HashSources(vendor={"drupal_updates_url": vendor.url("/release-history")})
        async with Learner(knowledge, sources) as learner:
            learned = await learn_drupal(learner, drupal.hash_files([]))
    assert sorted(learned) == sorted(versions)

    headers = {"X-Generator": "Drupal 10 (https://www.drupal.org)"}
    blocked = frozenset({"core/install.php", "core/CHANGELOG.txt"})
    release = _drupal_release("10.2.3")
    only_drupal_js = {"core/misc/drupal.js": release["core/misc/drupal.js"]}
    # drupal.js is the same in 10.2.2 and 10.2.3, so only ajax.js is worth asking for;
    # a site that does not serve it stays at its range
    result, requests = await _fingerprint(
        site_app(SITES / "drupal10", headers=headers, blocked=blocked, extra=only_drupal_js),
        knowledge,
    )
    assert (result.version, result.candidates) == (None, [">=10.0 <11.0"])
    assert "core/misc/ajax.js: not served" in result.evidence
    assert "no other public file differs between 10.2.2, 10.2.3" in result.evidence
    assert requests == 4  # home, install.php, CHANGELOG, ajax.js
    # with ajax.js served, one release is left
    result, requests = await _fingerprint(
        site_app(SITES / "drupal10", headers=headers, blocked=blocked, extra=release), knowledge
    )
    assert (result.cms, result.version) == ("drupal", "10.2.3")
    assert requests == 4  # home, install.php, CHANGELOG, the one file that tells them apart


@pytest.mark.parametrize(
    ("served", "error"),
    [
        ("tampered", "md5 does not match the feed"),  # same length, other bytes
        ("longer", "larger than"),  # more bytes than the history's size
        ("shorter", "the vendor says"),
    ],
)
async def test_a_drupal_archive_that_does_not_match_the_release_history_is_rejected(
    tmp_path: Path, served: str, error: str
) -> None:
    genuine = _tarball("10.2.3", _drupal_release("10.2.3"))
    wrong = {
        "tampered": genuine[:-1] + bytes([genuine[-1] ^ 0xFF]),
        "longer": genuine + b"\0" * 10,
        "shorter": genuine[:-10],
    }[served]
    routes: dict[str, bytes] = {}
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        body = routes.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app.router.add_get("/{path:.*}", handler)
    async with serve(app) as vendor:
        routes["/release-history/drupal/current"] = _history(vendor, {"10.2.3": genuine})
        routes["/release-history/drupal/7.x"] = NO_HISTORY
        routes["/files/projects/drupal-10.2.3.tar.gz"] = wrong
        sources = HashSources(vendor={"drupal_updates_url": vendor.url("/release-history")})
        with pytest.raises(InvalidFeed, match=error):
            async with Learner(HashKnowledge.in_home(tmp_path), sources) as learner:
                await learn_drupal(learner, drupal.hash_files([]))
    assert not HashKnowledge.in_home(tmp_path).knows("drupal", "10.2.3")


async def test_a_drupal_archive_the_history_gives_no_digest_for_is_not_learned(
    tmp_path: Path,
) -> None:
    data = _tarball("10.2.3", _drupal_release("10.2.3"))
    routes: dict[str, bytes] = {}
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        body = routes.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app.router.add_get("/{path:.*}", handler)
    async with serve(app) as vendor:
        history = _history(vendor, {"10.2.3": data}).decode()
        history = re.sub(r"\s*<(mdhash|filesize|files)>.*?</\1>", "", history, flags=re.S)
        routes["/release-history/drupal/current"] = history.encode()
        routes["/release-history/drupal/7.x"] = NO_HISTORY
        routes["/files/projects/drupal-10.2.3.tar.gz"] = data
        sources = HashSources(vendor={"drupal_updates_url": vendor.url("/release-history")})
        with pytest.raises(InvalidFeed, match="publishes no MD5"):
            async with Learner(HashKnowledge.in_home(tmp_path), sources) as learner:
                await learn_drupal(learner, drupal.hash_files([]))
    assert HashKnowledge.in_home(tmp_path).versions("drupal") == []


# ---------------------------------------------------------------- no CMS, hostile sites


async def test_plain_site_has_no_cms_after_a_few_requests() -> None:
    async def home(_request: web.Request) -> web.Response:
        return web.Response(text="<html><h1>Hi</h1></html>")

    app = web.Application()
    app.router.add_get("/", home)
    async with serve(app) as site, FingerprintProbe() as probe:
        result = await probe.fingerprint(site.url("/"))
        assert probe.requests == 4  # home + one detect path per CMS
    assert (result.cms, result.version, result.error) == (None, None, None)


def _hostile(
    kind: str, release: asyncio.Event
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        if kind == "loop":
            raise web.HTTPFound(f"/loop{len(request.path)}")
        if kind == "silent":
            await release.wait()  # set by the test once the probe gave up
            return web.Response(text="too late")
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"<html>" + b"x" * 65536
        while True:  # endless body: the cap must stop reading
            await response.write(chunk)

    return handler


@pytest.mark.parametrize(
    ("kind", "error"),
    [("loop", "too_many_redirects"), ("silent", "timeout"), ("endless", None)],
)
async def test_hostile_sites_stay_bounded(kind: str, error: str | None) -> None:
    release = asyncio.Event()
    app = web.Application()
    app.router.add_get("/{path:.*}", _hostile(kind, release))
    async with serve(app) as site, FingerprintProbe(max_body_bytes=100_000) as probe:
        result = await probe.fingerprint(site.url("/"), FingerprintOptions(timeout=1.0))
        release.set()
        assert probe.requests <= 10
    assert result.cms is None
    if error is None:
        assert result.error is None
    else:
        assert result.error is not None
        assert result.error.startswith(error)
