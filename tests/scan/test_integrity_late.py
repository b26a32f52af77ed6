"""Code changed after the last journaled update (or the first scan) with nothing in the
journal to explain it: judged by ctime, the stamp nobody can set back (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from sitekeeper.cms.integrity_lists import rules_for
from sitekeeper.engine.integrity_jobs import SKEW, ScanState
from sitekeeper.scan.compare import Baseline, IntegrityRules, VendorList, compare
from sitekeeper.scan.manifest import FileRecord, encode_manifest, read_manifest

RULES = IntegrityRules(
    ignore=("wp-content/cache/",),
    no_code=("wp-content/uploads/",),
    code_folders=("wp-includes/", "wp-content/plugins/", "wp-content/themes/", "*.php"),
)
UPDATE = 1_780_000_000  # the baseline, on the server's clock
BASE = Baseline(UPDATE, "the last update")


def _file(path: bytes, *, mtime: int, ctime: int, body: bytes = b"<?php") -> FileRecord:
    return FileRecord(
        path, "file", len(body), mtime, ctime, 0o644,
        hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest(),
    )  # fmt: skip


def _late(files: dict[bytes, FileRecord], lists: list[VendorList] | None = None) -> list[str]:
    found = compare(files, lists or [], RULES, previous=files, changed_after=BASE).issues
    return [i.title for i in found if i.check == "changed-late"]


def test_a_plugin_file_changed_after_the_update_is_reported_with_its_time() -> None:
    path = b"wp-content/plugins/p/p.php"
    [title] = _late({path: _file(path, mtime=UPDATE + 3600, ctime=UPDATE + 3600)})
    assert "2026-05-28 21:26 UTC" in title and "after the last update" in title
    assert "set back" not in title


def test_an_mtime_set_back_is_seen_by_the_ctime_and_named() -> None:
    path = b"wp-includes/load.php"
    [title] = _late({path: _file(path, mtime=UPDATE - 86400 * 300, ctime=UPDATE + 60)})
    assert "set back" in title


def test_no_false_alarm_on_files_the_site_writes_or_old_code() -> None:
    files = {
        p: _file(p, mtime=UPDATE + 10, ctime=UPDATE + 10)
        for p in (
            b"wp-content/uploads/2026/05/photo.jpg",  # an upload: not code
            b"wp-content/cache/page.php",  # the CMS's own cache: ignored
            b"wp-content/plugins/p/readme.txt",  # not code
            b"wp-content/languages/de.php",  # code, but outside the code folders
        )
    }
    files[b"wp-content/plugins/p/old.php"] = _file(
        b"wp-content/plugins/p/old.php", mtime=UPDATE - 5, ctime=UPDATE
    )
    assert _late(files) == []
    # Without a baseline (the site's first scan) nothing is "late".
    late = _file(b"wp-content/plugins/p/p.php", mtime=UPDATE + 9, ctime=UPDATE + 9)
    assert compare({late.path: late}, [], RULES, previous={late.path: late}).issues == []


def test_a_file_a_vendor_list_vouches_for_is_not_late() -> None:
    path = b"wp-includes/version.php"
    record = _file(path, mtime=UPDATE + 99, ctime=UPDATE + 99)
    digests = {"wp-includes/version.php": frozenset([record.md5 or ""])}
    core = VendorList("", "core 6.1.9", "md5", digests, core=True)
    assert _late({path: record}, [core]) == []


def test_a_new_file_is_reported_once_as_new() -> None:
    path = b"wp-content/plugins/p/new.php"
    record = _file(path, mtime=UPDATE + 99, ctime=UPDATE + 99)
    found = compare(
        {path: record}, [], RULES, previous={b"other": record}, changed_after=BASE
    ).issues
    assert [i.check for i in found] == ["new-file"]


def test_the_baseline_is_the_later_of_first_scan_and_journal_on_the_servers_clock() -> None:
    first = 1_700_000_000
    state = ScanState(None, {}, False, set(), stored_baseline=first)
    assert state.baseline(offset=500) == Baseline(first, "the first scan")
    update = datetime.fromtimestamp(1_750_000_000, UTC)
    state = replace(state, explained_at=update)
    found = state.baseline(offset=-30)
    assert found is not None and found.at == 1_750_000_000 - 30 + SKEW
    # An old manifest without a carried baseline: its scan time, moved to the server's clock.
    old = ScanState(None, {}, False, set(), scanned_at=datetime.fromtimestamp(first, UTC))
    assert old.first_scan(offset=7) == first + 7
    assert ScanState(None, {}, False, set()).baseline(0) is None


def test_the_manifest_carries_its_baseline() -> None:
    record = _file(b"a.php", mtime=1, ctime=2)
    stored = read_manifest(encode_manifest([record], 1_700_000_123))
    assert stored.baseline == 1_700_000_123 and stored.files == {b"a.php": record}
    assert read_manifest(encode_manifest([record])).baseline is None


def test_each_shipped_cms_names_its_code_folders() -> None:
    for kind in ("wordpress", "joomla", "drupal"):
        rules = rules_for(kind)
        assert rules is not None and rules.code_folders


def test_a_chmod_or_chown_after_the_update_is_no_change_but_new_bytes_are() -> None:
    path = b"wp-content/themes/t/functions.php"
    seen = _file(path, mtime=UPDATE - 50, ctime=UPDATE - 50)
    chmodded = replace(seen, mode=0o640, ctime=UPDATE + 600)  # a host fixing permissions
    edited = _file(path, mtime=UPDATE - 50, ctime=UPDATE + 600, body=b"<?php eval($_POST[x]);")

    def late(now: FileRecord) -> list[str]:
        found = compare({path: now}, [], RULES, previous={path: seen}, changed_after=BASE)
        return [i.check for i in found.issues if i.check == "changed-late"]

    assert late(chmodded) == []
    assert late(edited) == ["changed-late"]
    # once late, it stays reported on the next scan although its bytes no longer change
    again = compare({path: edited}, [], RULES, previous={path: edited}, changed_after=BASE)
    assert [i.check for i in again.issues] == ["changed-late"]
