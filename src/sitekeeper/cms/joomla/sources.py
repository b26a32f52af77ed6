"""Where Joomla's update services are: the legacy XML list and the TUF repository of 5.1+
(``SITEKEEPER_JOOMLA_UPDATE_URL``, ``_TUF_URL``, ``_TUF_ROOT``; mirrors may stand in)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sitekeeper.config import extension_settings


class JoomlaSources(BaseModel):
    """TUF is read only with a trusted root configured: without one it proves nothing."""

    joomla_update_url: str = Field(
        default="https://update.joomla.org/core/list.xml", description="Joomla core update list."
    )
    joomla_core_details_url: str = Field(
        default="https://update.joomla.org/core/sts/extension_sts.xml",
        description="Joomla core update XML naming each release's Update_Package and digests.",
    )
    joomla_tuf_url: str = Field(
        default="https://update.joomla.org/cms/", description="Joomla 5.1+ TUF repository."
    )
    joomla_tuf_root: Path | None = Field(
        default=None, description="Trusted root.json of Joomla's TUF repository."
    )
    joomla_tuf_state: Path | None = Field(
        default=None,
        description="TUF metadata kept between hash-learning runs (default: next to the cache).",
    )


def joomla_sources(vendor: Mapping[str, Any]) -> JoomlaSources:
    """Joomla's settings from the values no core setting claimed."""
    return extension_settings(JoomlaSources, vendor)
