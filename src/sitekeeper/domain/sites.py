"""What a site is made of before it is stored: URL, name, tags (SSH: ``domain.ssh_access``).

Pure validation (no I/O), shared by ``site add``, ``site edit``, the CSV import
and the web UI, so every entry point rejects the same bad input the same way.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.fields import MAX_ID, Clear, Spec
from sitekeeper.errors import UsageError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_TAG = re.compile(r"^[\w.:-]{1,64}$")


def normalize_url(text: str) -> str:
    """A canonical ``http(s)://host[:port]/path[?query]``; UsageError if it is not a site URL.

    Scheme and host are lowercased, an international host is IDNA-encoded, the
    default port and any fragment are dropped and an empty path becomes ``/``,
    so the same site typed twice is recognised as the same.
    """
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise UsageError(f"invalid URL {text!r}: must not be empty or contain spaces")
    if "://" not in raw:
        raise UsageError(f"invalid URL {text!r}: needs a scheme, e.g. https://{raw}")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid URL {text!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UsageError(f"invalid URL {text!r}: scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"invalid URL {text!r}: credentials in the URL are not supported")
    host = _normalize_host(parts.hostname or "", text)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _normalize_host(host: str, text: str) -> str:
    """Lowercase ASCII host (IDNA for international names); UsageError if malformed."""
    if not host:
        raise UsageError(f"invalid URL {text!r}: no host")
    if ":" in host:  # an IPv6 literal: urlsplit already unbracketed it
        return f"[{host.lower()}]"
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UsageError(f"invalid URL {text!r}: bad host name {host!r}") from None
    labels = ascii_host.rstrip(".").split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise UsageError(f"invalid URL {text!r}: bad host name {host!r}")
    return ascii_host.rstrip(".")


def url_variants(url: str) -> list[str]:
    """The stored forms a user's URL may match: with and without a trailing slash."""
    canonical = normalize_url(url)
    bare = canonical.rstrip("/")
    return sorted({canonical, bare, bare + "/"})


def host_of(url: str) -> str:
    """The host of a normalised URL, used as a site's default name."""
    return urlsplit(url).hostname or url


def unique_name(base: str, taken: Container[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken yet."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def validate_name(name: str) -> str:
    """A trimmed, non-empty site/client/plan name; names are how humans refer to things."""
    value = name.strip()
    if not value:
        raise UsageError("a name must not be empty")
    if len(value) > 200:
        raise UsageError(f"name too long ({len(value)} characters, at most 200)")
    return value


def validate_tags(tags: list[str]) -> list[str]:
    """Sorted, de-duplicated tags; letters, digits and ``_.:-`` only (they go in filters)."""
    cleaned = sorted({t.strip() for t in tags if t.strip()})
    for tag in cleaned:
        if not _TAG.match(tag):
            raise UsageError(f"invalid tag {tag!r}: use letters, digits and _.:- (max 64)")
    return cleaned


def _tags(text: str) -> list[str]:
    """Tags as a form writes them: separated by spaces or commas."""
    return [t for t in text.replace(",", " ").split() if t]


def _lines(text: str) -> list[str]:
    """Key pages as a form writes them: one per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class SiteDeclaration(BaseModel):
    """A site's own fields (the API's SiteIn/SitePatch and the site form derive from it;
    SSH access and check settings are given apart, see ``store.sites.SiteFields``)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(max_length=2048),
        Spec(
            "URL",
            "New URL.",
            arg_help="The site's URL, e.g. https://example.com.",
            input="url",
            hint="(https://www.example.com/)",
        ),
    ]
    client_id: Annotated[
        int,
        Field(ge=1, le=MAX_ID),
        Spec("Client", "Client id or name.", option="--client", ref=True),
    ]
    name: Annotated[
        str | None,
        Field(max_length=255),
        Spec(
            "Name",
            "Unique name (default: the host).",
            hint="(optional: the host name)",
            edit_help="New name.",
        ),
    ] = None
    contract_id: Annotated[
        int | None,
        Field(ge=1, le=MAX_ID),
        Spec(
            "Contract",
            "Contract id.",
            option="--contract",
            ref=True,
            hint="(optional: the client's only active one)",
            clear=Clear(
                "--no-contract", "Leave the contract.", "No contract", key="clear_contract"
            ),
        ),
    ] = None
    tags: Annotated[
        list[str],
        Field(max_length=50),
        Spec(
            "Tags",
            "Label (repeatable).",
            option="--tag",
            multiple=True,
            parse=_tags,
            show=" ".join,
            hint="(space or comma separated)",
            clear=Clear("--no-tags", "Remove all tags.", "No tags", api=False, key="clear_tags"),
        ),
    ] = Field(default_factory=list)
    key_pages: Annotated[
        list[str],
        Field(max_length=10),
        Spec(
            "Key pages",
            "A page the content checks keep a baseline of, as a path (/shop) or a URL on "
            "the site's host (repeatable, at most 10; the home page is always looked at).",
            option="--key-page",
            multiple=True,
            parse=_lines,
            show="\n".join,
            input="textarea",
            hint="(one path per line, e.g. /shop; at most 10)",
            clear=Clear(
                "--no-key-pages",
                "Forget the key pages (the pages already baselined stay watched until "
                "probe-content --accept picks the sitemap's).",
                "No key pages",
                api=False,
                key="clear_key_pages",
            ),
        ),
    ] = Field(default_factory=list)
    paused: Annotated[
        bool,
        Spec(
            "Paused (not checked)",
            "Add without checking yet.",
            input="checkbox",
            edit_option="--pause/--resume",
            edit_help="Stop or restart checking.",
        ),
    ] = False
