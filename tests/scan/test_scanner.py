"""The scanner's bounds: what a hacked server cannot make it do (read a huge file, run
forever, follow a link, hang on a FIFO, print terminal escapes), and what it reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sitekeeper.domain.severity import Severity
from sitekeeper.scan.rules import RuleSet, load_rules
from sitekeeper.scan.scanner import MAX_HITS, SNIPPET_CHARS, Scanner

SHELL = b"if (!empty($_GET['cmd'])) { system($_GET['cmd']); }\n"


def test_a_file_over_the_cap_is_reported_not_scanned_not_passed_as_clean(
    tmp_path: Path,
) -> None:
    scanner = Scanner(load_rules(), max_bytes=4096)
    big = tmp_path / "big.php"
    big.write_bytes(b" " * 5000 + SHELL)

    for result in (scanner.scan_file(big), scanner.scan_bytes(big.read_bytes(), "big.php")):
        assert result.matches == ()
        assert result.not_scanned == "larger than the 4,096 byte cap"
        assert result.size == 5000 + len(SHELL)
    assert scanner.scan_bytes(SHELL).matches  # under the cap it is found


def test_a_file_that_runs_past_the_timeout_is_reported_not_scanned(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "slow.yar").write_text(
        "rule quadratic { condition: for all i in (0..filesize-1) : "
        "(for all j in (0..filesize-1) : (uint8(i) != 256 and uint8(j) != 256)) }"
    )
    scanner = Scanner(load_rules([folder]), timeout=0.5)  # YARA's whole second

    result = scanner.scan_bytes(b"a" * 50_000, "slow.js")

    assert result.not_scanned == "timed out after 0.5 s"
    assert result.matches == ()


def test_links_fifos_and_folders_are_not_read(tmp_path: Path, scanner: Scanner) -> None:
    target = tmp_path / "shell.txt"
    target.write_bytes(SHELL)
    (tmp_path / "link.php").symlink_to(target)
    os.mkfifo(tmp_path / "pipe.php")  # opening it for reading would wait for a writer
    (tmp_path / "folder.php").mkdir()

    assert scanner.scan_file(tmp_path / "link.php").not_scanned == "a symbolic link (not followed)"
    assert scanner.scan_file(tmp_path / "pipe.php").not_scanned == "not a regular file"
    assert scanner.scan_file(tmp_path / "folder.php").not_scanned == "not a regular file"
    assert scanner.scan_file(tmp_path / "gone.php").not_scanned.startswith("unreadable")
    assert scanner.scan_file(target).matches


def test_a_match_says_where_with_a_short_snippet_safe_for_a_terminal(scanner: Scanner) -> None:
    # OSC 52 (writes the clipboard) and a bidi override inside the matched code
    data = (
        b"// header\n\n@eval(base64_decode('\x1b]52;c;ZXZpbA==\x07\xe2\x80\xae"
        + b"A" * 400
        + b"'));"
    )

    [match] = scanner.scan_bytes(data, "wp-content/uploads/x.php").matches

    assert match.rule == "php_eval_decoded_input"
    assert match.severity is Severity.CRITICAL
    [hit] = match.hits
    assert (hit.offset, hit.line) == (12, 3)
    assert hit.snippet.startswith("eval(base64_decode('\\x1b]52;")
    assert "\x1b" not in hit.snippet and "\x07" not in hit.snippet and "\u202e" not in hit.snippet
    assert len(hit.snippet) <= SNIPPET_CHARS


def test_many_hits_are_cut_to_a_few_and_matches_sort_worst_first(scanner: Scanner) -> None:
    data = b"\n".join(
        [b"error_reporting(0); set_time_limit(0); ignore_user_abort();"] + [SHELL] * 50
    )

    result = scanner.scan_bytes(data, "x.php")

    assert [m.severity for m in result.matches] == [Severity.CRITICAL, Severity.LOW]
    assert result.worst is Severity.CRITICAL
    assert len(result.matches[0].hits) == MAX_HITS
    assert [h.line for h in result.matches[0].hits] == [2, 4, 6, 8, 10]


@pytest.mark.parametrize("marker", [b"defined('_JEXEC') or die;", b"namespace Drupal\\custom;"])
def test_an_upload_form_of_a_joomla_or_drupal_extension_is_no_dropper(
    scanner: Scanner, marker: bytes
) -> None:
    form = (
        b'<form enctype="multipart/form-data"><input type="file" name="f"></form>\n'
        b"move_uploaded_file($_FILES['f']['tmp_name'], $target);\n"
    )
    assert [m.rule for m in scanner.scan_bytes(form).matches] == ["php_upload_form_dropper"]
    assert scanner.scan_bytes(marker + b"\n" + form).matches == ()


def test_scanners_share_the_process_rule_set(scanner: Scanner) -> None:
    assert isinstance(scanner.rules, RuleSet)
    assert load_rules() is load_rules()
