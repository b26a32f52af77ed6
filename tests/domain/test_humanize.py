"""Values as people read them: sizes, durations, counts, ids and capped lists."""

from __future__ import annotations

import pytest

from sitekeeper.domain.humanize import clip, count, listing, plural, seconds, short_id, size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "–"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (2_550_000, "2.4 MiB"),
        (1_900_000_000, "1.8 GiB"),
        (5 * 1024**4, "5.0 TiB"),
        (float("nan"), "–"),
        (True, "–"),
    ],
)
def test_size(value: float | None, expected: str) -> None:
    assert size(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "–"),
        (0, "0 s"),
        (0.04, "0 s"),
        (3.25, "3.2 s"),
        (32.5, "32.5 s"),
        (59.97, "1 min"),
        (185, "3 min 5 s"),
        (180, "3 min"),
        (7500, "2 h 5 min"),
        (7230, "2 h"),
        (86400 * 3 + 3600 * 4 + 59, "3 d 4 h"),
        (-5, "0 s"),
        (float("inf"), "–"),
    ],
)
def test_seconds(value: float | None, expected: str) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(18_040, "18,040"), (0, "0"), (2.5, "2.5"), (1_000_000.0, "1,000,000"), (None, "–")],
)
def test_count(value: float | None, expected: str) -> None:
    assert count(value) == expected


def test_plural_short_id_and_clip() -> None:
    assert plural(1, "file") == "1 file"
    assert plural(18_040, "file") == "18,040 files"
    assert plural(2, "advisory", "advisories") == "2 advisories"
    assert short_id("59510d91a04a7c2e") == "59510d91"
    assert short_id(None) == "–"
    assert clip("a\n  b\tc") == "a b c"
    assert clip("x" * 50, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("items", "cap", "expected"),
    [
        ([], 5, ""),
        (["a"], 5, "a"),
        (["a", "b", "c"], 3, "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, "a, b, c and 2 more"),
        (["", "a", "", "b"], 1, "a and 1 more"),
    ],
)
def test_listing(items: list[str], cap: int, expected: str) -> None:
    assert listing(items, cap) == expected
