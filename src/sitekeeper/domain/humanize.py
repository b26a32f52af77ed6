"""Values as people read them: sizes, durations, counts, short ids and capped lists.

Shared by the journal's wording, the dashboard and (later) client reports. Forgiving:
stored data may be old or odd, so a bad value reads as ``–``, never raises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NOTHING = "–"
SHORT_ID = 8  # restic's short snapshot ids


def _finite(value: object) -> float | None:
    """A real number (bools and NaN/inf are not figures), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def size(count: float | None) -> str:
    """Bytes as ``12.3 MiB`` (binary units, as restic reports them)."""
    value = _finite(count)
    if value is None:
        return NOTHING
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def seconds(value: float | None) -> str:
    """``0.4 s``, ``32.5 s``, ``3 min 5 s``, ``2 h 5 min``, ``3 d 4 h``: two units at most."""
    number = _finite(value)
    if number is None:
        return NOTHING
    number = max(0.0, number)
    if round(number, 1) < 60:
        return f"{round(number, 1):g} s"
    rest = round(number)
    parts: list[str] = []
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, rest = divmod(rest, length)
        if amount or parts:
            parts.append(f"{amount} {unit}")
    shown = parts[:2]
    if len(shown) == 2 and shown[1].startswith("0 "):
        shown = shown[:1]
    return " ".join(shown)


def count(value: float | None) -> str:
    """``18,040``; fractions keep up to three significant decimals (``2.5``)."""
    number = _finite(value)
    if number is None:
        return NOTHING
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.3f}".rstrip("0").rstrip(".")


def plural(amount: float, word: str, words: str | None = None) -> str:
    """``1 file``, ``18,040 files``."""
    return f"{count(amount)} {word if amount == 1 else (words or word + 's')}"


def short_id(value: object, length: int = SHORT_ID) -> str:
    """A snapshot or commit id as its first ``length`` characters."""
    return str(value)[:length] if value else NOTHING


def clip(value: object, limit: int = 120) -> str:
    """One line of at most ``limit`` characters (whitespace folded, ``…`` where cut)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def listing(items: Sequence[str], cap: int = 5) -> str:
    """``a, b, c and 2 more``: the first ``cap`` items, then how many were left out."""
    present = [item for item in items if item]
    shown, left = present[:cap], len(present) - cap
    if not shown:
        return ""
    return ", ".join(shown) + (f" and {count(left)} more" if left > 0 else "")
