"""The vendors' sample bodies, copied from ../shared/formats so tests stand alone."""

from __future__ import annotations

from pathlib import Path

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def sample(relative: str) -> bytes:
    """The bytes of ``fixtures/formats/<relative>``."""
    return (FORMATS / relative).read_bytes()
