"""Joomla and Drupal core against their release archives: a release archive built from a
fixture tree is served on loopback with the vendor's digest (Joomla's update XML with
SHA-512, Drupal's release history with MD5), a copy of the tree is walked by the real walk
program (php-cli) and compared through the CMS seam, as ``sitekeeper scan`` does."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitekeeper.cms.integrity_lists import Lists, rules_for, vendor_lists
from sitekeeper.domain.inventory import Inventory
from sitekeeper.domain.severity import Severity
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.intel.hashes import HashSources
from sitekeeper.intel.release_trees import ReleaseTrees
from sitekeeper.scan.compare import Comparison, compare
from sitekeeper.scan.manifest import FileRecord, parse_walk
from sitekeeper.scan.remote_walk import program
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.vendors import (
    drupal_files,
    joomla_files,
    joomla_zip,
    serve_drupal,
    serve_joomla,
    tarball,
)
from tests.services import REQUIRE

MARK = "sk-archive-test"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def joomla_release(version: str) -> dict[str, bytes]:
    """The fixture package plus PHP in core's trees and the installer a site deletes."""
    return {
        **joomla_files(version),
        "libraries/src/Factory.php": b"<?php\nnamespace Joomla\\CMS; class Factory {}\n",
        "includes/defines.php": b"<?php\ndefine('JPATH_BASE', __DIR__);\n",
        "installation/index.php": b"<?php\n// the installer\n",
    }


def drupal_release(version: str) -> dict[str, bytes]:
    """The fixture tarball's files plus what a site changes (sites/, modules/ README)."""
    return {
        **drupal_files(version),
        "core/lib/Drupal/Core/DrupalKernel.php": b"<?php\nclass DrupalKernel {}\n",
        "modules/README.txt": b"Contributed modules go here\n",
        "sites/default/default.settings.php": b"<?php\n$settings = [];\n",
    }


def _install(root: Path, files: dict[str, bytes], *, skip: tuple[str, ...] = ()) -> None:
    """The site as installed from the archive (its docroot), plus its own settings file."""
    for name, data in files.items():
        if not name.startswith(skip):
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _walk(root: Path) -> dict[bytes, FileRecord]:
    if shutil.which("php") is None:
        if REQUIRE:
            pytest.fail("php-cli is not installed (SITEKEEPER_REQUIRE_SERVICES=1)")
        pytest.skip("php-cli is not installed")
    done = subprocess.run(
        ["php", "-n", "-r", program(), "--", "walk", str(root), MARK, "100000",
         str(8 * 1024 * 1024), "60", "1"],
        capture_output=True, check=True,
    )  # fmt: skip
    walk = parse_walk(done.stdout, MARK, {})
    assert walk.ended and walk.complete, walk.problems
    return dict(walk.files)


async def _lists(kind: str, version: str, vendor: dict[str, str], trees: ReleaseTrees) -> Lists:
    rules = rules_for(kind)
    assert rules is not None
    inventory = Inventory(cms=kind, version=version, collected_at=NOW)
    async with Fetcher(FeedSettings(vendor=vendor)) as fetcher:
        return await vendor_lists(inventory, rules, vendor, fetcher, trees)


async def _scan(
    kind: str, version: str, root: Path, vendor: dict[str, str], trees: ReleaseTrees
) -> tuple[Lists, Comparison]:
    found = await _lists(kind, version, vendor, trees)
    rules = rules_for(kind)
    assert rules is not None
    return found, compare(_walk(root), found.lists, rules)


def _above_info(result: Comparison) -> list[tuple[str, str]]:
    return [(i.check, i.path.decode()) for i in result.issues if i.severity != Severity.INFO]


Serve = Callable[[FeedServer, dict[str, bytes]], dict[str, str]]


def _serve_joomla(server: FeedServer, archives: dict[str, bytes]) -> dict[str, str]:
    return {"joomla_update_url": serve_joomla(server, archives)}


def _serve_drupal(server: FeedServer, archives: dict[str, bytes]) -> dict[str, str]:
    return {"drupal_updates_url": serve_drupal(server, archives)}


@dataclass(frozen=True)
class Case:
    """One CMS's release, how its vendor serves it, and what the test changes on the site."""

    version: str
    release: Callable[[str], dict[str, bytes]]
    pack: Callable[[dict[str, bytes]], bytes]
    serve: Serve
    archive: str  # where the server hands it out
    added: str  # a PHP file the test puts in core's folders
    modified: str  # a core file the test injects code into
    skip: tuple[str, ...]  # what an installed site no longer has
    own: str  # the site's own settings file


def _drupal_tarball(files: dict[str, bytes]) -> bytes:
    return tarball("9.5.9", files)


CASES = {
    "joomla": Case(
        "4.4.5", joomla_release, joomla_zip, _serve_joomla, "/releases/4.4.5.zip",
        "libraries/src/Shell.php", "libraries/src/Factory.php", ("installation/",),
        "configuration.php",
    ),
    "drupal": Case(
        "9.5.9", drupal_release, _drupal_tarball, _serve_drupal, "/files/drupal-9.5.9.tar.gz",
        "core/lib/Drupal/Shell.php", "core/lib/Drupal/Core/DrupalKernel.php", (),
        "sites/default/settings.php",
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_core_is_compared_with_the_release_archive(kind: str, tmp_path: Path) -> None:
    case = CASES[kind]
    version, release, pack, serve, archive = (
        case.version, case.release, case.pack, case.serve, case.archive
    )  # fmt: skip
    added, modified, skip, own = case.added, case.modified, case.skip, case.own
    files = release(version)
    root = tmp_path / "site"
    _install(root, files, skip=skip)
    (root / own).write_bytes(b"<?php\n$db = 'secret';\n")  # the site's own: ignored
    async with feed_server() as server:
        vendor = serve(server, {version: pack(files)})
        sources = HashSources(vendor=vendor)
        async with ReleaseTrees(tmp_path / "trees", sources) as trees:
            found, clean = await _scan(kind, version, root, vendor, trees)
        assert [v.what for v in found.lists] == [f"core {version} (release archive)"]
        assert _above_info(clean) == []
        assert len(clean.verified) >= len(files) - 4  # the release's files, vouched for

        (root / modified).write_bytes((root / modified).read_bytes() + b"eval($_POST[1]);\n")
        (root / added).write_bytes(b"<?php system($_GET['c']);\n")
        async with ReleaseTrees(tmp_path / "trees", sources) as trees:  # a later run
            _, hacked = await _scan(kind, version, root, vendor, trees)
        assert sorted(_above_info(hacked)) == sorted(
            [("core-modified", modified), ("core-added", added)]
        )
        assert {i.severity for i in hacked.issues} == {Severity.HIGH}

    # downloaded once, then read from the cache on disk
    assert len(server.hits(archive)) == 1
    assert trees.cached() == [(kind, version)]


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_an_archive_that_does_not_match_its_digest_gives_no_list(
    kind: str, tmp_path: Path
) -> None:
    case = CASES[kind]
    version, release, pack, serve, archive = (
        case.version, case.release, case.pack, case.serve, case.archive
    )  # fmt: skip
    files = release(version)
    async with feed_server() as server:
        vendor = serve(server, {version: pack(files)})
        # a mirror (or someone in between) hands out other bytes than the vendor vouched for
        tampered = {**files, next(iter(files)): b"<?php system($_GET['c']);\n"}
        server.bodies[archive] = pack(tampered)
        async with ReleaseTrees(tmp_path / "trees", HashSources(vendor=vendor)) as trees:
            found = await _lists(kind, version, vendor, trees)

    assert found.lists == []  # no core list: core-* are not judged, so not "clean"
    assert any("no release archive to compare with" in n for n in found.notes), found.notes
    assert trees.cached() == []


async def test_a_version_the_vendor_does_not_list_is_said(tmp_path: Path) -> None:
    async with feed_server() as server:
        vendor = _serve_drupal(server, {"9.5.9": tarball("9.5.9", drupal_release("9.5.9"))})
        async with ReleaseTrees(None, HashSources(vendor=vendor)) as trees:
            found = await _lists("drupal", "9.5.10", vendor, trees)
            odd = await _lists("drupal", "../../etc/passwd", vendor, trees)
    assert found.lists == [] and odd.lists == []
    assert any("lists no release archive" in n for n in found.notes), found.notes


async def test_the_cache_keeps_only_the_newest_releases(tmp_path: Path) -> None:
    versions = ["9.5.8", "9.5.9", "9.5.10"]
    archives = {v: tarball(v, drupal_release(v)) for v in versions}
    async with feed_server() as server:
        vendor = _serve_drupal(server, archives)
        sources = HashSources(vendor=vendor)
        for version in versions:
            async with ReleaseTrees(tmp_path / "trees", sources, max_releases=2) as trees:
                assert await trees.tree("drupal", version) is not None
        async with ReleaseTrees(tmp_path / "trees", sources, max_releases=2) as trees:
            assert trees.cached() == [("drupal", "9.5.10"), ("drupal", "9.5.9")]
            again = await trees.tree("drupal", "9.5.9")  # from the cache
    assert again is not None and again["core/lib/Drupal.php"]
    assert [len(server.hits(f"/files/drupal-{v}.tar.gz")) for v in versions] == [1, 1, 1]
