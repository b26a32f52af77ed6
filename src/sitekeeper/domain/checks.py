"""What an uptime check asks for and what it found.

The error categories are a stable contract (CLI ``--json``, API, journal):
add new ones, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ErrorCategory(StrEnum):
    """Why a check failed, in a few stable words."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    TLS = "tls"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    HTTP_STATUS = "http_status"
    KEYWORD_MISSING = "keyword_missing"
    FORBIDDEN_CONTENT = "forbidden_content"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_RESPONSE = "invalid_response"


# Small integer codes for compact raw storage; never reuse a number.
ERROR_CODES: dict[ErrorCategory | None, int] = {
    None: 0,
    ErrorCategory.TIMEOUT: 1,
    ErrorCategory.DNS: 2,
    ErrorCategory.REFUSED: 3,
    ErrorCategory.RESET: 4,
    ErrorCategory.TLS: 5,
    ErrorCategory.TOO_MANY_REDIRECTS: 6,
    ErrorCategory.HTTP_STATUS: 7,
    ErrorCategory.KEYWORD_MISSING: 8,
    ErrorCategory.FORBIDDEN_CONTENT: 9,
    ErrorCategory.BODY_TOO_LARGE: 10,
    ErrorCategory.INVALID_RESPONSE: 11,
}
ERROR_BY_CODE: dict[int, ErrorCategory | None] = {v: k for k, v in ERROR_CODES.items()}


# A site's private CA: checks and fingerprints declare it alike (see FingerprintOptions).
CaBundle = Annotated[str | None, Field(description="PEM file of CAs to trust.")]


class CheckOptions(BaseModel):
    """Per-site check settings, stored as validated JSON on the site."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST"] = "GET"
    timeout: float | None = Field(default=None, gt=0, le=120, description="Total deadline (s).")
    accept_status: list[str] = Field(
        default_factory=lambda: ["200-399"],
        description="Accepted status codes or ranges, e.g. 200, 200-299.",
    )
    keyword: str | None = Field(default=None, description="Text that must appear in the body.")
    forbidden: list[str] = Field(
        default_factory=list, description="Words that must not appear (defacement, spam)."
    )
    ca_bundle: CaBundle = None
    verify_tls: bool = True
    max_redirects: int | None = Field(default=None, ge=0, le=30)

    @field_validator("accept_status")
    @classmethod
    def _valid_ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_status_range(item)
        return value

    def accepts(self, status: int) -> bool:
        """Whether an HTTP status counts as up."""
        for item in self.accept_status:
            low, high = parse_status_range(item)
            if low <= status <= high:
                return True
        return False


PROBE_KEY = "probe"  # the check kind's key in a site's stored check options
KEY_PAGES_KEY = "key_pages"  # the content checks' key pages, kept beside (domain.key_pages)
DEFAULT_PROBE = "http"


def split_check(stored: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """A site's stored check options as (check kind, that probe's own options).

    The kind picks the probe (``probes.registry``); HTTP sites store none. The key pages
    are the content checks', not the probe's.
    """
    options = dict(stored or {})
    kind = options.pop(PROBE_KEY, None)
    options.pop(KEY_PAGES_KEY, None)
    return (kind if isinstance(kind, str) and kind else DEFAULT_PROBE), options


def web_check_options(stored: Mapping[str, Any] | None) -> CheckOptions:
    """How a site's check trusts its web server (TLS verification, private CA), for
    whatever else fetches its pages (fingerprints): its HTTP check options, or the
    defaults when another kind of probe checks it."""
    kind, options = split_check(stored)
    return CheckOptions.model_validate(options) if kind == DEFAULT_PROBE else CheckOptions()


def parse_status_range(text: str) -> tuple[int, int]:
    """``"200"`` -> (200, 200); ``"200-299"`` -> (200, 299); ValueError otherwise."""
    parts = str(text).strip().split("-")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"not a status code or range: {text!r}")
    low, high = int(parts[0]), int(parts[-1])
    if not (100 <= low <= high <= 599):
        raise ValueError(f"status range out of 100-599: {text!r}")
    return low, high


@dataclass(slots=True)
class TlsInfo:
    """The certificate a site presented (or why it could not be verified)."""

    valid: bool
    expires: datetime | None = None
    days_left: int | None = None
    issuer: str | None = None
    subject: str | None = None
    error: str | None = None


@dataclass(slots=True)
class CheckResult:
    """One check of one URL."""

    url: str
    up: bool
    status: int | None
    error: ErrorCategory | None
    response_ms: int | None
    checked_at: datetime
    tls: TlsInfo | None = None
    detail: str | None = None
    final_url: str | None = None
    ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape."""
        tls = None
        if self.tls is not None:
            tls = asdict(self.tls)
            tls["expires"] = self.tls.expires.isoformat() if self.tls.expires else None
        return {
            "url": self.url,
            "up": self.up,
            "status": self.status,
            "error": str(self.error) if self.error else None,
            "detail": self.detail,
            "response_ms": self.response_ms,
            "checked_at": self.checked_at.isoformat(),
            "tls": tls,
        }
