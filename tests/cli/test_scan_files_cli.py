"""`sitekeeper scan-files`: a local copy of a site scanned with the YARA rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.conftest import Run, as_json

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "malware"


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "wp-content" / "uploads" / "2026" / "11").mkdir(parents=True)
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/wp-blog-header.php';\n")
    (site / "wp-content" / "themes.js").write_text("console.log('theme');\n")
    return site


def test_a_web_shell_in_uploads_is_found_and_the_exit_status_says_so(
    run: Run, tmp_path: Path
) -> None:
    site = _site(tmp_path)
    shell = site / "wp-content" / "uploads" / "2026" / "11" / "cache.php"
    shutil.copy(SAMPLES / "webshell_wso_login.txt", shell)
    (site / "notes.txt").write_text((SAMPLES / "php_request_to_shell.txt").read_text())

    result = run("scan-files", str(site), "--json", ok=False)

    assert result.exit_code == 1
    report = as_json(result)
    assert report["scanned"] == 3  # PHP and JS only: notes.txt is not code
    [found] = report["files"]
    assert found["path"] == "wp-content/uploads/2026/11/cache.php"
    assert found["matches"][0]["rule"] == "webshell_wso_login"
    assert found["matches"][0]["severity"] == "critical"
    assert found["matches"][0]["hits"][0]["line"] >= 2
    assert "3 files: 1 matched, 0 not scanned" in result.stderr

    everything = as_json(run("scan-files", str(site), "--all-files", ok=False))
    assert {f["path"] for f in everything["files"]} == {
        "wp-content/uploads/2026/11/cache.php",
        "notes.txt",
    }


def test_a_clean_folder_passes(run: Run, tmp_path: Path) -> None:
    result = run("scan-files", str(_site(tmp_path)), "--json")

    assert as_json(result) == {"scanned": 2, "rule_problems": [], "files": []}


def test_a_broken_agency_rule_file_is_named_and_the_scan_goes_on(run: Run, tmp_path: Path) -> None:
    site = _site(tmp_path)
    shutil.copy(SAMPLES / "php_eval_decoded_input.txt", site / "wp-config.php")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "typo.yar").write_text('rule typo { strings: $a = "x" condition: $b }')

    result = run("scan-files", str(site), "--rules", str(rules), ok=False)

    assert result.exit_code == 1
    assert f"rule file left out: {rules / 'typo.yar'}: does not compile" in result.stderr
    report = json.loads(result.stdout)
    assert report["rule_problems"][0]["path"] == str(rules / "typo.yar")
    assert report["files"][0]["matches"][0]["rule"] == "php_eval_decoded_input"


def test_a_file_over_the_cap_and_a_link_are_listed_as_not_scanned(run: Run, tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "big.js").write_bytes(b"//" + b"x" * 5000)
    (site / "elsewhere.php").symlink_to("/etc/passwd")
    (site / "\x1b[2Jclear.php").write_text((SAMPLES / "php_remote_include.txt").read_text())

    result = run("scan-files", str(site), ok=False, env={"SITEKEEPER_SCAN_MAX_FILE_BYTES": "4096"})

    assert result.exit_code == 1
    reasons = {f["path"]: f["not_scanned"] for f in as_json(result)["files"]}
    assert reasons == {
        "big.js": "larger than the 4,096 byte cap",
        "elsewhere.php": "a symbolic link (not followed)",
        "\x1b[2Jclear.php": None,  # found, its name escaped in the JSON
    }
    assert "\x1b" not in result.stdout and "\\u001b[2Jclear.php" in result.stdout
