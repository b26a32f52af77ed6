"""Bulk CSV import of sites: all rows validated first, then one transaction, in bulk queries.

A file with any bad row imports nothing, and every bad row is reported with
its line number, so a user fixes the file once rather than row by row.
Re-importing the same file is a no-op: rows match sites by name, else URL.

Over 400 lines because validating every row and writing them in one transaction share
their row types and must change together.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, lazyload

from sitekeeper.domain.checks import DEFAULT_PROBE, CheckOptions, split_check
from sitekeeper.domain.durations import parse_duration
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.domain.site_urls import default_name, same_site_key
from sitekeeper.domain.sites import (
    host_of,
    normalize_url,
    unique_name,
    validate_name,
    validate_tags,
)
from sitekeeper.errors import UsageError
from sitekeeper.store import schedule
from sitekeeper.store.contracts import is_active
from sitekeeper.store.sites import CheckConfig, build_check_options, build_ssh, with_key_pages
from sitekeeper.store.ssh_keys import import_key, list_keys, parse_private_key, read_key_file
from sitekeeper.store.tables import Client, Contract, Event, Job, Plan, Site, SiteTag
from sitekeeper.vault import Vault

COLUMNS = (
    "url", "name", "client", "contract", "tags", "ssh", "key", "path",
    "keyword", "forbid", "accept", "method", "timeout", "allow_duplicate", "probe",
)  # fmt: skip
_YES, _NO = ("1", "true", "yes", "y"), ("", "0", "false", "no", "n")
_CHECK_COLUMNS = ("keyword", "forbid", "accept", "method", "timeout")


class ImportRejected(UsageError):
    """The file has bad rows; ``problems`` lists each as ``line N: reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported")
        self.problems = problems


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    added_names: list[str] = field(default_factory=list)
    updated_names: list[str] = field(default_factory=list)


@dataclass
class _Desired:
    """One row's target state for a site."""

    line: int
    url: str
    name: str
    client_id: int
    contract_id: int | None
    tags: list[str]
    ssh: dict[str, Any] | None
    check: dict[str, Any]
    site: Site | None
    new_key: str | None = None  # a private key to keep for the client, then set as ssh.key_id
    allow_duplicate: bool = False  # may share its URL with another site


class _Catalog:
    """Everything the rows refer to, loaded in a few queries up front."""

    def __init__(self, session: Session, today: Any, check_config: CheckConfig | None) -> None:
        self.check_config = check_config  # validates a row's check options
        clients = list(session.scalars(select(Client)))
        self.clients = {c.name: c for c in clients}
        self.client_ids = {c.id: c for c in clients}
        self.contracts: dict[int, int] = {}  # contract id -> client id
        active: dict[int, list[int]] = {}
        for contract in session.scalars(select(Contract)):
            self.contracts[contract.id] = contract.client_id
            if is_active(contract, today):
                active.setdefault(contract.client_id, []).append(contract.id)
        self.only_active = {cid: ids[0] for cid, ids in active.items() if len(ids) == 1}
        # Plain rows for 10,000+ sites: no eager joins, and tags in one query, not per batch.
        self.sites = list(
            session.scalars(
                select(Site).options(
                    lazyload(Site.client), lazyload(Site.contract), lazyload(Site.tags)
                )
            )
        )
        self.tags: dict[int, list[str]] = {}
        for site_id, tag in session.execute(
            select(SiteTag.site_id, SiteTag.tag).order_by(SiteTag.site_id, SiteTag.tag)
        ).tuples():
            self.tags.setdefault(site_id, []).append(tag)
        self.by_name = {s.name: s for s in self.sites}
        self.claimed: set[str] = set()  # names given to new sites by earlier rows
        self.by_url: dict[str, list[Site]] = {}
        for site in self.sites:
            self.by_url.setdefault(_url_key(site.url), []).append(site)
        self.keys = _KeyCatalog(session)

    def __contains__(self, name: object) -> bool:
        """Whether a site name is taken, in the store or by an earlier row of the file."""
        return name in self.by_name or name in self.claimed

    def client(self, ref: str) -> Client:
        text = ref.strip()
        if text.isdigit() and int(text) in self.client_ids:
            return self.client_ids[int(text)]
        if text in self.clients:
            return self.clients[text]
        raise UsageError(f"unknown client {ref!r}")


class _KeyCatalog:
    """Stored SSH keys, to resolve a row's ``key`` cell among its own client's keys only.

    A cell is the id, name or fingerprint of a key the client has, or a private
    key itself (``-----BEGIN … PRIVATE KEY-----``). Only the command line
    (``key_dir``: the CSV's folder) may name a key file, read once and kept in
    the store; over the API a path is just an unknown key name.
    """

    def __init__(self, session: Session) -> None:
        rows = list_keys(session)
        self.owner = {k.id: k.client_id for k in rows}
        self.by_ref: dict[tuple[int, str], int] = {}
        for k in rows:
            for ref in (str(k.id), k.name, k.fingerprint):
                self.by_ref.setdefault((k.client_id, ref), k.id)
        self.key_dir: Path | None = None

    def resolve(self, cell: str, client_id: int) -> tuple[int | None, str | None]:
        """(a stored key's id, None) or (None, the text of a new key to keep)."""
        if "PRIVATE KEY-----" in cell:
            return self._material(cell, client_id)
        found = self.by_ref.get((client_id, cell))
        if found is not None:
            return found, None
        if self.key_dir is not None:
            return self._material(read_key_file(self.key_dir / Path(cell).expanduser()), client_id)
        raise UsageError(
            f"the client has no SSH key {cell!r}: give the name, id or fingerprint of one of "
            "its keys (`sitekeeper site keys`), or the private key itself"
        )

    def _material(self, text: str, client_id: int) -> tuple[int | None, str | None]:
        parsed = parse_private_key(text)
        found = self.by_ref.get((client_id, parsed.fingerprint))
        return (found, None) if found is not None else (None, parsed.private_openssh)


def _ssh(
    row: dict[str, str], site: Site | None, client_id: int, keys: _KeyCatalog
) -> tuple[dict[str, Any] | None, str | None]:
    """The row's SSH access (validated) and a new key to keep, if the row brings one.

    Absent columns keep the site's values; a site's key stays only while the
    site stays with the key's client.
    """
    current = dict(site.ssh) if site is not None and site.ssh else None
    kept_key = current.get("key_id") if current else None
    if kept_key is not None and keys.owner.get(kept_key) != client_id:
        kept_key = None
    if "ssh" not in row:
        if row.get("key") or row.get("path"):
            raise UsageError("key/path need an ssh column (user@host:port)")
        if current and current.get("key_id") is not None and kept_key is None:
            raise UsageError(
                "the site's SSH key belongs to another client: give a key column "
                "with one of this client's keys"
            )
        return current, None
    if not row["ssh"]:
        return None, None
    key_id, new_key = kept_key, None
    if "key" in row:
        key_id, new_key = keys.resolve(row["key"], client_id) if row["key"] else (None, None)
    docroot = row["path"] if "path" in row else (current or {}).get("docroot")
    return build_ssh(row["ssh"], key_id, docroot), new_key


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header columns and ``(line, row)`` pairs; UsageError for a bad header or a file
    the CSV reader cannot parse (a stray carriage return in a field, a NUL byte)."""
    # newline="": the csv module does its own line handling (quoted newlines, CR LF).
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _read(reader)
    except csv.Error as exc:
        raise UsageError(f"line {reader.line_num}: not readable as CSV ({exc})") from None


def _read(reader: Any) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise UsageError(
            "the file is empty (a header row with at least `url` is required)"
        ) from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise UsageError(
            f"line 1: unknown column(s) {', '.join(map(repr, unknown))}"
            f" (known: {', '.join(COLUMNS)})"
        )
    if "url" not in header:
        raise UsageError("line 1: the header has no `url` column")
    if len(set(header)) != len(header):
        raise UsageError("line 1: a column appears twice in the header")
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            rows.append((line, {"__error__": f"{len(values)} fields, header has {len(header)}"}))
            continue
        rows.append((line, {h: v.strip() for h, v in zip(header, values, strict=False)}))
    return header, rows


def _url_key(url: str) -> str:
    """``same_site_key``, for a stored URL too (stored before URLs were normalised)."""
    try:
        return same_site_key(url)
    except UsageError:
        return url.rstrip("/")


def _allow_duplicate(row: dict[str, str]) -> bool:
    value = row.get("allow_duplicate", "").strip().lower()
    if value not in _YES + _NO:
        raise UsageError(f"allow_duplicate must be yes or no, not {row['allow_duplicate']!r}")
    return value in _YES


def _refuse_duplicate(url: str, site: Site | None, allow: bool, cat: _Catalog) -> None:
    """UsageError if the row gives a URL another site has, and no duplicate was allowed."""
    if allow or (site is not None and _url_key(site.url) == _url_key(url)):
        return
    others = [m for m in cat.by_url.get(_url_key(url), []) if site is None or m.id != site.id]
    if others:
        raise UsageError(
            f"{url} is already registered as site {others[0].name!r} (id {others[0].id});"
            " set allow_duplicate to import it anyway"
        )


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(";") if p.strip()]


def _check_changes(row: dict[str, str]) -> dict[str, Any]:
    """Check options given by the row's columns (an empty cell resets to the default)."""
    defaults = CheckOptions()
    changes: dict[str, Any] = {}
    if "keyword" in row:
        changes["keyword"] = row["keyword"] or None
    if "forbid" in row:
        changes["forbidden"] = _split(row["forbid"])
    if "accept" in row:
        changes["accept_status"] = _split(row["accept"]) or defaults.accept_status
    if "method" in row:
        changes["method"] = row["method"].upper() or defaults.method
    if "timeout" in row:
        try:
            changes["timeout"] = float(parse_duration(row["timeout"])) if row["timeout"] else None
        except ValueError as exc:
            raise UsageError(f"invalid timeout: {exc}") from None
    return changes


def _desired(line: int, row: dict[str, str], cat: _Catalog) -> _Desired:
    """The row's target state; UsageError with the reason if the row is bad."""
    if "__error__" in row:
        raise UsageError(row["__error__"])
    if not row.get("url"):
        raise UsageError("url is empty")
    url = normalize_url(row["url"])
    allow_duplicate = _allow_duplicate(row)
    name = validate_name(row["name"]) if row.get("name") else None
    site: Site | None = None
    if name is not None:
        site = cat.by_name.get(name)
    else:
        matches = cat.by_url.get(_url_key(url), [])
        if len(matches) > 1:  # a named site may share the URL: prefer the host-named one
            defaults = (default_name(url), host_of(url))
            matches = [m for m in matches if m.name in defaults] or matches
        if len(matches) > 1:
            raise UsageError(f"several sites have the URL {url}; add a name column")
        site = matches[0] if matches else None
    if row.get("client"):
        client_id = cat.client(row["client"]).id
    elif site is not None and site.client_id is not None:
        client_id = site.client_id
    else:
        raise UsageError("client is empty")
    contract_id = _contract(row.get("contract", ""), client_id, site, cat)
    _refuse_duplicate(url, site, allow_duplicate, cat)
    if site is None:
        name = name or unique_name(default_name(url), cat)
    ssh, new_key = _ssh(row, site, client_id, cat.keys)
    base = dict(site.check_options or {}) if site is not None else {}
    probe = (row["probe"] or DEFAULT_PROBE) if "probe" in row else None  # empty: back to http
    check = build_check_options(base, probe=probe, config=cat.check_config, **_check_changes(row))
    if "tags" in row:
        tags = validate_tags(_split(row["tags"]))
    else:
        tags = cat.tags.get(site.id, []) if site is not None else []
    return _Desired(
        line,
        url,
        name or (site.name if site else ""),
        client_id,
        contract_id,
        tags,
        ssh,
        check,
        site,
        new_key,
        allow_duplicate,
    )


def _contract(ref: str, client_id: int, site: Site | None, cat: _Catalog) -> int | None:
    """The explicit contract, else the site's own (same client), else the only active one."""
    if ref:
        text = ref.lstrip("#")
        if not text.isdigit() or int(text) not in cat.contracts:
            raise UsageError(f"unknown contract {ref!r}")
        if cat.contracts[int(text)] != client_id:
            raise UsageError(f"contract {ref} belongs to another client")
        return int(text)
    if (
        site is not None
        and site.contract_id is not None
        and (cat.contracts.get(site.contract_id) == client_id)
    ):
        return site.contract_id
    return cat.only_active.get(client_id)


def _differs(want: _Desired, site: Site, tags: list[str]) -> bool:
    kind, options = split_check(site.check_options)
    current_check = with_key_pages(  # the import keeps the key pages as they are
        CheckOptions.model_validate(options).model_dump(mode="json")
        if kind == DEFAULT_PROBE
        else dict(site.check_options or {}),
        stored_key_pages(site.check_options),
    )
    return (
        site.url != want.url
        or site.client_id != want.client_id
        or site.contract_id != want.contract_id
        or tags != want.tags
        or site.ssh != want.ssh
        or want.new_key is not None
        or current_check != want.check
    )


def import_sites(
    session: Session,
    text: str,
    now: datetime,
    *,
    default_interval: int,
    base_dir: Path,
    dry_run: bool = False,
    rng: random.Random | None = None,
    vault: Vault | None = None,
    read_key_files: bool = False,
    check_config: CheckConfig | None = None,
) -> ImportResult:
    """Validate every row, then write sites, jobs and events in bulk; ImportRejected if bad."""
    _header, rows = read_rows(text)
    return import_rows(
        session,
        rows,
        now,
        default_interval=default_interval,
        base_dir=base_dir,
        dry_run=dry_run,
        rng=rng,
        vault=vault,
        read_key_files=read_key_files,
        check_config=check_config,
    )


def import_rows(
    session: Session,
    rows: list[tuple[int, dict[str, str]]],
    now: datetime,
    *,
    default_interval: int,
    base_dir: Path,
    dry_run: bool = False,
    rng: random.Random | None = None,
    unit: str = "line",
    vault: Vault | None = None,
    read_key_files: bool = False,
    check_config: CheckConfig | None = None,
) -> ImportResult:
    """``import_sites`` for rows already read: ``(number, column -> cell)``, as from CSV.

    A column absent from a row keeps the site's value; an empty cell resets
    it. ``unit`` names the numbers in problems (``line`` of a file, ``item``
    of a JSON list). A ``key`` cell names one of the row's client's stored SSH
    keys or holds a private key (kept encrypted with ``vault``); only with
    ``read_key_files`` (the command line) may it name a key file, relative to
    ``base_dir``. ``check_config`` validates check options by the row's check kind
    (``probe`` column; see ``store.sites.CheckConfig``).
    """
    cat = _Catalog(session, now.date(), check_config)
    cat.keys.key_dir = base_dir if read_key_files else None
    problems: list[str] = []
    wanted: list[_Desired] = []
    seen: dict[str, int] = {}  # target site name -> first line
    unnamed: dict[str, int] = {}  # URL of rows without a name -> first line
    urls: dict[str, int] = {}  # URL -> first line giving it
    for line, row in rows:
        try:
            want = _desired(line, row, cat)
            if want.new_key is not None and vault is None:
                raise UsageError("this import cannot keep SSH keys; use a stored key's name")
        except UsageError as exc:
            problems.append(f"{unit} {line}: {exc}")
            continue
        first = seen.get(want.name)
        if not row.get("name"):
            first = first or unnamed.get(want.url.rstrip("/"))
            unnamed.setdefault(want.url.rstrip("/"), line)
        if first is not None:
            problems.append(f"{unit} {line}: same site as {unit} {first} ({want.url})")
            continue
        key = _url_key(want.url)
        if key in urls and not want.allow_duplicate:
            problems.append(
                f"{unit} {line}: {want.url} is also on {unit} {urls[key]};"
                " set allow_duplicate to import both"
            )
            continue
        urls.setdefault(key, line)
        seen[want.name] = line
        cat.claimed.add(want.name)
        wanted.append(want)
    if problems:
        raise ImportRejected(problems)
    result = ImportResult(dry_run=dry_run)
    new = [w for w in wanted if w.site is None]
    changed = [
        w for w in wanted if w.site is not None and _differs(w, w.site, cat.tags.get(w.site.id, []))
    ]
    result.added, result.updated = len(new), len(changed)
    result.unchanged = len(wanted) - len(new) - len(changed)
    result.added_names = [w.name for w in new]
    result.updated_names = [w.name for w in changed]
    if not dry_run:
        _keep_new_keys(session, wanted, cat, vault, now)
        _insert(session, new, now, default_interval, rng)
        _update(session, changed, cat, now, default_interval, rng)
    return result


def _keep_new_keys(
    session: Session, wanted: list[_Desired], cat: _Catalog, vault: Vault | None, now: datetime
) -> None:
    """Keep the private keys rows brought (once per client and key) and point the rows at them."""
    for want in wanted:
        if want.new_key is None:
            continue
        assert vault is not None  # checked with the rows
        key = import_key(
            session,
            vault,
            cat.client_ids[want.client_id],
            want.new_key,
            now=now,
            site_id=want.site.id if want.site is not None else None,
        )
        want.ssh = {**(want.ssh or {}), "key_id": key.id}


def _insert(
    session: Session, new: list[_Desired], now: datetime, default: int, rng: random.Random | None
) -> None:
    """New sites, their tags, check jobs and ``site.added`` events in a handful of statements."""
    if not new:
        return
    ids = session.scalars(
        insert(Site).returning(Site.id, sort_by_parameter_order=True),
        [
            {
                "name": w.name,
                "url": w.url,
                "client_id": w.client_id,
                "contract_id": w.contract_id,
                "check_options": w.check,
                "ssh": w.ssh,
                "paused": False,
                "created_at": now,
            }
            for w in new
        ],
    ).all()
    tags = [{"site_id": i, "tag": t} for i, w in zip(ids, new, strict=True) for t in w.tags]
    if tags:
        session.execute(insert(SiteTag), tags)
    intervals: dict[int, int] = {
        contract_id: interval
        for contract_id, interval in session.execute(
            select(Contract.id, Plan.check_interval).join(Plan, Plan.id == Contract.plan_id)
        ).tuples()
    }
    epoch = now.timestamp()
    jobs = []
    for site_id, w in zip(ids, new, strict=True):
        interval = intervals.get(w.contract_id, default) if w.contract_id else default
        jobs.append(
            {
                "kind": schedule.CHECK,
                "site_id": site_id,
                "interval": interval,
                "next_run_at": schedule.first_run(epoch, interval, rng),
                "enabled": True,
            }
        )
    session.execute(insert(Job), jobs)
    # One multi-row insert instead of journal.record() per site: 10,000 flushes are too slow.
    session.execute(
        insert(Event),
        [
            {
                "ts": now,
                "kind": str(EventKind.SITE_ADDED),
                "site_id": site_id,
                "client_id": w.client_id,
                "incident_id": None,
                "data": {"name": w.name, "url": w.url, "source": "import"},
            }
            for site_id, w in zip(ids, new, strict=True)
        ],
    )


def _update(  # noqa: PLR0917 - private step of import_sites
    session: Session,
    changed: list[_Desired],
    cat: _Catalog,
    now: datetime,
    default: int,
    rng: random.Random | None,
) -> None:
    """Apply changed rows to their sites and re-sync the jobs whose contract moved."""
    moved: list[int] = []
    for want in changed:
        site = want.site
        assert site is not None
        if site.contract_id != want.contract_id:
            moved.append(site.id)
        site.url, site.client_id, site.contract_id = want.url, want.client_id, want.contract_id
        site.ssh, site.check_options = want.ssh, want.check
        if cat.tags.get(site.id, []) != want.tags:
            site.tags = [SiteTag(tag=t) for t in want.tags]
    session.flush()
    schedule.resync_sites(session, moved, now.timestamp(), default_interval=default, rng=rng)
