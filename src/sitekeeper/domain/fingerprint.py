"""What a site reveals about its software from outside, and how sure we are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Fingerprint:
    """The CMS and version a site appears to run, with the evidence used.

    ``version`` is set only when the evidence pins one release; otherwise
    ``candidates`` lists the releases the evidence still allows (possibly a
    range such as ``">=6.4 <6.5"``), so matching can report "possible".
    """

    url: str
    cms: str | None
    version: str | None = None
    candidates: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape."""
        return {
            "url": self.url,
            "cms": self.cms,
            "version": self.version,
            "candidates": list(self.candidates),
            "evidence": list(self.evidence),
            "error": self.error,
        }
