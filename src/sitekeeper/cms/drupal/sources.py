"""Where Drupal.org's release history is (``SITEKEEPER_DRUPAL_UPDATES_URL``, or a mirror),
and where a core update's build comes from (``drupal.core_build``)."""

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
    drupal_core_build_url: str = Field(
        default="",
        description="A prebuilt Drupal core update (vendor/, core/, composer.lock as a zip; "
        "{version} is replaced) with its sha256 at the same URL plus .sha256; empty: Composer "
        "on this host builds it.",
    )
    drupal_composer: str = Field(
        default="composer",
        description="The Composer that builds Drupal core updates from a site's composer files.",
    )


def release_history_base(vendor: Mapping[str, Any]) -> str:
    """The release history's base URL, without a trailing slash."""
    return extension_settings(DrupalSources, vendor).drupal_updates_url.rstrip("/")
