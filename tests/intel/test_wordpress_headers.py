"""Plugin, theme and readme headers, read the way WordPress reads them."""

from __future__ import annotations

import pytest

from sitekeeper.cms.wordpress.headers import (
    HEADER_BYTES,
    parse_plugin_headers,
    parse_readme,
    parse_theme_headers,
)
from tests.intel.samples import sample


def test_akismet_plugin_header() -> None:
    headers = parse_plugin_headers(sample("wordpress/plugin_header_akismet_5.7.2.php.txt"))
    assert headers is not None
    assert (headers.name, headers.version) == ("Akismet Anti-spam: Spam Protection", "5.7.2")
    assert headers.get("requires_wp") == "5.8"
    assert headers.get("requires_php") == "7.2"
    assert headers.get("text_domain") == "akismet"
    assert headers.get("author") == "Automattic - Anti-spam Team"
    assert headers.get("update_uri") is None


def test_hello_dolly_header_ignores_the_docblock_tag() -> None:
    headers = parse_plugin_headers(sample("wordpress/plugin_header_hello.php.txt"))
    assert headers is not None
    assert (headers.name, headers.version) == ("Hello Dolly", "1.7.2")
    assert headers.get("author_uri") == "http://ma.tt/"


def test_theme_header() -> None:
    headers = parse_theme_headers(sample("wordpress/theme_header_twentytwentyfive_1.5_style.css"))
    assert headers is not None
    assert (headers.name, headers.version) == ("Twenty Twenty-Five", "1.5")
    assert headers.get("requires_wp") == "6.7"
    assert headers.get("tested_up_to") == "7.1"
    assert headers.get("template") is None  # not a child theme


def test_readme_stable_tag() -> None:
    readme = parse_readme(sample("wordpress/plugin_readme_akismet.txt"))
    assert readme.name == "Akismet Anti-spam: Spam Protection"
    assert readme.version == "5.7.2"
    assert readme.get("tested_up_to") == "7.1"


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("<?php\n/*\nPlugin Name: A\nVersion: 1.0\n*/", "A", "1.0"),
        ("<?php\n/**\n * Plugin Name: B\n * Version: 2.0.1\n */", "B", "2.0.1"),
        ("<?php // Plugin Name: C */\n# Version: 3 ?>", "C", "3"),
        ("<?php\r\n/*\r\nplugin name: D\r\nVERSION: 4.0\r\n*/", "D", "4.0"),
        ("<?php\n/*\nPlugin Name: E\n*/", "E", None),
    ],
)
def test_plugin_header_variants(text: str, name: str, version: str | None) -> None:
    headers = parse_plugin_headers(text)
    assert headers is not None
    assert (headers.name, headers.version) == (name, version)


@pytest.mark.parametrize(
    "text", ["<?php echo 'hi';", "", "\x00\x01\x02 binary", "Plugin Nam: x", "Version: 1.0"]
)
def test_not_a_plugin_main_file(text: str) -> None:
    assert parse_plugin_headers(text) is None


def test_only_the_first_8_kb_counts() -> None:
    late = "<?php\n" + "/" * HEADER_BYTES + "\n/* Plugin Name: Late */"
    assert parse_plugin_headers(late) is None
    early = "<?php\n/* Plugin Name: Early */\n" + "x" * HEADER_BYTES * 4
    headers = parse_plugin_headers(early)
    assert headers is not None
    assert headers.name == "Early"


def test_theme_without_name_is_ignored() -> None:
    assert parse_theme_headers("/* Version: 1.0 */") is None
