"""Text a client's server sent: made harmless before it is stored, printed or logged.

A hacked site controls its plugin headers, folder names, version strings,
HTTP headers and the stderr of the commands we run there. Such text may carry
terminal escapes (OSC 52 writes the operator's clipboard, CSI 2J clears the
screen), bidi overrides that reorder what a person reads, or newlines that
forge log lines and split table rows. Two rules, two functions:

- ``clean`` when the value is *collected*: control characters are dropped
  (newlines and tabs become spaces), so a name stays one readable line;
- ``shown`` when remote output is *displayed* (an error, a log line): one
  line, every control character visible as an escape (``\\x1b``, ``\\n``),
  cut to a length, so what the server said is recognisably quoted.

``visible`` is the last line of defence at the sinks (tables, ``error:``
lines, logs): controls made visible, nothing else touched.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or
# hide text (bidi embeddings/overrides/isolates, zero-width marks, BOM).
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SPACING = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")  # breaks become spaces
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def clean(text: str, limit: int | None = None) -> str:
    """``text`` as one line without control or reordering characters, optionally cut."""
    if limit is not None and len(text) > limit * 4:
        text = text[: limit * 4]  # bound the work before the regexes run
    result = _CONTROLS.sub("", _SPACING.sub(" ", text)).strip()
    if limit is not None and len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def clean_bytes(data: bytes, limit: int | None = None) -> str:
    """``clean`` of bytes decoded as UTF-8 (undecodable bytes become U+FFFD)."""
    return clean(data.decode("utf-8", errors="replace"), limit)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


_VISIBLE = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def shown(text: str | bytes, limit: int = 300) -> str:
    """Remote text as one quoted-safe line: controls escaped (``\\x1b``), cut to ``limit``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    if len(text) > limit * 4:
        text = text[-limit * 4 :]  # stderr's last lines say what went wrong
    result = _VISIBLE.sub(_escape, text)
    if len(result) > limit:
        result = "…" + result[-(limit - 1) :]
    return result


def visible(text: str, limit: int | None = None) -> str:
    """``text`` on one line with every control or reordering character shown as an escape.

    For sinks (a table cell, an ``error:`` line, a log message) that may hold
    remote text among ours: unlike ``shown`` it leaves backslashes and the ends
    alone, so applying it to text that is already safe changes nothing. Cut at
    the end to ``limit`` if given.
    """
    if limit is not None and len(text) > limit * 4:
        text = text[: limit * 4]
    result = _CONTROLS.sub(_escape, text)
    if limit is not None and len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def server_said(text: str | bytes, limit: int = 300) -> str:
    """``server said: "…"``: remote output marked as such, so it is never taken for ours."""
    return f'server said: "{shown(text, limit)}"'
