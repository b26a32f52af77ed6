"""What a hacked server sends is made harmless: no escape byte survives, one line stays one line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.domain.untrusted import clean, clean_bytes, server_said, shown

HOSTILE = [
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07",  # OSC 52: write the clipboard
    "\x1b[2J\x1b[H",  # CSI: clear the screen
    "\x1b]0;owned\x07",  # OSC 0: window title
    "\x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x9b31m",  # C1 CSI
    "evil\u202egnp.exe",  # bidi override
    "nl\nINJECTED",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_clean_leaves_no_control_or_reordering_character(text: str) -> None:
    result = clean(text)
    assert "\x1b" not in result
    assert "\x9b" not in result
    assert "\n" not in result
    assert "\u202e" not in result
    assert all(ch.isprintable() for ch in result)


def test_clean_keeps_ordinary_text_and_turns_line_breaks_into_spaces() -> None:
    assert clean("Bäckerei Müller 1.2.3") == "Bäckerei Müller 1.2.3"
    assert clean("nl\nINJECTED") == "nl INJECTED"
    assert clean("  padded\t") == "padded"


def test_clean_cuts_to_the_limit_with_an_ellipsis() -> None:
    assert clean("x" * 500, 10) == "x" * 9 + "…"
    assert clean_bytes(b"caf\xc3\xa9 \xff", 20) == "café \ufffd"


def test_shown_makes_controls_visible_on_one_line() -> None:
    assert shown("a\x1b[2Jb\nc") == "a\\x1b[2Jb\\nc"
    assert shown(b"ERROR 1045\r\n") == "ERROR 1045"
    assert shown("back\\slash") == "back\\\\slash"
    # a forged log line stays visibly one quoted line
    said = server_said("oops\n2026-12-06 INFO sitekeeper: task 99: ok")
    assert said.startswith('server said: "') and "\n" not in said


def test_shown_keeps_the_end_of_long_output() -> None:
    text = "noise " * 1000 + "the real error"
    result = shown(text, 50)
    assert len(result) == 50
    assert result.endswith("the real error")


@given(st.text())
def test_no_control_character_survives_either_function(text: str) -> None:
    for result in (clean(text), shown(text)):
        assert not any(0 <= ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in result)
