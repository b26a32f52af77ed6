"""The integrity walk's program and its parser, on hostile names, run by the local php-cli
as the site's would run it (``php -n -r PROGRAM -- ...``), and the parser on output a
hacked server could print instead."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sitekeeper.scan.manifest import (
    FileRecord,
    Walk,
    decode_manifest,
    encode_manifest,
    parse_walk,
    previous_lines,
    shown_path,
)
from sitekeeper.scan.remote_walk import parse_fetch, program
from tests.services import REQUIRE

MARK = "sk-walk-test"
HOSTILE = [b"a\nb.php", b"\xff\xfe.php", b"-n.php", b"x y.php", b"\x1b[31mred.php"]


def _php(*args: str, stdin: bytes = b"") -> bytes:
    if shutil.which("php") is None:
        if REQUIRE:
            pytest.fail("php-cli is not installed (SITEKEEPER_REQUIRE_SERVICES=1)")
        pytest.skip("php-cli is not installed")
    done = subprocess.run(
        ["php", "-n", "-r", program(), "--", *args], input=stdin, capture_output=True, check=True
    )
    return done.stdout


def _tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    for name in HOSTILE:
        (root / "sub").joinpath(os.fsdecode(name)).write_bytes(b"<?php echo 1;")
    (root / "big.bin").write_bytes(b"x" * 5000)
    (root / "link").symlink_to("/etc")  # listed, never followed
    (root / "linked.php").symlink_to("/etc/passwd")


def _walk(
    root: Path, previous: dict[bytes, FileRecord] | None = None, max_hash: int = 4096
) -> Walk:
    out = _php("walk", str(root), MARK, "1000", str(max_hash), "60", "1",
               stdin=previous_lines(previous or {}))  # fmt: skip
    return parse_walk(out, MARK, previous or {})


def test_hostile_names_come_back_exact_and_links_are_not_followed(tmp_path: Path) -> None:
    _tree(tmp_path)
    walk = _walk(tmp_path)
    assert walk.ended and walk.problems == []
    assert {b"sub/" + n for n in HOSTILE} <= set(walk.files)
    record = walk.files[b"sub/a\nb.php"]
    assert record.sha256 == hashlib.sha256(b"<?php echo 1;").hexdigest()
    assert record.md5 == hashlib.md5(b"<?php echo 1;").hexdigest()
    assert walk.files[b"link"].kind == "symlink" and walk.files[b"link"].sha256 is None
    assert walk.files[b"linked.php"].kind == "symlink"
    assert not any(p.startswith(b"link/") for p in walk.files)  # /etc was not walked
    # over the hash cap: listed, not hashed, so never counted as clean
    assert walk.unhashed() == [b"big.bin"]
    assert shown_path(b"sub/\x1b[31mred.php") == "sub/\\x1b[31mred.php"
    # the server's clock comes first (the baseline of late changes is on it)
    assert walk.server_time is not None and abs(walk.server_time - time.time()) < 3600


def test_rescan_rehashes_only_what_changed(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = _walk(tmp_path)
    again = _walk(tmp_path, first.files)
    assert (again.hashed, again.files) == (0, first.files)
    (tmp_path / "sub" / "x y.php").write_bytes(b"<?php echo 22;")
    third = _walk(tmp_path, again.files)
    assert third.hashed == 1
    assert third.files[b"sub/x y.php"].sha256 == hashlib.sha256(b"<?php echo 22;").hexdigest()


def test_the_file_cap_makes_the_walk_partial(tmp_path: Path) -> None:
    _tree(tmp_path)
    out = _php("walk", str(tmp_path), MARK, "2", "4096", "60", "1")
    walk = parse_walk(out, MARK, {})
    assert not walk.complete and "the file cap was reached" in walk.problems


def test_fetch_refuses_paths_outside_the_docroot(tmp_path: Path) -> None:
    _tree(tmp_path)
    wanted = [b"sub/a\nb.php", b"../etc/passwd", b"linked.php", b"link/passwd"]
    stdin = b"".join(p.hex().encode() + b"\n" for p in wanted)
    out = _php("fetch", str(tmp_path), MARK, "100", "1000", stdin=stdin)
    fetched = parse_fetch(out, MARK, set(wanted), 100)
    assert fetched.contents == {b"sub/a\nb.php": b"<?php echo 1;"}
    assert set(fetched.refused) == {b"../etc/passwd", b"linked.php", b"link/passwd"}
    assert not fetched.complete


@pytest.mark.parametrize(
    "output",
    [
        b"",  # no marker: nothing was seen
        f"{MARK}\nF 61 1 2 3 644 zz -\nE 1 1 1 -\n".encode(),  # a digest that is not hex
        f"{MARK}\nF 6 1 2 3 644 - -\nE 1 0 0 -\n".encode(),  # odd hex path
        f"{MARK}\nF 61 1 2 3 644 = =\nE 1 0 0 -\n".encode(),  # "unchanged" never sent
        f"{MARK}\nF 61 1 2 3 644 - -\n".encode(),  # no end line
        f"{MARK}\nE 1 0 0 -\nF 61 1 2 3 644 - -\n".encode(),  # after the end
        f"{MARK}\n".encode() + b"F " + b"61" * 20_000 + b" 1 2 3 644 - -\nE 1 0 0 -\n",
    ],
)
def test_output_that_is_not_ours_makes_the_walk_partial(output: bytes) -> None:
    walk = parse_walk(output, MARK, {})
    assert not walk.complete and walk.problems


def test_the_manifest_round_trips_and_a_foreign_blob_is_empty() -> None:
    records = [
        FileRecord(b"a\nb.php", "file", 1, 2, 3, 0o644, "a" * 64, "b" * 32),
        FileRecord(b"\xff.js", "file", 1, 2, 3, 0o600, None, None),
        FileRecord(b"l", "symlink", 4, 5, 6, 0o777),
    ]
    decoded = decode_manifest(encode_manifest(records))
    assert decoded == {r.path: r for r in records}
    assert decode_manifest(b"not zlib") == {}
    assert decode_manifest(b"x\x9c" + b"\x00" * 10) == {}
