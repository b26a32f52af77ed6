"""Joomla 5.1+'s TUF ``targets.json``: the ``custom`` update data of each target.

Only parsing: signatures, expiry and the root/timestamp/snapshot chain are
verified by python-tuf in the fetch step, which hands this module the bytes of
an already trusted ``targets.json``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sitekeeper.cms.joomla.updates import TargetPlatform, compile_platform_pattern
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TufDownload(_Model):
    """A package URL of a release."""

    url: str
    format: str
    type: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("download URL is not http(s)")
        return value


class TufTargetPlatform(_Model):
    """``targetplatform`` as in the XML format: a regex over the installed version."""

    name: str
    version: str


class TufUpdateInfo(_Model):
    """The ``custom`` member: what the XML format's ``<update>`` says, in JSON."""

    name: str
    version: str
    stability: str  # "Stable", "RC", "Beta", "Alpha"
    channel: str  # "5.x", "6.x"
    element: str
    type: str
    client: str | None = None
    description: str | None = None
    php_minimum: str | None = None
    downloads: list[TufDownload]
    targetplatform: TufTargetPlatform
    supported_databases: dict[str, str] = Field(default_factory=dict)
    infourl: dict[str, str] = Field(default_factory=dict)


class TufTarget(_Model):
    """One target file: its length, hashes and update data."""

    length: int = Field(ge=0)
    hashes: dict[str, str]
    custom: TufUpdateInfo

    @field_validator("hashes")
    @classmethod
    def _hex(cls, value: dict[str, str]) -> dict[str, str]:
        if not value or not all(re.fullmatch(r"[0-9a-f]{32,128}", h) for h in value.values()):
            raise ValueError("hashes must be lower-case hex digests")
        return value


class _Signed(_Model):
    type: Literal["targets"] = Field(alias="_type")
    spec_version: str
    version: int
    expires: str
    targets: dict[str, TufTarget]


class _Envelope(_Model):
    signed: _Signed


class TufRelease(_Model):
    """A target with its file name and compiled target platform."""

    filename: str
    length: int
    hashes: dict[str, str]
    info: TufUpdateInfo
    metadata_version: int

    def platform(self) -> TargetPlatform:
        """The target platform, matched like Joomla does (prefix regex)."""
        tp = self.info.targetplatform
        what = f"Joomla TUF target {self.filename}"
        return TargetPlatform(tp.name, tp.version, compile_platform_pattern(tp.version, what=what))


def parse_update_info(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> TufUpdateInfo:
    """A bare ``custom`` object, as in Joomla's ``update-info`` templates for new releases."""
    what = "Joomla TUF update info"
    info = validate(TufUpdateInfo, load_json(data, what=what, max_bytes=max_bytes), what=what)
    compile_platform_pattern(info.targetplatform.version, what=what)
    return info


def parse_tuf_targets(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[TufRelease]:
    """Every target of a (verified) ``targets.json``; InvalidFeed on any wrong shape."""
    what = "Joomla TUF targets"
    envelope = validate(_Envelope, load_json(data, what=what, max_bytes=max_bytes), what=what)
    releases = []
    for filename, target in envelope.signed.targets.items():
        compile_platform_pattern(target.custom.targetplatform.version, what=what)
        releases.append(
            TufRelease(
                filename=filename,
                length=target.length,
                hashes=target.hashes,
                info=target.custom,
                metadata_version=envelope.signed.version,
            )
        )
    if not releases:
        raise InvalidFeed(f"{what}: no targets")
    return releases
