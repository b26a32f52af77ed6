"""Hash knowledge for Joomla 5.1+, whose releases only the TUF repository lists.

A real TUF repository (python-tuf metadata, real signatures) on loopback lists
release packages built here from the joomla5 fixture's files; the learner must
take them from the verified targets, check each package against the signed
length and hashes, and then pin a hardened Joomla 5 site by its static files.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.cms.joomla.hashes import learn_joomla
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.hashes import HashKnowledge, HashSources, Learner
from sitekeeper.probes.fingerprint import FingerprintProbe
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.tufrepo import TufRepo, joomla_targets
from tests.probes.conftest import serve
from tests.probes.test_fingerprint_cms import site_app

JOOMLA5 = Path(__file__).parents[1] / "fixtures" / "sites" / "joomla5"
VERSIONS = ("5.1.1", "5.1.2")


def _static(version: str) -> dict[str, bytes]:
    """The files a hardened site still serves: core.min.js changes per release."""
    return {
        "media/system/js/core.min.js": f"/* Joomla {version} core */".encode(),
        "media/system/css/joomla-fontawesome.min.css": b"/* same in every 5.1 release */",
    }


def _package(version: str) -> bytes:
    """A small update package: the fixture site's own files plus the release's static files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(JOOMLA5.rglob("*")):
            if path.is_file():
                archive.writestr(path.relative_to(JOOMLA5).as_posix(), path.read_bytes())
        for name, data in _static(version).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _path(version: str) -> str:
    return f"/releases/{version}/Joomla_{version}-Stable-Update_Package.zip"


def _targets(server: FeedServer, packages: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """The vendor's 5.1.2 target as a template, one per version; the first mirror is gone."""
    template = next(t for t in joomla_targets().values() if t["custom"]["version"] == "5.1.2")
    targets = {}
    for version, data in packages.items():
        target = copy.deepcopy(template)
        target["length"] = len(data)
        target["hashes"] = {"sha512": hashlib.sha512(data).hexdigest()}
        target["custom"].update(version=version, name=f"Joomla! {version}")
        target["custom"]["downloads"] = [
            {"url": server.url(f"/gone{_path(version)}"), "format": "zip", "type": "full"},
            {"url": server.url(_path(version)), "format": "zip", "type": "full"},
        ]
        targets[f"Joomla_{version}-Stable-Update_Package.zip"] = target
    return targets


async def _vendor(
    server: FeedServer, tmp_path: Path, packages: dict[str, bytes]
) -> tuple[TufRepo, HashSources]:
    """Serve the TUF repository, an empty legacy list and the packages."""
    repo = TufRepo()
    repo.build(_targets(server, packages))
    for name, body in repo.files.items():
        server.bodies[f"/cms/{name}"] = body
    server.bodies["/core/list.xml"] = b"<updates></updates>"
    for version, data in packages.items():
        server.bodies[_path(version)] = data
    root = tmp_path / "root.json"
    root.write_bytes(repo.root)
    sources = HashSources(
        vendor={
            "joomla_update_url": server.url("/core/list.xml"),
            "joomla_tuf_url": server.url("/cms/"),
            "joomla_tuf_root": root,
        }
    )
    return repo, sources


async def test_hardened_joomla5_is_pinned_by_hashes_learned_from_tuf_targets(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with feed_server() as server:
        _, sources = await _vendor(server, tmp_path, {v: _package(v) for v in VERSIONS})
        async with Learner(HashKnowledge.in_home(home), sources) as learner:
            learned = await learn_joomla(learner, joomla.HASH_FILES)
        assert sorted(learned) == list(VERSIONS)
        assert [e.status for e in server.hits(f"/gone{_path('5.1.2')}")] == [404]
        # learned once: a second run downloads no package again
        async with Learner(HashKnowledge.in_home(home), sources) as learner:
            assert await learn_joomla(learner, joomla.HASH_FILES) == []
        assert len(server.hits(_path("5.1.2"))) == 1

    knowledge = HashKnowledge.in_home(home)
    assert knowledge.versions("joomla") == list(VERSIONS)
    app = site_app(JOOMLA5, blocked=frozenset(joomla.VERSION_PATHS), extra=_static("5.1.2"))
    async with serve(app) as site, FingerprintProbe(hashes=knowledge) as probe:
        result = await probe.fingerprint(site.url("/"))
    assert (result.cms, result.version) == ("joomla", "5.1.2")
    assert any("core.min.js: md5" in e for e in result.evidence)


@pytest.mark.parametrize(
    ("served", "error"),
    [
        ("tampered", "sha512 does not match the feed"),  # right length, other bytes
        ("longer", "larger than"),  # more than the signed length
        ("shorter", "the vendor says"),
    ],
)
async def test_a_package_that_does_not_match_its_signed_target_is_rejected(
    tmp_path: Path, served: str, error: str
) -> None:
    home = tmp_path / "home"
    genuine = _package("5.1.2")
    wrong = {
        "tampered": genuine[:-1] + bytes([genuine[-1] ^ 0xFF]),
        "longer": genuine + b"\0" * 16,
        "shorter": genuine[:-16],
    }[served]
    async with feed_server() as server:
        _, sources = await _vendor(server, tmp_path, {"5.1.2": genuine})
        server.bodies[_path("5.1.2")] = wrong
        with pytest.raises(InvalidFeed, match=error):
            async with Learner(HashKnowledge.in_home(home), sources) as learner:
                await learn_joomla(learner, joomla.HASH_FILES)
    assert HashKnowledge.in_home(home).versions("joomla") == []


async def test_a_tuf_repository_failing_verification_downloads_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with feed_server() as server:
        repo, sources = await _vendor(server, tmp_path, {"5.1.2": _package("5.1.2")})
        tampered = json.loads(repo.files["targets.json"])
        target = next(iter(tampered["signed"]["targets"].values()))
        target["custom"]["version"] = "5.9.9"  # the signature no longer covers this
        server.bodies["/cms/targets.json"] = json.dumps(tampered).encode()
        with pytest.raises(InvalidFeed, match="failed verification"):
            async with Learner(HashKnowledge.in_home(home), sources) as learner:
                await learn_joomla(learner, joomla.HASH_FILES)
        assert not [e for e in server.log if e.path.startswith("/releases/")]
    assert HashKnowledge.in_home(home).versions("joomla") == []


async def test_without_a_trusted_root_the_tuf_repository_is_not_read(tmp_path: Path) -> None:
    async with feed_server() as server:
        _, sources = await _vendor(server, tmp_path, {"5.1.2": _package("5.1.2")})
        legacy_only = sources.model_copy(
            update={"vendor": {**sources.vendor, "joomla_tuf_root": None}}
        )
        async with Learner(HashKnowledge(), legacy_only) as learner:
            assert await learn_joomla(learner, joomla.HASH_FILES) == []
        assert not [e for e in server.log if e.path.startswith(("/cms/", "/releases/"))]
