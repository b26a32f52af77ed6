"""The bounded PHP unserialize reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.cms.php_serialize import (
    MAX_DEPTH,
    PhpSerializeError,
    string_list,
    unserialize,
)


def _serialize_list(items: list[str]) -> bytes:
    """PHP's serialize() of a list of strings (lengths are in bytes)."""
    body = b"".join(
        b'i:%d;s:%d:"%s";' % (i, len(s.encode()), s.encode()) for i, s in enumerate(items)
    )
    return b"a:%d:{%s}" % (len(items), body)


def test_active_plugins_from_wordpress() -> None:
    raw = b'a:2:{i:0;s:19:"akismet/akismet.php";i:1;s:27:"xrds-simple/xrds-simple.php";}'
    assert string_list(raw) == ["akismet/akismet.php", "xrds-simple/xrds-simple.php"]
    assert string_list(b"a:0:{}") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"N;", None),
        (b"b:1;", True),
        (b"b:0;", False),
        (b"i:-42;", -42),
        (b"d:0.5;", 0.5),
        (b's:5:"a";b"";', 'a";b"'),  # length-prefixed: quotes inside are data
        (b's:4:"\xc3\xa9\xc3\xa9";', "éé"),
        (b'a:2:{s:1:"k";a:1:{i:0;b:1;}i:7;N;}', {"k": {0: True}, 7: None}),
    ],
)
def test_values(raw: bytes, expected: object) -> None:
    assert unserialize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'O:8:"stdClass":0:{}', "unsupported type"),
        (b'C:3:"Foo":0:{}', "unsupported type"),
        (b's:100:"short";', "runs past the end"),
        (b"a:99999999:{}", "refused"),
        (b'a:1:{i:0;s:1:"x";', "end of data"),
        (b"i:1;garbage", "trailing data"),
        (b"i:12345678901234567890123456789012345;", "missing"),
        (b"a:1:{a:0:{}i:1;}", "key must be int or string"),
        (b"b:2;", "bad boolean"),
        (b"", "end of data"),
    ],
)
def test_hostile_or_broken_input_is_rejected(raw: bytes, message: str) -> None:
    with pytest.raises(PhpSerializeError, match=message):
        unserialize(raw)


def test_nesting_is_bounded() -> None:
    deep = b"a:1:{i:0;" * (MAX_DEPTH + 2) + b"N;" + b"}" * (MAX_DEPTH + 2)
    with pytest.raises(PhpSerializeError, match="nested deeper"):
        unserialize(deep)


def test_string_list_rejects_non_strings() -> None:
    with pytest.raises(PhpSerializeError, match="array of strings"):
        string_list(b"a:1:{i:0;i:5;}")
    with pytest.raises(PhpSerializeError, match="expected a serialized array"):
        string_list(b's:1:"x";')


@given(st.lists(st.text(max_size=40), max_size=30))
def test_round_trip_of_string_lists(items: list[str]) -> None:
    assert string_list(_serialize_list(items)) == items
