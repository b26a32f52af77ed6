"""Hostile and broken feeds are rejected with InvalidFeed by every parser, never half-read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sitekeeper.cms.drupal import releases as drupal_releases
from sitekeeper.cms.joomla import security as joomla_security
from sitekeeper.cms.joomla import tuf as joomla_tuf
from sitekeeper.cms.joomla import updates as joomla_updates
from sitekeeper.cms.wordpress import api as wordpress_api
from sitekeeper.cms.wordpress import wordfence
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel import osv
from sitekeeper.intel.payload import load_json, parse_xml
from tests.intel.samples import sample

Parser = Callable[..., Any]

XML_PARSERS: list[tuple[Parser, str]] = [
    (joomla_updates.parse_update_server, "joomla/legacy_extension_sts_3.9.6.xml"),
    (joomla_updates.parse_collection, "joomla/legacy_core_list.xml"),
    (
        joomla_security.parse_security_feed,
        "joomla/security_centre_feed_2021-01-05_reconstructed.xml",
    ),
    (drupal_releases.parse_release_history, "drupal/fixture_drupal.sec.8.1.2_insecure.xml"),
]
JSON_PARSERS: list[tuple[Parser, str]] = [
    (wordpress_api.parse_version_check, "wordpress/version-check-1.7_upgrade_6.7_en_CA.json"),
    (wordpress_api.parse_core_checksums, "wordpress/checksums-1.0_6.7.1_en_US.RECONSTRUCTED.json"),
    (
        wordpress_api.parse_plugins_update_check,
        "wordpress/plugins-update-check-1.1_response_update.json",
    ),
    (joomla_tuf.parse_tuf_targets, "joomla/tuf_targets.json"),
    (osv.parse_osv, "advisories/DRUPAL-CORE-2020-012.json"),
    (wordfence.parse_wordfence, "advisories/wordfence_v2_record_shape.json"),
]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<updates><update><name>&lol9;</name></update></updates>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE updates [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<updates><update><name>&xxe;</name></update></updates>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE updates SYSTEM "http://127.0.0.1:1/evil.dtd">
<updates/>"""

HOSTILE_XML = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "not XML": b"this is not xml",
    "empty": b"",
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize(("parse", "_name"), XML_PARSERS)
@pytest.mark.parametrize("body", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
def test_xml_parsers_reject_hostile_documents(parse: Parser, _name: str, body: bytes) -> None:
    with pytest.raises(InvalidFeed):
        parse(body)


@pytest.mark.parametrize(("parse", "name"), XML_PARSERS)
def test_xml_parsers_reject_truncated_documents(parse: Parser, name: str) -> None:
    whole = sample(name)
    with pytest.raises(InvalidFeed, match="well-formed"):
        parse(whole[: len(whole) // 2])


@pytest.mark.parametrize(("parse", "name"), XML_PARSERS + JSON_PARSERS)
def test_parsers_reject_bodies_over_the_cap(parse: Parser, name: str) -> None:
    whole = sample(name)
    with pytest.raises(InvalidFeed, match="limit"):
        parse(whole, max_bytes=len(whole) - 1)
    assert parse(whole, max_bytes=len(whole)) is not None  # the cap is inclusive


def test_default_cap_is_20_mb() -> None:
    with pytest.raises(InvalidFeed, match="limit"):
        load_json(b" " * (20 * 1024 * 1024 + 1), what="t")


@pytest.mark.parametrize(("parse", "name"), JSON_PARSERS)
def test_json_parsers_reject_truncated_bodies(parse: Parser, name: str) -> None:
    whole = sample(name)
    with pytest.raises(InvalidFeed, match="JSON"):
        parse(whole[: len(whole) // 2])


HOSTILE_JSON = {
    "not JSON": b"<html>502 Bad Gateway</html>",
    "empty": b"",
    "null": b"null",
    "number": b"42",
    "string": b'"offers"',
    "NaN": b'{"offers": NaN}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "huge integer": b'{"offers": ' + b"9" * 10_000 + b"}",
    "invalid UTF-8": b'{"offers": "\xff\xfe"}',
}


@pytest.mark.parametrize(("parse", "_name"), JSON_PARSERS)
@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_json_parsers_reject_garbage(parse: Parser, _name: str, body: bytes) -> None:
    with pytest.raises(InvalidFeed):
        parse(body)


def test_wrong_json_types_name_the_field() -> None:
    with pytest.raises(InvalidFeed, match="offers"):
        wordpress_api.parse_version_check(b'{"offers": "6.7.1"}')
    with pytest.raises(InvalidFeed, match=r"offers\.0\.packages"):
        wordpress_api.parse_version_check(
            b'{"offers": [{"response": "latest", "version": "6.7.1", "locale": "en_US",'
            b' "download": "https://x", "packages": "full", "php_version": "7.2",'
            b' "mysql_version": "5.5"}]}'
        )


def test_invalid_feed_is_permanent() -> None:
    with pytest.raises(InvalidFeed) as caught:
        parse_xml(BILLION_LAUGHS, what="t")
    assert caught.value.permanent is True
    assert "hostile" in str(caught.value)


@pytest.mark.parametrize(
    ("parse", "body", "words"),
    [
        (joomla_updates.parse_update_server, b"<extensionset/>", "expected <updates>"),
        (joomla_updates.parse_collection, b"<updates/>", "expected <extensionset>"),
        (drupal_releases.parse_release_history, b"<rss/>", "expected <project>"),
        (joomla_security.parse_security_feed, b"<project/>", "expected <rss>"),
    ],
)
def test_a_feed_of_the_wrong_kind_is_rejected(parse: Parser, body: bytes, words: str) -> None:
    with pytest.raises(InvalidFeed, match=words):
        parse(body)
