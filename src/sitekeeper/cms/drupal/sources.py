"""Where Drupal.org's release history is (``SITEKEEPER_DRUPAL_UPDATES_URL``, or a mirror)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from sitekeeper.config import extension_settings


class DrupalSources(BaseModel):
    """The release-history service, read for core and every contrib project."""

    drupal_updates_url: str = Field(
        default="https://updates.drupal.org/release-history",
        description="Drupal release history (or a mirror).",
    )


def release_history_base(vendor: Mapping[str, Any]) -> str:
    """The release history's base URL, without a trailing slash."""
    return extension_settings(DrupalSources, vendor).drupal_updates_url.rstrip("/")
