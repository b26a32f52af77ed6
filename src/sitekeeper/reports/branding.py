"""White-label settings for reports: the agency's name, logo, colours, contact and footer,
and the dashboard's public address the report's links point to. One app setting
(``app_settings`` row ``branding``), set from the CLI or the dashboard's settings page.

The logo is a PNG or JPEG only, decoded by Pillow before it is kept: an SVG is a document
that can carry script, event handlers and references to other URLs (which a report that
must fetch nothing would follow), and sanitising one safely needs a full allow-list
sanitiser; a raster image carries none of that, and a PDF embeds it as it is.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Annotated, Any

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.store.users import get_setting, put_setting

KEY = "branding"
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 4000  # pixels: a bigger image is a mistake, or a decompression bomb
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_URL = re.compile(r"^https?://[^\s/?#<>\"']+(?:/[^\s?#<>\"']*)?$")

Text = Annotated[str, Field(max_length=300)]


class Branding(BaseModel):
    """How the agency's reports look (empty texts: left out)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agency_name: Annotated[str, Field(max_length=120)] = ""
    primary: str = "#1d4e89"  # headings, the cover band
    accent: str = "#e07a1f"  # the response-time chart's p95 line, highlights
    contact: Text = ""
    footer: Text = ""
    public_url: Annotated[str, Field(max_length=300)] = ""  # the dashboard, for the links
    logo: str = ""  # base64 of a PNG or JPEG
    logo_type: str = ""

    @field_validator("primary", "accent")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _HEX.match(value.strip()):
            raise ValueError(f"not a colour like #1d4e89: {value!r}")
        return value.strip().lower()

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not _URL.match(value):
            raise ValueError(f"not an http(s) address like https://care.agency.example: {value!r}")
        return value

    @field_validator("agency_name", "contact", "footer")
    @classmethod
    def _line(cls, value: str) -> str:
        return " ".join(value.split())  # one line: no control characters or layout tricks

    @property
    def logo_uri(self) -> str | None:
        """The logo as a ``data:`` URI (the report fetches nothing), None without one."""
        if not self.logo or self.logo_type not in LOGO_TYPES.values():
            return None
        return f"data:{self.logo_type};base64,{self.logo}"

    def link(self, path: str) -> str:
        """A dashboard address (``/sites/3``) under the public URL; root-relative without one."""
        return f"{self.public_url}{path}"


def checked_logo(data: bytes) -> tuple[bytes, str]:
    """The logo's bytes and media type if they are one PNG or JPEG within the caps;
    UsageError otherwise."""
    if len(data) > MAX_LOGO_BYTES:
        raise UsageError(f"the logo is over {MAX_LOGO_BYTES // 1024} KiB: make it smaller")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            if kind not in LOGO_TYPES:
                raise UsageError(f"the logo must be a PNG or JPEG image, not {kind or 'this'}")
            if max(width, height) > MAX_LOGO_SIDE:
                raise UsageError(f"the logo is over {MAX_LOGO_SIDE} pixels wide or high")
            image.verify()  # decodes the whole file: a truncated or forged one fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UsageError("the logo is not a readable PNG or JPEG image") from None
    return data, LOGO_TYPES[kind]


def load(session: Session) -> Branding:
    """The stored branding (defaults where unset or no longer valid)."""
    try:
        return Branding.model_validate(get_setting(session, KEY))
    except ValidationError:
        return Branding()


def save(session: Session, changes: dict[str, Any], logo: bytes | None = None) -> Branding:
    """Store ``changes`` over the current branding (a new ``logo`` checked first;
    ``remove_logo`` in changes drops it); UsageError naming what is wrong."""
    current = load(session).model_dump()
    if changes.pop("remove_logo", False):
        current.update(logo="", logo_type="")
    current.update({k: v for k, v in changes.items() if v is not None})
    if logo is not None:
        data, kind = checked_logo(logo)
        current.update(logo=base64.b64encode(data).decode("ascii"), logo_type=kind)
    try:
        branding = Branding.model_validate(current)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid branding: {problems}") from None
    put_setting(session, KEY, branding.model_dump())
    return branding


def logo_bytes(branding: Branding) -> bytes:
    """The stored logo's bytes (empty without one)."""
    try:
        return base64.b64decode(branding.logo, validate=True) if branding.logo else b""
    except binascii.Error:
        return b""
