"""Where WordPress.org's services are: the one setting of this CMS, so a mirror can stand in
(``SITEKEEPER_WORDPRESS_API_URL``; tests point it at loopback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from sitekeeper.config import extension_settings


class WordPressSources(BaseModel):
    """The API that serves version-check, stable-check, checksums and the directories."""

    wordpress_api_url: str = Field(
        default="https://api.wordpress.org", description="WordPress.org API (or a mirror)."
    )


def api_base(vendor: Mapping[str, Any]) -> str:
    """The API's base URL, without a trailing slash."""
    return extension_settings(WordPressSources, vendor).wordpress_api_url.rstrip("/")
