"""The comparison of a site's files with the vendors' lists and the CMS's rules (pure)."""

from __future__ import annotations

import hashlib

import pytest

from sitekeeper.cms.integrity_lists import rules_for
from sitekeeper.domain.integrity import IntegrityIssue
from sitekeeper.scan.compare import IntegrityRules, VendorList, compare, matches
from sitekeeper.scan.manifest import FileRecord

RULES = IntegrityRules(
    ignore=("wp-config.php", "wp-content/cache/"),
    not_core=("wp-content/",),
    core_trees=("wp-admin/", "wp-includes/", "*.php"),
    no_code=("wp-content/uploads/",),
    extensions={"plugin": "wp-content/plugins/{slug}/"},
)


def _file(path: bytes, body: bytes = b"<?php") -> FileRecord:
    return FileRecord(
        path, "file", len(body), 1, 1, 0o644,
        hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest(),
    )  # fmt: skip


def _core(*paths: str, body: bytes = b"<?php") -> VendorList:
    md5 = hashlib.md5(body).hexdigest()
    return VendorList("", "core 6.1.9", "md5", {p: frozenset([md5]) for p in paths}, core=True)


def _issues(found: list[IntegrityIssue]) -> set[tuple[str, bytes, str]]:
    return {(i.check, i.path, str(i.severity)) for i in found}


def test_a_site_that_matches_its_lists_has_no_issue() -> None:
    files = {p: _file(p) for p in (b"index.php", b"wp-includes/a.php", b"wp-config.php")}
    files[b"wp-content/uploads/2026/photo.jpg"] = _file(b"wp-content/uploads/2026/photo.jpg")
    result = compare(files, [_core("index.php", "wp-includes/a.php")], RULES)
    assert result.issues == []
    assert result.verified == {b"index.php", b"wp-includes/a.php"}


def test_modified_added_and_missing_core_files() -> None:
    files = {
        b"wp-includes/a.php": _file(b"wp-includes/a.php", b"<?php eval($x);"),
        b"wp-includes/extra.php": _file(b"wp-includes/extra.php"),
        b"wp-includes/notes.txt": _file(b"wp-includes/notes.txt"),
        b"shell.php": _file(b"shell.php"),
        b"wp-content/plugins/gone/x.php": _file(b"wp-content/plugins/gone/x.php"),
    }
    lists = [_core("wp-includes/a.php", "wp-includes/b.php", "wp-content/themes/t/style.css")]
    found = _issues(compare(files, lists, RULES).issues)
    assert found == {
        ("core-modified", b"wp-includes/a.php", "high"),
        ("core-added", b"wp-includes/extra.php", "high"),
        ("core-added", b"wp-includes/notes.txt", "medium"),
        ("core-added", b"shell.php", "high"),
        ("core-missing", b"wp-includes/b.php", "low"),  # wp-content/ is not core
    }


def test_plugin_files_against_the_plugin_list() -> None:
    sha = hashlib.sha256(b"<?php").hexdigest()
    plugin = VendorList(
        "wp-content/plugins/akismet/", "plugin akismet 5.0.2", "sha256",
        {"akismet.php": frozenset([sha]), "readme.txt": frozenset([sha])},
    )  # fmt: skip
    changed = b"wp-content/plugins/akismet/akismet.php"
    files = {
        changed: _file(changed, b"<?php /* changed */"),
        b"wp-content/plugins/akismet/new.php": _file(b"wp-content/plugins/akismet/new.php"),
    }
    found = _issues(compare(files, [plugin], RULES).issues)
    assert found == {
        ("ext-modified", b"wp-content/plugins/akismet/akismet.php", "high"),
        ("ext-added", b"wp-content/plugins/akismet/new.php", "high"),
        ("ext-missing", b"wp-content/plugins/akismet/readme.txt", "low"),
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (b"wp-content/uploads/2026/11/x.php", {"php-in-uploads"}),
        (b"wp-content/uploads/2026/11/x.PHtml", {"php-in-uploads"}),
        (b"wp-content/uploads/2026/11/x.jpg.php", {"php-in-uploads", "double-ext"}),
        (b"wp-content/uploads/2026/11/x.php.jpg", {"double-ext"}),
        (b"wp-content/themes/t/img/x.php5.png", {"double-ext"}),
        (b"wp-content/themes/t/jquery.min.js", set()),
        (b"wp-content/uploads/2026/11/archive.tar.gz", set()),
        (b"wp-content/cache/x.php", set()),  # the CMS's own cache: ignored
    ],
)
def test_code_where_none_belongs_and_disguised_names(name: bytes, expected: set[str]) -> None:
    found = compare({name: _file(name)}, [], RULES).issues
    assert {i.check for i in found} == expected
    assert all(i.digest == hashlib.sha256(b"<?php").hexdigest() for i in found)


def test_a_file_the_vendor_ships_is_no_disguise() -> None:
    path = b"wp-includes/ID3/module.audio.mp3.php"
    assert compare({path: _file(path)}, [_core(path.decode())], RULES).issues == []


def test_new_code_files_since_the_last_scan_unless_an_update_explains_them() -> None:
    old = {b"wp-content/plugins/p/a.php": _file(b"wp-content/plugins/p/a.php")}
    now = {**old, b"wp-content/plugins/p/b.php": _file(b"wp-content/plugins/p/b.php")}
    now[b"wp-content/plugins/p/b.css"] = _file(b"wp-content/plugins/p/b.css")
    found = compare(now, [], RULES, previous=old).issues
    assert _issues(found) == {("new-file", b"wp-content/plugins/p/b.php", "medium")}
    assert compare(now, [], RULES, previous=old, explained=True).issues == []
    assert compare(now, [], RULES, previous=None).issues == []  # first scan: nothing is new


def test_a_code_file_whose_name_is_not_utf8() -> None:
    path = b"wp-content/plugins/p/\xff\xfe.php"
    [issue] = compare({path: _file(path)}, [], RULES).issues
    assert issue.check == "odd-name"
    spec = issue.spec(1)
    assert "\\" in spec.package and "\ufffd" in dict(spec.extra)["path"]


def test_globs_stay_within_one_folder_level() -> None:
    assert matches("index.php", ["*.php"]) and not matches("wp-content/x.php", ["*.php"])
    assert matches("wp-content/cache/a/b", ["wp-content/cache/"])


def test_each_shipped_cms_has_rules_in_data() -> None:
    for kind in ("wordpress", "joomla", "drupal"):
        rules = rules_for(kind)
        assert rules is not None and rules.no_code and rules.ignore
    assert rules_for("no-such-cms") is None
