"""The WordPress load check's PHP program and its reading, on a stand-in ``wp-load.php``
run by the local ``php``: a fatal in a plugin, in wp-admin only, thrown in WordPress's own
code by a plugin's call, a hostile message, a plugin that exits, and no result at all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sitekeeper.cms.wordpress import scrape
from sitekeeper.remote.ssh import CommandResult

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="needs php")

# What wp-load.php does that matters here: the folder constants, then the active plugins.
WP_LOAD = """<?php
class WP_Error { public function __construct($c = '', $m = '') {} }
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_PLUGIN_DIR', WP_CONTENT_DIR . '/plugins');
define('WPMU_PLUGIN_DIR', WP_CONTENT_DIR . '/mu-plugins');
function is_admin() { return defined('WP_ADMIN') && WP_ADMIN; }
function wp_core_helper($f) { return $f(); }
foreach (glob(WP_PLUGIN_DIR . '/*/*.php') as $file) { include $file; }
"""


def site(tmp_path: Path, plugin: str = "", slug: str = "sk-plugin") -> Path:
    root = tmp_path / "site"
    folder = root / "wp-content" / "plugins" / slug
    folder.mkdir(parents=True)
    (root / "wp-load.php").write_text(WP_LOAD)
    (folder / f"{slug}.php").write_text("<?php\necho 'printed by a plugin';\n" + plugin)
    return root


def run(root: Path, mode: str = "front") -> CommandResult:
    marker = "sk-load-test:"
    argv = ["php", "--", str(root), mode, marker, "example.org"]
    done = subprocess.run(
        argv, check=False, input=scrape.program(), capture_output=True, timeout=60
    )
    return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)


def read(root: Path, mode: str = "front") -> dict[str, object] | str:
    return scrape.parse(run(root, mode), "sk-load-test:")


def fatal(root: Path, mode: str = "front") -> dict[str, object]:
    said = read(root, mode)
    assert isinstance(said, dict) and said["ok"] is False, said
    return said


def clean(root: Path, mode: str = "front") -> str:
    """How a load without a fatal error ended ("loaded", or "early")."""
    said = read(root, mode)
    assert isinstance(said, dict) and said["ok"] is True, said
    return str(said["ended"])


def test_a_site_that_loads_is_clean(tmp_path: Path) -> None:
    assert clean(site(tmp_path)) == "loaded"
    assert clean(site(tmp_path / "b"), "admin") == "loaded"


def test_a_plugin_that_fatals_on_load_is_named_with_its_error(tmp_path: Path) -> None:
    root = site(tmp_path, "sk_undefined_function();\n")
    found = scrape.describe(fatal(root), str(root))
    assert found.culprit == "plugin sk-plugin"
    assert found.message == "Uncaught Error: Call to undefined function sk_undefined_function()"
    assert found.where == "wp-content/plugins/sk-plugin/sk-plugin.php:3"


def test_a_plugin_that_fatals_only_in_wp_admin_passes_the_front_and_fails_admin(
    tmp_path: Path,
) -> None:
    root = site(tmp_path, "if (is_admin()) { sk_admin_only(); }\n")
    assert clean(root, "front") == "loaded"
    assert scrape.describe(fatal(root, "admin"), str(root)).culprit == "plugin sk-plugin"


def test_an_error_thrown_in_wordpress_code_is_laid_at_the_plugin_in_the_trace(
    tmp_path: Path,
) -> None:
    # the error is raised in wp-load.php (WordPress's code), called from the plugin
    root = site(tmp_path, "wp_core_helper('sk_no_such_callback');\n", slug="caller")
    found = scrape.describe(fatal(root), str(root))
    assert found.where.startswith("wp-load.php:")
    assert found.culprit == "plugin caller"


def test_a_hostile_message_is_one_safe_line_cut_short(tmp_path: Path) -> None:
    evil = "\\x1b]52;c;ZXZpbA==\\x07\\u{202E}" + "A" * 5000
    root = site(tmp_path, f'throw new Exception("{evil}\\nforged line");\n')
    found = scrape.describe(fatal(root), str(root))
    assert "\x1b" not in found.message and "\u202e" not in found.message
    assert "\n" not in found.message and "forged line" not in found.message
    assert len(found.message) <= scrape.MAX_MESSAGE


def test_a_plugin_that_ends_the_request_itself_did_not_fatal(tmp_path: Path) -> None:
    assert clean(site(tmp_path, "exit;\n")) == "early"


def test_no_result_is_a_failure_in_words() -> None:
    result = CommandResult(("php",), 139, b"", b"Segmentation fault")
    said = scrape.parse(result, "sk-load-x:")
    assert said == "PHP printed no result (exit 139): Segmentation fault"


def test_a_forged_result_before_the_real_one_does_not_count(tmp_path: Path) -> None:
    # a plugin cannot know the marker; one that prints a lookalike is dropped with its output
    root = site(tmp_path, 'echo "\\nsk-load-test:{\\"ok\\":true}\\n"; sk_fatal_after();\n')
    assert fatal(root)["message"]
