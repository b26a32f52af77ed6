"""Advisory import from files, directories, zips and URLs; hostile archives are refused."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from sitekeeper.errors import InvalidFeed
from sitekeeper.intel import importer
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from tests.intel.feedserver import feed_server
from tests.intel.samples import sample

OSV = sample("advisories/DRUPAL-CORE-2023-005.json")
WORDFENCE = sample("advisories/wordfence_v2_record_shape.json")
JOOMLA = sample("joomla/security_centre_feed_2021-01-05_reconstructed.xml")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "source"),
    [(OSV, "osv"), (WORDFENCE, "wordfence"), (JOOMLA, "joomla-security-centre")],
)
def test_format_is_recognised_from_content(body: bytes, source: str) -> None:
    found = importer.parse_document(body, name="x")
    assert found and {a.source for a in found} == {source}


def test_osv_list_and_unknown_shapes() -> None:
    listed = importer.parse_document(b"[" + OSV + b"]", name="list")
    assert [a.id for a in listed] == [json.loads(OSV)["id"]]
    with pytest.raises(InvalidFeed, match="not an OSV record"):
        importer.parse_document(b'{"hello": 1}', name="odd")
    with pytest.raises(InvalidFeed):
        importer.parse_document(b"[1, 2]", name="numbers")


def test_directory_skips_symlinks(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "osv.json").write_bytes(OSV)
    (tmp_path / "wf.json").write_bytes(WORDFENCE)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text("not json at all")
    os.symlink(outside, tmp_path / "link.json")
    found = importer.load_path(tmp_path)
    assert sorted(a.source for a in found) == ["osv", "wordfence"]


@pytest.mark.parametrize(
    "name", ["../evil.json", "/etc/evil.json", "a/../../evil.json", "C:/evil.json"]
)
def test_zip_slip_is_refused(name: str) -> None:
    data = _zip({"ok.json": OSV, name: OSV})
    with pytest.raises(InvalidFeed, match="zip-slip"):
        importer.load_zip(data, name="evil.zip")


def test_zip_bomb_is_refused_before_decompressing() -> None:
    class Small(importer.Limits):
        max_total = 8 * 1024 * 1024

    ratio = _zip({"a.json": b"[" + b" " * (3 * 1024 * 1024) + b"]"})
    with pytest.raises(InvalidFeed, match="compressed too well"):
        importer.load_zip(ratio, name="ratio.zip")
    wide = _zip({f"{i}.json": b"[]" for i in range(10)})

    class Few(importer.Limits):
        max_files = 5

    with pytest.raises(InvalidFeed, match="entries"):
        importer.load_zip(wide, name="wide.zip", limits=Few)
    assert importer.load_zip(
        _zip({"x/osv.json": OSV, "README": b"hi"}), name="ok.zip", limits=Small
    )


async def test_url_import_is_conditional() -> None:
    async with feed_server() as server:
        server.bodies["/advisories.zip"] = _zip({"osv/one.json": OSV, "wf.json": WORDFENCE})
        async with Fetcher(FeedSettings()) as fetcher:
            first = await importer.load_source(server.url("/advisories.zip"), fetcher)
            second = await importer.load_source(server.url("/advisories.zip"), fetcher)
    assert sorted(a.source for a in first) == ["osv", "wordfence"]
    assert second == []  # 304: nothing new to import
