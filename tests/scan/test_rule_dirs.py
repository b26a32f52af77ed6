"""The agency's own rule directories: added to ours, a broken file named and left out,
compiled once per process until a file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sitekeeper.config import load_settings
from sitekeeper.domain.severity import Severity
from sitekeeper.errors import ConfigError
from sitekeeper.scan.rules import load_rules
from sitekeeper.scan.scanner import Scanner

AGENCY_RULE = """
rule agency_old_slider
{
    meta:
        severity = "high"
        description = "The vulnerable slider plugin our clients had in 2019"
    strings:
        $a = "RevSliderAdmin_legacy_marker"
    condition:
        $a
}
"""


def _rules_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "agency-rules"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_an_agency_rule_matches_beside_ours(tmp_path: Path) -> None:
    folder = _rules_dir(tmp_path, **{"ours.yar": AGENCY_RULE})
    scanner = Scanner(load_rules([folder]))

    result = scanner.scan_bytes(b"class RevSliderAdmin_legacy_marker {}\neval($_POST['x']);")

    found = {m.rule: m for m in result.matches}
    assert found["agency_old_slider"].severity is Severity.HIGH
    assert found["agency_old_slider"].description.startswith("The vulnerable slider")
    assert found["agency_old_slider"].namespace == "agency1.ours"
    assert "php_eval_request_input" in found
    assert scanner.rules.problems == ()


def test_a_broken_rule_file_is_named_and_the_others_still_scan(tmp_path: Path) -> None:
    folder = _rules_dir(
        tmp_path,
        **{"good.yar": AGENCY_RULE, "broken.yara": "rule broken { condition: $nothing }"},
    )
    rules = load_rules([folder])

    [problem] = rules.problems
    assert problem.path == folder / "broken.yara"
    assert "broken.yara" in str(problem) and "does not compile" in str(problem)
    result = Scanner(rules).scan_bytes(b"RevSliderAdmin_legacy_marker; system($_GET['c']);")
    assert {m.rule for m in result.matches} == {"agency_old_slider", "php_request_to_shell"}


def test_a_missing_or_empty_rule_directory_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    empty = _rules_dir(tmp_path)
    rules = load_rules([tmp_path / "nowhere", empty])

    assert [p.path for p in rules.problems] == [tmp_path / "nowhere", empty]
    assert "cannot read the rule directory" in rules.problems[0].message
    assert Scanner(rules).scan_bytes(b"eval(base64_decode('eA=='));").matches


def test_a_rule_without_metadata_is_medium_and_named(tmp_path: Path) -> None:
    folder = _rules_dir(
        tmp_path, **{"bare.yar": 'rule bare_marker { strings: $a = "zq-bare-zq" condition: $a }'}
    )
    [match] = Scanner(load_rules([folder])).scan_bytes(b"..zq-bare-zq..").matches

    assert (match.severity, match.description) == (Severity.MEDIUM, "bare_marker")


def test_rules_may_test_the_file_name_and_extension(tmp_path: Path) -> None:
    folder = _rules_dir(
        tmp_path,
        **{
            "names.yar": 'rule php_in_uploads { condition: extension == "php" and '
            "filepath matches /uploads\\// }"
        },
    )
    scanner = Scanner(load_rules([folder]))

    assert scanner.scan_bytes(b"x", "wp-content/uploads/2026/11/x.PHP").matches
    assert not scanner.scan_bytes(b"x", "wp-content/uploads/2026/11/x.jpg").matches
    assert not scanner.scan_bytes(b"x", "wp-includes/x.php").matches


def test_the_rules_are_compiled_once_until_a_file_changes(tmp_path: Path) -> None:
    folder = _rules_dir(tmp_path, **{"ours.yar": AGENCY_RULE})
    first = load_rules([folder])
    assert load_rules([folder]) is first

    changed = folder / "ours.yar"
    changed.write_text(AGENCY_RULE.replace("legacy_marker", "legacy_marker2"), encoding="utf-8")
    os.utime(changed, ns=(1, 1))  # a different mtime whatever the clock's resolution
    second = load_rules([folder])

    assert second is not first
    assert Scanner(second).scan_bytes(b"RevSliderAdmin_legacy_marker2").matches


def test_rule_directories_and_bounds_are_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SITEKEEPER_SCAN_RULE_DIRS", f"{tmp_path}/a, {tmp_path}/b")
    monkeypatch.setenv("SITEKEEPER_SCAN_MAX_FILE_BYTES", "65536")
    monkeypatch.setenv("SITEKEEPER_SCAN_FILE_TIMEOUT", "2.5")
    settings = load_settings(home=tmp_path)

    assert settings.scan_rule_dirs == [tmp_path / "a", tmp_path / "b"]
    scanner = Scanner.from_settings(settings)
    assert (scanner.max_bytes, scanner.timeout) == (65536, 2.5)
    assert len(scanner.rules.problems) == 2  # neither directory exists

    monkeypatch.setenv("SITEKEEPER_SCAN_FILE_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="SCAN_FILE_TIMEOUT"):
        load_settings(home=tmp_path)
