"""Wordfence Intelligence v2 vulnerability records (WordPress core, plugins, themes).

Each software entry lists ``affected_versions`` ranges with explicit
inclusiveness at both ends (``*`` meaning "from the first" or "every"), which
maps exactly onto our ranges without guessing at the fixed version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType, severity_from_score
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.advisory_formats import ADVISORY_FORMATS
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Span(_Model):
    from_version: str
    from_inclusive: bool
    to_version: str
    to_inclusive: bool


class _Software(_Model):
    type: Literal["core", "plugin", "theme"]
    name: str
    slug: str = Field(min_length=1)
    affected_versions: dict[str, _Span]
    patched: bool = False
    patched_versions: list[str] = Field(default_factory=list)


class _Cvss(_Model):
    vector: str | None = None
    score: float | None = None
    rating: str | None = None


class _Record(_Model):
    id: str = Field(min_length=1)
    title: str
    software: list[_Software] = Field(min_length=1)
    description: str | None = None
    references: list[str] = Field(default_factory=list)
    cvss: _Cvss | None = None
    cve: str | None = None
    published: datetime | None = None
    updated: datetime | None = None

    @field_validator("published", "updated", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Wordfence writes "2025-07-03 00:20:54" in UTC without saying so."""
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


_TYPES = {"core": PackageType.CORE, "plugin": PackageType.PLUGIN, "theme": PackageType.THEME}


def _range(span: _Span) -> VersionRange:
    low = None if span.from_version == "*" else span.from_version
    if span.to_version == "*":
        return VersionRange(introduced=low, introduced_exclusive=not span.from_inclusive)
    return VersionRange(
        introduced=low,
        introduced_exclusive=low is not None and not span.from_inclusive,
        last_affected=span.to_version if span.to_inclusive else None,
        fixed=None if span.to_inclusive else span.to_version,
    )


def _advisory(record: _Record) -> Advisory:
    packages = []
    for software in record.software:
        ranges = tuple(_range(span) for span in software.affected_versions.values())
        packages.append(
            AffectedPackage(
                ecosystem=WORDPRESS,
                slug="wordpress" if software.type == "core" else software.slug,
                type=_TYPES[software.type],
                ranges=AffectedRanges(WORDPRESS, ranges),
                patched_versions=tuple(software.patched_versions),
            )
        )
    cvss = record.cvss or _Cvss()
    return Advisory(
        id=record.id,
        aliases=(record.cve,) if record.cve else (),
        summary=record.title,
        severity=(cvss.rating or "").lower() or severity_from_score(cvss.score),
        cvss_score=cvss.score,
        cvss_vector=cvss.vector,
        published=record.published,
        modified=record.updated,
        affected=tuple(packages),
        references=tuple(record.references),
        source="wordfence",
    )


def parse_wordfence(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Advisory]:
    """The feed (an object of id -> record); InvalidFeed if any record is malformed."""
    what = "Wordfence Intelligence feed"
    records = validate(
        dict[str, _Record], load_json(data, what=what, max_bytes=max_bytes), what=what
    )
    for key, record in records.items():
        if key != record.id:
            raise InvalidFeed(f"{what}: record {key!r} carries id {record.id!r}")
    return [_advisory(record) for record in records.values()]


class WordfenceFormat:
    """The Wordfence Intelligence feed: a JSON object of id -> record with ``software``."""

    name = "Wordfence feed"

    def read(self, data: bytes, body: object | None, max_bytes: int) -> list[Advisory] | None:
        """The feed's advisories, if ``body`` is shaped like it."""
        if (
            isinstance(body, dict)
            and body
            and all(isinstance(v, dict) and "software" in v for v in body.values())
        ):
            return parse_wordfence(data, max_bytes=max_bytes)
        return None


ADVISORY_FORMATS.add("wordfence", WordfenceFormat())
