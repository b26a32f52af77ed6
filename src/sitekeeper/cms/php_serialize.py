"""A bounded reader for PHP's ``serialize()`` format: scalars, arrays, nothing else.

WordPress stores options such as ``active_plugins`` serialized. The data
comes from a site's database, which may be hacked, so this reads only
null/bool/int/float/string/array, caps size and nesting, and refuses objects
(``O:``/``C:``) outright: nothing is ever instantiated or evaluated.
"""

from __future__ import annotations

from sitekeeper.errors import UsageError

MAX_INPUT = 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 100_000

PhpValue = None | bool | int | float | str | dict[int | str, "PhpValue"]


class PhpSerializeError(UsageError):
    """The input is not PHP-serialized data we accept."""


def unserialize(data: bytes | str) -> PhpValue:
    """The value serialized in ``data`` (arrays become dicts, keys keep their order)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_INPUT:
        raise PhpSerializeError(f"serialized value larger than {MAX_INPUT} bytes")
    reader = _Reader(raw)
    value = reader.value(0)
    if reader.pos != len(raw):
        raise PhpSerializeError(f"trailing data at byte {reader.pos}")
    return value


def string_list(data: bytes | str) -> list[str]:
    """A serialized array of strings (e.g. ``active_plugins``) as a list, in order."""
    value = unserialize(data)
    if not isinstance(value, dict):
        raise PhpSerializeError("expected a serialized array")
    items = list(value.values())
    if not all(isinstance(item, str) for item in items):
        raise PhpSerializeError("expected an array of strings")
    return [str(item) for item in items]


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0
        self.items = 0

    def value(self, depth: int) -> PhpValue:
        if depth > MAX_DEPTH:
            raise PhpSerializeError(f"nested deeper than {MAX_DEPTH}")
        tag = self._take(2)
        if tag == b"N;":
            return None
        if tag == b"b:":
            flag = self._until(b";")
            if flag not in (b"0", b"1"):
                raise PhpSerializeError(f"bad boolean at byte {self.pos}")
            return flag == b"1"
        if tag == b"i:":
            return self._int(self._until(b";"))
        if tag == b"d:":
            return self._float(self._until(b";"))
        if tag == b"s:":
            return self._string()
        if tag == b"a:":
            return self._array(depth)
        raise PhpSerializeError(f"unsupported type {tag!r} at byte {self.pos - 2}")

    def _string(self) -> str:
        length = self._int(self._until(b":"))
        if length < 0 or self.pos + length + 3 > len(self.raw):
            raise PhpSerializeError(f"string length {length} runs past the end")
        self._expect(b'"')
        text = self.raw[self.pos : self.pos + length]
        self.pos += length
        self._expect(b'";')
        return text.decode("utf-8", errors="replace")

    def _array(self, depth: int) -> dict[int | str, PhpValue]:
        count = self._int(self._until(b":"))
        self.items += max(count, 0)
        if count < 0 or self.items > MAX_ITEMS:
            raise PhpSerializeError(f"array of {count} items refused")
        self._expect(b"{")
        result: dict[int | str, PhpValue] = {}
        for _ in range(count):
            key = self.value(depth + 1)
            if not isinstance(key, int | str) or isinstance(key, bool):
                raise PhpSerializeError(f"array key must be int or string at byte {self.pos}")
            result[key] = self.value(depth + 1)
        self._expect(b"}")
        return result

    def _take(self, size: int) -> bytes:
        chunk = self.raw[self.pos : self.pos + size]
        if len(chunk) != size:
            raise PhpSerializeError("unexpected end of data")
        self.pos += size
        return chunk

    def _expect(self, literal: bytes) -> None:
        if self._take(len(literal)) != literal:
            raise PhpSerializeError(f"expected {literal!r} before byte {self.pos}")

    def _until(self, stop: bytes) -> bytes:
        end = self.raw.find(stop, self.pos, self.pos + 32)  # numbers are short
        if end < 0:
            raise PhpSerializeError(f"missing {stop!r} after byte {self.pos}")
        chunk = self.raw[self.pos : end]
        self.pos = end + 1
        return chunk

    def _int(self, text: bytes) -> int:
        if not text.lstrip(b"-+").isdigit():
            raise PhpSerializeError(f"bad integer {text!r}")
        return int(text)

    def _float(self, text: bytes) -> float:
        try:
            return float(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise PhpSerializeError(f"bad float {text!r}") from None
