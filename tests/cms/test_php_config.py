"""Reading literal constants and variables from PHP config files, without running them."""

from __future__ import annotations

import pytest

from sitekeeper.cms.php_config import MAX_SOURCE, parse_php_config
from sitekeeper.errors import UsageError

WP_CONFIG_CRLF = (
    "<?php\r\n"
    "/**\r\n * The base configuration for WordPress\r\n"
    " * define( 'DB_NAME', 'in_a_docblock' );\r\n */\r\n"
    "// ** Database settings ** //\r\n"
    "define( 'DB_NAME', 'wp1' );\r\n"
    "define( 'DB_USER', \"wp1\" );\r\n"
    "define( 'DB_PASSWORD', 'p#ss//w\\'rd\\\\x' );\r\n"
    "define( 'DB_HOST', '127.0.0.1:3307' );\r\n"
    "define( 'DB_CHARSET', 'utf8mb4' );\r\n"
    "define('WP_DEBUG', false);\r\n"
    "define( 'WP_MEMORY_LIMIT', 256 );\r\n"
    "$table_prefix = 'wp_';\r\n"
    "if ( ! defined( 'ABSPATH' ) ) {\r\n\tdefine( 'ABSPATH', __DIR__ . '/' );\r\n}\r\n"
    "require_once ABSPATH . 'wp-settings.php';\r\n"
)


def test_wordpress_config_with_crlf_and_quotes() -> None:
    config = parse_php_config(WP_CONFIG_CRLF.encode())
    assert config.constant("DB_NAME") == "wp1"  # not the one in the docblock
    assert config.constant("DB_USER") == "wp1"
    assert config.constant("DB_PASSWORD") == "p#ss//w'rd\\x"  # // inside a string is data
    assert config.constant("DB_HOST") == "127.0.0.1:3307"  # no trailing \r
    assert config.constants["WP_DEBUG"] is False
    assert config.constants["WP_MEMORY_LIMIT"] == 256
    assert config.variable("table_prefix") == "wp_"
    assert config.constant("ABSPATH") is None  # computed, not a literal


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("<?php define('A', 'one'); define('A', 'two');", "A", "one"),  # first define wins
        ("<?php // define('A', 'commented');\ndefine('A', 'real');", "A", "real"),
        ("<?php # define('A', 'hash');\ndefine('A', 'real');", "A", "real"),
        ("<?php /* define('A', 'block'); */ define('A', 'real');", "A", "real"),
        ('<?php define( "A" , "tab\\there" ) ;', "A", "tab\there"),
        ("<?php define('A', \"dollar \\$x\");", "A", "dollar $x"),
        ("<?php define('A', \"interp $x\");", "A", None),  # interpolated: not literal
        ("<?php define('A', getenv('X'));", "A", None),
        ("<?php define('A', 'x' . 'y');", "A", None),  # concatenation is computed
        ("<?php \\define('A', 'ns');", "A", "ns"),
        ("define('A', 'outside php');", "A", None),  # inline HTML, not code
        ("<?php ?> define('A', 'html'); <?php define('A', 'php');", "A", "php"),
        ("<?php // a comment ends at ?> define('A','html'); <?php define('A','x');", "A", "x"),
        ("<?php define('A', 'unterminated);", "A", None),
    ],
)
def test_constants(source: str, name: str, expected: str | None) -> None:
    assert parse_php_config(source).constant(name) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<?php $table_prefix = 'wp_';", "wp_"),
        ("<?php $table_prefix='a'; $table_prefix = 'b';", "b"),  # last assignment wins
        ("<?php $table_prefix = getenv('PREFIX');", None),
        ("<?php $table_prefix = 'wp_' . 'x';", None),
        ("<?php // $table_prefix = 'old_';\n$table_prefix = \"new_\";", "new_"),
        ("<?php $wp_version = '6.1.9';", None),
    ],
)
def test_table_prefix(source: str, expected: str | None) -> None:
    assert parse_php_config(source).variable("table_prefix") == expected


def test_oversized_source_is_refused() -> None:
    with pytest.raises(UsageError, match="larger than"):
        parse_php_config("<?php " + " " * MAX_SOURCE)
