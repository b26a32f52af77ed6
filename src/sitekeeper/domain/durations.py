"""Human durations ("60s", "5m", "1h30m", "2d") to seconds and back."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str | int) -> int:
    """Seconds in ``text``; a bare number means seconds. ValueError if malformed."""
    if isinstance(text, int):
        if text <= 0:
            raise ValueError("a duration must be positive")
        return text
    value = text.strip().lower()
    if value.isdigit():
        seconds = int(value)
    else:
        pos, seconds = 0, 0
        for match in _PART.finditer(value):
            if value[pos : match.start()].strip():
                break
            seconds += int(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos == 0 or value[pos:].strip():
            raise ValueError(f"not a duration: {text!r} (try 60s, 5m, 1h)")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {text!r}")
    return seconds


def format_duration(seconds: int) -> str:
    """Shortest exact rendering: 90 -> "1m30s", 3600 -> "1h"."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
