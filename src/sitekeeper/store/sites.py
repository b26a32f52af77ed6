"""Named queries for sites: find by id/name/URL, add, edit, remove, keep the check job in sync."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import (
    DEFAULT_PROBE,
    KEY_PAGES_KEY,
    PROBE_KEY,
    CheckOptions,
    split_check,
)
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.key_pages import stored_key_pages, validate_key_pages
from sitekeeper.domain.site_urls import default_name, same_site_key
from sitekeeper.domain.sites import (
    normalize_url,
    unique_name,
    url_variants,
    validate_name,
    validate_tags,
)
from sitekeeper.domain.ssh_access import (
    SshAccess,
    parse_ssh_target,
    validate_docroot,
    validate_sudo_user,
)
from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.errors import ConfigError, NotFound, UsageError
from sitekeeper.store import journal, schedule, ssh_keys
from sitekeeper.store.contracts import active_contracts, get_contract
from sitekeeper.store.tables import CheckRaw, Client, Contract, Site, SiteTag


def get_site(session: Session, ref: str) -> Site:
    """The site with this id, name or URL (trailing slash optional); NotFound otherwise."""
    text = ref.strip()
    if text.isdigit() and (site := session.get(Site, int(text))) is not None:
        return site
    if (site := session.scalar(select(Site).where(Site.name == text))) is not None:
        return site
    if "://" in text:
        try:
            variants = url_variants(text)
        except UsageError:
            variants = []
        matches = list(session.scalars(select(Site).where(Site.url.in_(variants)).limit(2)))
        if len(matches) > 1:
            raise UsageError(f"several sites have the URL {text!r}; give the site's name or id")
        if matches:
            return matches[0]
    raise NotFound(f"no site {ref!r} (give its id, name or URL)")


def list_sites(
    session: Session,
    *,
    client_id: int | None = None,
    contract_id: int | None = None,
    tag: str | None = None,
) -> list[Site]:
    """Sites, by name, optionally of one client or contract, or with one tag."""
    query = select(Site).order_by(Site.name)
    if client_id is not None:
        query = query.where(Site.client_id == client_id)
    if contract_id is not None:
        query = query.where(Site.contract_id == contract_id)
    if tag is not None:
        query = query.where(Site.id.in_(select(SiteTag.site_id).where(SiteTag.tag == tag)))
    return list(session.scalars(query))


def site_names(session: Session) -> set[str]:
    """Every site name in use (to make default names unique)."""
    return set(session.scalars(select(Site.name)))


def build_ssh(
    target: str, key_id: int | None, docroot: str | None, sudo_user: str | None = None
) -> dict[str, Any]:
    """``Site.ssh`` JSON from ``user@host:port``, a stored key's id (``store.ssh_keys``), a
    docroot and the files' owner to work as through sudo, all validated: a key is never a
    file path, hosts and users never an option."""
    user, host, port = parse_ssh_target(target)
    access = SshAccess(
        host=host,
        port=port,
        user=user,
        key_id=key_id,
        docroot=validate_docroot(docroot),
        sudo_user=validate_sudo_user(sudo_user) if sudo_user else None,
    )
    data = access.model_dump()
    if data["sudo_user"] is None:
        del data["sudo_user"]  # a site without it stores (and shows) what it always did
    return data


def edited_ssh(
    site: Site,
    target: str | None,
    key_id: int | None,
    docroot: str | None,
    sudo_user: str | None = None,
) -> dict[str, Any] | None:
    """New SSH JSON when any SSH part is given (None: none was); unspecified parts keep
    their value (``sudo_user`` "": work as the SSH user again). Every surface that edits
    SSH access (CLI, API, web form) goes through here and ``build_ssh``."""
    if target is None and key_id is None and docroot is None and sudo_user is None:
        return None
    current = site.ssh or {}
    if target is None:
        if not current:
            raise UsageError("the site has no SSH access yet: give user@host[:port]")
        host = str(current["host"])
        host = f"[{host}]" if ":" in host else host
        target = f"{current['user']}@{host}:{current['port']}"
    return build_ssh(
        target,
        key_id if key_id is not None else current.get("key_id"),
        docroot if docroot is not None else current.get("docroot"),
        (sudo_user if sudo_user is not None else current.get("sudo_user")) or None,
    )


def check_ssh_key_owner(session: Session, ssh: dict[str, Any] | None, client_id: int) -> None:
    """UsageError if ``ssh`` names an SSH key of another client than the site's."""
    key_id = (ssh or {}).get("key_id")
    if isinstance(key_id, int):
        ssh_keys.check_key_owner(session, key_id, client_id)


# (check kind, its options) -> the options validated by that kind's probe; ConfigError for
# an unknown kind or refused options. The probes are above the store: the surfaces pass
# ``probes.registry.ProbeSet().config``.
CheckConfig = Callable[[str, Mapping[str, Any]], BaseModel]


def build_check_options(
    base: dict[str, Any],
    *,
    probe: str | None = None,
    config: CheckConfig | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """``base`` check options with ``changes`` applied, as stored: validated by the check
    kind's probe (``config``), its kind under ``PROBE_KEY`` unless HTTP.

    ``probe`` changes the kind; a new kind starts from its own defaults, not the old
    kind's options. Without ``config`` only HTTP checks can be validated. The content
    checks' key pages, kept beside, stay as they are.
    """
    base_kind, options = split_check(base)
    kind = probe or base_kind
    options = {**options, **changes} if kind == base_kind else dict(changes)
    if config is not None:
        try:
            validated = config(kind, options)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    elif kind == DEFAULT_PROBE:
        try:
            validated = CheckOptions.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"invalid check option {field_name}: {first['msg']}") from None
    else:
        raise UsageError(f"cannot validate the options of a {kind!r} check here")
    stored = validated.model_dump(mode="json")
    built = stored if kind == DEFAULT_PROBE else {PROBE_KEY: kind, **stored}
    return with_key_pages(built, stored_key_pages(base))


def with_key_pages(check_options: Mapping[str, Any], pages: list[str]) -> dict[str, Any]:
    """A copy of a site's check options holding these key pages (validated ones: see
    ``domain.key_pages``); none are not stored at all."""
    copy = {k: v for k, v in check_options.items() if k != KEY_PAGES_KEY}
    return {**copy, KEY_PAGES_KEY: list(pages)} if pages else copy


def pick_contract(
    session: Session, client: Client, contract: Contract | None, today: date
) -> Contract | None:
    """``contract`` if it is the client's; else the client's only active contract, if any."""
    if contract is not None:
        if contract.client_id != client.id:
            raise UsageError(
                f"contract {contract.id} belongs to another client, not {client.name!r}"
            )
        return contract
    active = active_contracts(session, client.id, today)
    return active[0] if len(active) == 1 else None


@dataclass
class SiteFields:
    """What ``add_site``/``update_site`` set; ``None`` (or False for clear flags) = unchanged."""

    url: str | None = None
    name: str | None = None
    client: Client | None = None
    contract: Contract | None = None
    clear_contract: bool = False
    tags: list[str] | None = None
    ssh: dict[str, Any] | None = None
    clear_ssh: bool = False
    check: dict[str, Any] = field(default_factory=dict)
    probe: str | None = None  # the check kind (None: HTTP for a new site, else unchanged)
    check_config: CheckConfig | None = None  # validates check options, see CheckConfig
    paused: bool | None = None
    allow_duplicate: bool = False  # register a URL another site already has
    key_pages: list[str] | None = None  # the content checks' pages ([]: the sitemap's)


def site_change(
    session: Session, values: Mapping[str, Any], check_config: CheckConfig | None = None
) -> SiteFields:
    """The :class:`SiteFields` of the declared values the API or a form sent (ids of the
    client and contract looked up; UsageError or NotFound if they do not exist);
    ``check_config`` validates check options (see :data:`CheckConfig`)."""
    given = {k: v for k, v in values.items() if k not in ("client_id", "contract_id")}
    given["check"] = given.get("check") or {}
    if given.pop("clear_tags", False):
        given["tags"] = []
    if given.pop("clear_key_pages", False):
        given["key_pages"] = []
    if given.get("name") == "":
        given["name"] = None  # an empty name: the host's (a new site) or unchanged
    client_id, contract_id = values.get("client_id"), values.get("contract_id")
    client = session.get(Client, client_id) if client_id is not None else None
    if client_id is not None and client is None:
        raise UsageError(f"no client {client_id}")
    contract = get_contract(session, contract_id) if contract_id is not None else None
    return SiteFields(client=client, contract=contract, check_config=check_config, **given)


class DuplicateUrl(UsageError):
    """The URL is already registered, and a duplicate was not asked for."""

    def __init__(self, url: str, existing: Site) -> None:
        super().__init__(
            f"{url} is already registered as site {existing.name!r} (id {existing.id}); "
            "to monitor it twice, allow a duplicate (--allow-duplicate, or allow_duplicate "
            "in the API and the import)"
        )
        self.existing_id = existing.id


def registered(session: Session, url: str, *, but: int | None = None) -> Site | None:
    """A site (other than ``but``) with this URL in any spelling: other scheme or host case,
    the default port written out, with or without a trailing slash."""
    stmt = select(Site).where(Site.url.in_(url_variants(url))).order_by(Site.id).limit(1)
    if but is not None:
        stmt = stmt.where(Site.id != but)
    return session.scalar(stmt)


def refuse_duplicate(session: Session, url: str, *, allow: bool, but: int | None = None) -> None:
    """DuplicateUrl if another site has ``url`` and duplicates were not allowed."""
    if not allow and (existing := registered(session, url, but=but)) is not None:
        raise DuplicateUrl(url, existing)


def add_site(
    session: Session,
    fields: SiteFields,
    now: datetime,
    *,
    default_interval: int,
    rng: random.Random | None = None,
) -> Site:
    """Create a site with its check job and a ``site.added`` event; nothing on UsageError."""
    if fields.url is None or fields.client is None:
        raise UsageError("a site needs a URL and a client")
    url = normalize_url(fields.url)
    refuse_duplicate(session, url, allow=fields.allow_duplicate)
    taken = site_names(session)
    if fields.name is not None:
        name = validate_name(fields.name)
        if name in taken:
            raise UsageError(f"a site named {name!r} already exists")
    else:
        name = unique_name(default_name(url), taken)
    contract = pick_contract(session, fields.client, fields.contract, now.date())
    check_ssh_key_owner(session, fields.ssh, fields.client.id)
    site = Site(
        name=name,
        url=url,
        client_id=fields.client.id,
        contract_id=contract.id if contract else None,
        check_options=with_key_pages(
            build_check_options({}, probe=fields.probe, config=fields.check_config, **fields.check),
            validate_key_pages(url, fields.key_pages or []),
        ),
        ssh=fields.ssh,
        paused=bool(fields.paused),
        created_at=now,
        tags=[SiteTag(tag=t) for t in validate_tags(fields.tags or [])],
    )
    session.add(site)
    session.flush()
    session.refresh(site)
    schedule.sync_check_job(
        session, site, now.timestamp(), default_interval=default_interval, rng=rng
    )
    journal.record(
        session,
        EventKind.SITE_ADDED,
        site_id=site.id,
        client_id=site.client_id,
        data={"name": site.name, "url": site.url},
        ts=now,
    )
    return site


def update_site(
    session: Session,
    site: Site,
    fields: SiteFields,
    now: datetime,
    *,
    default_interval: int,
    rng: random.Random | None = None,
) -> Site:
    """Change the given fields and re-sync the check job (interval, paused)."""
    if fields.url is not None:
        url = normalize_url(fields.url)
        if same_site_key(url) != same_site_key(site.url):
            refuse_duplicate(session, url, allow=fields.allow_duplicate, but=site.id)
        site.url = url
    if fields.name is not None:
        name = validate_name(fields.name)
        if name != site.name and name in site_names(session):
            raise UsageError(f"a site named {name!r} already exists")
        site.name = name
    client = fields.client or site.client
    if client is None and fields.contract is not None:
        raise UsageError("the site has no client yet: give one with the contract")
    if fields.client is not None:
        site.client_id = fields.client.id
    if fields.clear_contract:
        site.contract_id = None
    elif client is not None and (
        fields.contract is not None
        or (
            fields.client is not None
            and (site.contract is None or site.contract.client_id != client.id)
        )
    ):
        contract = pick_contract(session, client, fields.contract, now.date())
        site.contract_id = contract.id if contract else None
    if fields.tags is not None:
        wanted = validate_tags(fields.tags)
        if wanted != [t.tag for t in site.tags]:
            site.tags = [SiteTag(tag=t) for t in wanted]
    ssh_before = site.ssh
    if fields.clear_ssh:
        site.ssh = None
    elif fields.ssh is not None:
        site.ssh = fields.ssh
    if site.client_id is not None:  # a moved site cannot take its old client's key along
        check_ssh_key_owner(session, site.ssh, site.client_id)
    if fields.check or fields.probe:
        site.check_options = build_check_options(
            site.check_options or {}, probe=fields.probe, config=fields.check_config, **fields.check
        )
    if fields.key_pages is not None:
        pages = validate_key_pages(site.url, fields.key_pages)
        site.check_options = with_key_pages(site.check_options or {}, pages)
    if fields.paused is not None:
        site.paused = fields.paused
    if site.ssh != ssh_before:  # who may run commands on the client's server: journaled
        journal.record(
            session,
            SshEventKind.ACCESS_CHANGED,
            site_id=site.id,
            client_id=site.client_id,
            data={"before": ssh_before, "after": site.ssh},
            ts=now,
        )
    session.flush()
    session.refresh(site)
    schedule.sync_check_job(
        session, site, now.timestamp(), default_interval=default_interval, rng=rng
    )
    return site


def remove_site(session: Session, site: Site, now: datetime | None = None) -> None:
    """Delete a site (its job, state and tags go with it) and journal ``site.removed``.

    Raw checks have no foreign key (for insert speed), so they are deleted here.
    """
    journal.record(
        session,
        EventKind.SITE_REMOVED,
        site_id=site.id,
        client_id=site.client_id,
        data={"name": site.name, "url": site.url},
        ts=now or datetime.now(UTC),
    )
    session.execute(delete(CheckRaw).where(CheckRaw.site_id == site.id))
    session.delete(site)
    session.flush()


def check_interval(site: Site, default_interval: int) -> int:
    """The interval the site is checked at: its contract plan's, else the default."""
    if site.contract is not None:
        return site.contract.plan.check_interval
    return default_interval
