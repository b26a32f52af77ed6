"""Journal events in words: a short title, one line of detail and a tone, per event kind.

The site timeline, ``sitekeeper journal`` and (later) client reports say what happened
the same way. Every kind of the vocabularies has a spec in ``SPECS`` (a test
checks). Data is read as stored, possibly old or odd, so a wrong type reads as missing,
and an unknown kind or key still reads as ``key: value``. Plain text: callers escape.

Over 400 lines because it is a table of every event kind's wording; it grows with
the vocabulary, not with logic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.checks import ErrorCategory
from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.humanize import clip, count, listing, plural, seconds, short_id, size
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.report_events import ReportEventKind
from sitekeeper.domain.seo import SeoEventKind
from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.domain.update_events import UpdateEventKind

Tone = Literal["bad", "good", "info"]
DETAIL_MAX = 400
_VALUE_MAX = 80
_CATEGORIES = frozenset(ErrorCategory)


@dataclass(frozen=True, slots=True)
class EventText:
    """An event as a person reads it; ``tone`` is for styling only (the words say it too)."""

    title: str
    detail: str
    tone: Tone


class Facts:
    """Typed reads of an event's data that never fail: a value of the wrong type is None."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def text(self, key: str, limit: int = _VALUE_MAX) -> str | None:
        """A non-empty string (or number) as one clipped line."""
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        return clip(value, limit) or None

    def number(self, key: str) -> float | None:
        """A finite number."""
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if math.isfinite(value) else None

    def flag(self, key: str) -> bool:
        """Whether the value is literally ``true``."""
        return self.data.get(key) is True

    def items(self, key: str) -> list[Any]:
        """A list's items (anything else: none)."""
        value = self.data.get(key)
        return list(value) if isinstance(value, list | tuple) else []


Parts = list[str | None]


@dataclass(frozen=True, slots=True)
class Spec:
    """How one kind reads; ``keys`` are those it shows or leaves to the raw data on purpose."""

    title: str | Callable[[Facts], str]
    tone: Tone | Callable[[Facts], Tone]
    detail: Callable[[Facts], Parts]
    keys: frozenset[str]


def _spec(
    title: str | Callable[[Facts], str],
    tone: Tone | Callable[[Facts], Tone],
    detail: Callable[[Facts], Parts],
    keys: str,
) -> Spec:
    return Spec(title, tone, detail, frozenset(keys.split()))


# --- incidents, alerts, sites, checks -------------------------------------------------


def _tls(f: Facts) -> bool:
    return f.text("kind") == IncidentKind.TLS_EXPIRING


def _cause(f: Facts) -> str | None:
    """``http_status: 503`` -> ``HTTP 503``; ``too_many_redirects`` -> ``too many redirects``."""
    cause = f.text("cause", 200)
    if cause is None:
        return None
    category, _, rest = cause.partition(": ")
    if category == ErrorCategory.HTTP_STATUS and rest:
        return f"HTTP {rest}"
    if category in _CATEGORIES:
        return category.replace("_", " ") + (f": {rest}" if rest else "")
    return cause


def _for(f: Facts, key: str, state: str) -> str | None:
    length = f.number(key)
    return None if length is None else f"{state} for {seconds(length)}"


def _unreachable(f: Facts) -> bool:
    """Failing from one check location only (domain.quorum): the cause names it."""
    return f.text("kind") == IncidentKind.UNREACHABLE


def _incident_title(f: Facts, tls: str, down: str, unreachable: str) -> str:
    return tls if _tls(f) else unreachable if _unreachable(f) else down


def _closed(f: Facts) -> Parts:
    state = "expiring" if _tls(f) else "unreachable" if _unreachable(f) else "down"
    return [_for(f, "duration_s", state), _cause(f)]


def _last_result(f: Facts) -> str | None:
    at = f.text("last_result_at", 40)
    return f"no results since {at[:16].replace('T', ' ')} UTC" if at else None


def _silent_for(f: Facts) -> str | None:
    return _for(f, "silent_s", "silent")


def _delivery(f: Facts) -> Parts:
    channel, attempts = f.text("channel"), f.number("attempts")
    tries = f" after {plural(attempts, 'attempt')}" if attempts is not None and attempts > 1 else ""
    return [f"via {channel}{tries}" if channel else tries.strip() or None, f.text("error", 200)]


def _site(f: Facts) -> Parts:
    name, url = f.text("name"), f.text("url", 200)
    named = f"{name} ({url})" if name and url else name or url
    return [named, "imported" if f.text("source") == "import" else None]


def _rolled_up(f: Facts) -> Parts:
    days = [d for d in f.items("days") if isinstance(d, str)]
    span = f" ({days[0]} to {days[-1]})" if len(days) > 1 else f" ({days[0]})" if days else ""
    pruned = f.number("raw_pruned")
    return [
        f"{plural(len(days), 'day')} summarised{span}" if days else None,
        f"{plural(pruned, 'raw result')} pruned" if pruned else None,
    ]


# --- software intelligence ------------------------------------------------------------


def _name(item: Any) -> str:
    if isinstance(item, Mapping):
        item = item.get("slug") or item.get("name")
    return clip(item, 60) if isinstance(item, str) and item.strip() else "?"


def _version(item: Any, key: str) -> str:
    value = item.get(key) if isinstance(item, Mapping) else None
    return clip(value, 40) if isinstance(value, str) and value.strip() else ""


def _change(item: Any) -> str:
    old, new = _version(item, "from_version"), _version(item, "to_version")
    return f"{_name(item)} {old} → {new}" if old and new else f"{_name(item)} {new or old}".strip()


def _present(item: Any) -> str:
    return f"{_name(item)} {_version(item, 'version')}".strip()


_INVENTORY: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("upgraded", _change),
    ("downgraded", lambda i: f"{_change(i)} (downgrade)"),
    ("installed", lambda i: f"{_present(i)} installed"),
    ("removed", lambda i: f"{_name(i)} removed"),
    ("activated", lambda i: f"{_name(i)} activated"),
    ("deactivated", lambda i: f"{_name(i)} deactivated"),
)


def _inventory(f: Facts) -> Parts:
    if f.flag("first"):  # everything is "installed"; the core "upgraded" from nothing
        found = [_present(i) for i in f.items("installed")]
        extensions = f"{plural(len(found), 'extension')}: {listing(found)}" if found else None
        return [listing([_change(i) for i in f.items("upgraded")]), extensions]
    changes = [say(item) for key, say in _INVENTORY for item in f.items(key)]
    return [listing(changes) or "no change"]


def _fingerprint(f: Facts) -> Parts:
    cms, version = f.text("cms"), f.text("version")
    if cms is None or version:
        return [f"{cms} {version}" if cms else None]
    candidates = [clip(c, 40) for c in f.items("candidates") if isinstance(c, str)]
    return [f"{cms}, version one of {listing(candidates, 3)}" if candidates else cms]


def _noun(f: Facts) -> str:
    match f.text("kind"):
        case "vulnerability":
            return "Vulnerability"
        case "update":
            return "Security update" if f.flag("security") else "Update"
        case "unknown-source":
            return "Untracked update source"
        case "exposure":
            return "Security issue"
        case "domain":
            return "Domain issue"
        case "integrity":
            return "File integrity issue"
        case "malware":
            return "Malware"
        case "seo":
            return "Content issue"
        case _:
            return "Finding"


_OPENED = {
    "Vulnerability": "Vulnerability found",
    "Security update": "Security update available",
    "Update": "Update available",
    "Untracked update source": "Updates not tracked",
    "Security issue": "Security issue found",
    "Domain issue": "Domain issue found",
    "File integrity issue": "File integrity issue found",
    "Malware": "Malware found",
    "Content issue": "Content issue found",
}
_HACK_SIGNS = ("Security issue", "Domain issue", "File integrity issue", "Malware", "Content issue")


def _finding(f: Facts) -> Parts:
    package, installed, latest = f.text("package") or "?", f.text("installed"), f.text("latest")
    what = (
        f"{package} {installed} → {latest}"
        if installed and latest
        else f"{package} {installed or ''}"
    )
    possible = f.text("certainty") == "possible"
    return [
        what.strip(),
        f.text("advisory_id"),
        "updates come from a source that is not polled"
        if f.text("kind") == "unknown-source"
        else None,
        "possibly affected: the version is only estimated" if possible else None,
    ]


def _acknowledged(f: Facts) -> Parts:
    """What was acknowledged (its title, else the item), by whom and why."""
    by = f.text("actor", 200)
    return [f.text("title", 200) or f.text("package", 200), f"by {by}" if by else None,
            f.text("reason", 200)]  # fmt: skip


def _advisories(f: Facts) -> Parts:
    ids = [clip(a, 40) for a in f.items("advisories") if isinstance(a, str)]
    total = f.number("count")
    opened = f.number("opened")
    changed = plural(len(ids) if total is None else total, "advisory", "advisories")
    return [
        f"{changed} new or changed" + (f": {listing(ids, 3)}" if ids else ""),
        f"{plural(opened, 'finding')} opened" if opened else None,
    ]


def _alert(f: Facts) -> Parts:
    total = f.number("site_count")
    ids = [clip(a, 40) for a in f.items("advisories") if isinstance(a, str)]
    return [
        f"{plural(len(f.items('sites')) if total is None else total, 'site')} affected",
        listing(ids, 3),
    ]


def _security_alert(f: Facts) -> Parts:
    total = f.number("site_count")
    issues = [clip(i, 60) for i in f.items("issues") if isinstance(i, str)]
    return [
        f"{plural(len(f.items('sites')) if total is None else total, 'site')} affected",
        listing(issues, 3),
    ]


# --- domain and DNS watch -------------------------------------------------------------


def _dns_changed(f: Facts) -> Parts:
    changes = f.data.get("changes")
    parts: list[str] = []
    for kind, change in sorted(changes.items()) if isinstance(changes, dict) else []:
        if not isinstance(change, dict):
            continue
        added = [clip(v, 60) for v in Facts(change).items("added") if isinstance(v, str)]
        removed = [clip(v, 60) for v in Facts(change).items("removed") if isinstance(v, str)]
        what = [
            f"+{listing(added, 3)}" if added else None,
            f"-{listing(removed, 3)}" if removed else None,
        ]
        parts.append(f"{clip(str(kind), 8)} " + " ".join(w for w in what if w))
    return [f.text("host", 200), listing(parts, 5) or None]


def _dns_accepted(f: Facts) -> Parts:
    ns = [clip(n, 60) for n in f.items("ns") if isinstance(n, str)]
    return [f"by {by}" if (by := f.text("by", 200)) else None, f.text("why", 200),
            f"name servers {listing(ns, 3)}" if ns else None]  # fmt: skip


def _seo_accepted(f: Facts) -> Parts:
    pages = [clip(p, 80) for p in f.items("pages") if isinstance(p, str)]
    return [f"by {by}" if (by := f.text("by", 200)) else None, listing(pages, 3)]


# --- backups --------------------------------------------------------------------------

_REASONS = {"scheduled": None, "manual": "manual", "safety": "safety copy before a restore"}


def _reason(f: Facts) -> str | None:
    reason = f.text("reason")
    return _REASONS.get(reason, reason) if reason else None


def _snapshot(f: Facts, key: str = "snapshot", label: str = "snapshot") -> str | None:
    snapshot = f.text(key)
    return f"{label} {short_id(snapshot)}" if snapshot else None


def _took(f: Facts, key: str = "duration", prefix: str = "") -> str | None:
    length = f.number(key)
    return f"{prefix}{seconds(length)}" if length is not None and length >= 0.05 else None


def _taken(f: Facts) -> Parts:
    files, added, total = f.number("files"), f.number("bytes_added"), f.number("bytes_total")
    in_all = f"{size(total)} in all"
    figures = [
        plural(files, "file") if files is not None else None,
        f"{size(added)} new ({in_all})" if added is not None and total is not None
        else f"{size(added)} new" if added is not None
        else in_all if total is not None
        else None,
        _took(f),
    ]  # fmt: skip
    return [", ".join(p for p in figures if p), _snapshot(f), _reason(f)]


def _failed(f: Facts) -> Parts:
    return [f.text("error", 200), _took(f, prefix="after "), _reason(f)]


def _pruned(f: Facts) -> Parts:
    ids = [short_id(s) for s in f.items("snapshots") if isinstance(s, str)]
    return [f"{plural(len(ids), 'snapshot')} removed: {listing(ids, 4)}" if ids else None]


def _restored(f: Facts) -> Parts:
    to = f.text("to")
    where = " in place" if to == "in-place" else f" to {to}" if to else ""
    took = _took(f)
    snapshot = _snapshot(f)
    return [
        f"{snapshot}{where}" + (f", {took}" if took else "") if snapshot else None,
        _snapshot(f, "safety_snapshot", "safety snapshot"),
    ]


def _restore_failed(f: Facts) -> Parts:
    return [_snapshot(f), f.text("error", 200)]


def _drill(f: Facts) -> Parts:
    return [f.text("detail", 200), _snapshot(f), _took(f)]


def _disposed(f: Facts) -> Parts:
    count = len([s for s in f.items("snapshots") if isinstance(s, str)])
    where = f.text("repository", 200)
    return [
        plural(count, "snapshot") if where and not f.text("unlisted") else None,
        f"restic host {f.text('host', 80)}" if where else "no backups",
        f"in {where}" if where else None,
        f"not listed: {f.text('unlisted', 200)}" if f.text("unlisted") else None,
    ]


_INCIDENT = "kind cause url duration_s"
_DELIVERY = "notification_id event_id attempts channel error"
_PLACE = "location last_result_at silent_s"


def _server(f: Facts) -> str | None:
    """``host:port`` of an SSH server."""
    host, port = f.text("host", 200), f.number("port")
    return f"{host}:{port:g}" if host and port is not None else host


def _ssh_access(value: Any) -> str:
    """``user@host:port`` (``as owner``) of a stored SSH access, or "none"."""
    if not isinstance(value, Mapping):
        return "none"
    access = Facts(value)
    where = f"{access.text('user', 64)}@{_server(access)}"
    owner = access.text("sudo_user", 64)
    return f"{where} as {owner}" if owner else where


def _ssh_changed(f: Facts) -> Parts:
    before, after = f.data.get("before"), f.data.get("after")
    parts: Parts = [f"{_ssh_access(before)} → {_ssh_access(after)}"]
    for key in ("docroot", "key_id"):
        old = before.get(key) if isinstance(before, Mapping) else None
        new = after.get(key) if isinstance(after, Mapping) else None
        if old != new:
            parts.append(f"{key} {clip(str(old), 80)} → {clip(str(new), 80)}")
    return parts


def _update_item(item: Any) -> str:
    if not isinstance(item, Mapping):
        return "?"
    kind, name = _version(item, "type"), _version(item, "package") or "?"
    old, new = _version(item, "installed"), _version(item, "target")
    return f"{kind} {name} {old} → {new}".strip()


def _update(f: Facts) -> Parts:
    """What moved, the step that failed (and what it saw), the snapshot to go back to."""
    failed = [
        f"{_version(s, 'name')}: {_version(s, 'detail')}".rstrip(": ")
        for s in f.items("steps")
        if isinstance(s, Mapping) and s.get("ok") is False
    ]
    snapshot = f.text("snapshot")
    return [
        listing([_update_item(i) for i in f.items("items")]),
        listing(failed, 2) or None,
        f.text("error", 200),
        f"snapshot {short_id(snapshot)}" if snapshot else None,
        seconds(f.number("duration")) if f.number("duration") is not None else None,
    ]


_UPDATE = "run trigger items steps snapshot error duration"
_SITE = "name url source"
_KEY = "key_id name fingerprint"
_PIN = "site host port fingerprint key_known"
_FINDING = (
    "finding_id kind ecosystem type package installed latest advisory_id security certainty basis"
)
_DRILL = "snapshot detail restore_seconds duration home_status home_ms"
_REPORT = "report_id scope period sha256 recipients by error"


def _report(f: Facts) -> Parts:
    """The period (and the contract), to whom, by whom, and what the server said."""
    scope = f.text("scope")
    to = listing([r for r in f.items("recipients") if isinstance(r, str)], 3)
    return [
        f.text("period"),
        scope.replace(":", " ") if scope and scope != "client" else None,
        f"to {to}" if to else None,
        f"by {by}" if (by := f.text("by", 200)) and by != "schedule" else None,
        f.text("error", 200),
    ]


SPECS: dict[str, Spec] = {
    EventKind.INCIDENT_OPENED: _spec(
        lambda f: _incident_title(f, "Certificate expiring", "Site went down", "Site unreachable"),
        "bad",
        lambda f: [_cause(f)],
        _INCIDENT,
    ),
    EventKind.INCIDENT_CLOSED: _spec(
        lambda f: _incident_title(f, "Certificate renewed", "Site back up", "Site reachable again"),
        "good",
        _closed,
        _INCIDENT,
    ),
    EventKind.INCIDENT_REMINDER: _spec(
        "Still down", "bad", lambda f: [_for(f, "open_for_s", "down")], "open_for_s"
    ),
    EventKind.NOTIFICATION_SENT: _spec("Alert sent", "info", _delivery, _DELIVERY),
    EventKind.NOTIFICATION_FAILED: _spec("Alert not delivered", "bad", _delivery, _DELIVERY),
    EventKind.SITE_ADDED: _spec("Site added", "info", _site, _SITE),
    EventKind.SITE_REMOVED: _spec("Site removed", "info", _site, _SITE),
    EventKind.CHECKS_ROLLED_UP: _spec(
        "Check history summarised", "info", _rolled_up, "days raw_pruned"
    ),
    EventKind.LOCATION_SILENT: _spec(
        "Check location silent", "bad", lambda f: [f.text("location"), _last_result(f)], _PLACE
    ),
    EventKind.LOCATION_BACK: _spec(
        "Check location back", "good", lambda f: [f.text("location"), _silent_for(f)], _PLACE
    ),
    IntelEventKind.INVENTORY_CHANGED: _spec(
        lambda f: "Software inventoried" if f.flag("first") else "Software changed",
        "info",
        _inventory,
        "first " + " ".join(key for key, _ in _INVENTORY),
    ),
    IntelEventKind.FINGERPRINT_CHANGED: _spec(
        lambda f: "CMS detected" if f.text("cms") else "CMS no longer recognised",
        "info",
        _fingerprint,
        "cms version candidates",
    ),
    IntelEventKind.FINDING_OPENED: _spec(
        lambda f: _OPENED.get(_noun(f), "Finding opened"),
        lambda f: (
            "bad"
            if _noun(f) in ("Vulnerability", "Security update")
            or (_noun(f) in _HACK_SIGNS and f.flag("security"))
            else "info"
        ),
        _finding,
        _FINDING,
    ),
    IntelEventKind.FINDING_RESOLVED: _spec(
        lambda f: f"{_noun(f)} resolved", "good", _finding, _FINDING
    ),
    IntelEventKind.FINDING_ACKNOWLEDGED: _spec(
        lambda f: f"{_noun(f)} acknowledged as not a problem",
        "info",
        _acknowledged,
        "finding_id key kind package title digest reason actor",
    ),
    IntelEventKind.FINDING_UNACKNOWLEDGED: _spec(
        lambda f: f"{_noun(f)}: acknowledgement undone",
        "bad",
        _acknowledged,
        "finding_id key kind package title digest reason actor",
    ),
    IntelEventKind.ADVISORIES_IMPORTED: _spec(
        "Advisories imported", "info", _advisories, "advisories count opened"
    ),
    IntelEventKind.SOFTWARE_ALERT: _spec(
        "Software alert", "bad", _alert, "sites site_count advisories"
    ),
    IntelEventKind.SECURITY_ALERT: _spec(
        "Security alert", "bad", _security_alert, "sites site_count issues"
    ),
    IntelEventKind.INTEGRITY_ALERT: _spec(
        "Integrity alert", "bad", _security_alert, "sites site_count issues"
    ),
    SeoEventKind.SEO_ALERT: _spec("SEO alert", "bad", _security_alert, "sites site_count issues"),
    SeoEventKind.BASELINE_ACCEPTED: _spec(
        "Page baselines accepted", "info", _seo_accepted, "by pages"
    ),
    DomainEventKind.DNS_CHANGED: _spec(
        "DNS records changed", "info", _dns_changed, "host domain changes"
    ),
    DomainEventKind.DNS_ACCEPTED: _spec("DNS change accepted", "info", _dns_accepted, "by why ns"),
    DomainEventKind.DOMAIN_ALERT: _spec(
        "Domain alert", "bad", _security_alert, "sites site_count issues"
    ),
    BackupEventKind.BACKUP_TAKEN: _spec(
        "Backup taken",
        "good",
        _taken,
        "run reason snapshot files files_new files_changed bytes_total bytes_added"
        " bytes_transferred database_bytes duration",
    ),
    BackupEventKind.BACKUP_FAILED: _spec(
        "Backup failed", "bad", _failed, "run reason error duration"
    ),
    BackupEventKind.BACKUP_INTERRUPTED: _spec(
        "Backup interrupted",
        "bad",
        lambda f: [f.text("error", 200), _reason(f)],
        "run reason error",
    ),
    BackupEventKind.BACKUP_PRUNED: _spec("Old backups pruned", "info", _pruned, "snapshots"),
    BackupEventKind.BACKUP_RESTORED: _spec(
        "Backup restored", "good", _restored, "snapshot to duration safety_snapshot"
    ),
    BackupEventKind.RESTORE_FAILED: _spec(
        "Restore failed", "bad", _restore_failed, "snapshot error"
    ),
    BackupEventKind.BACKUP_VERIFIED: _spec("Restore drill passed", "good", _drill, _DRILL),
    BackupEventKind.BACKUP_VERIFICATION_FAILED: _spec(
        "Restore drill failed", "bad", _drill, _DRILL
    ),
    BackupEventKind.BACKUPS_KEPT: _spec(
        "Backups kept after the site was removed",
        "info",
        _disposed,
        "host repository snapshots unlisted",
    ),
    BackupEventKind.BACKUPS_PURGED: _spec(
        "Backups deleted with the site", "info", _disposed, "host repository snapshots"
    ),
    UpdateEventKind.APPLIED: _spec("Updated", "good", _update, _UPDATE),
    UpdateEventKind.NEEDS_REVIEW: _spec(
        "Updated, home page looks different: needs review", "bad", _update, _UPDATE
    ),
    UpdateEventKind.ROLLED_BACK: _spec("Update rolled back", "bad", _update, _UPDATE),
    UpdateEventKind.REFUSED: _spec("Update refused", "bad", _update, _UPDATE),
    UpdateEventKind.FAILED: _spec("Update failed, site not restored", "bad", _update, _UPDATE),
    UpdateEventKind.INTERRUPTED: _spec("Update interrupted", "bad", _update, _UPDATE),
    ReportEventKind.GENERATED: _spec("Report archived", "info", _report, _REPORT),
    ReportEventKind.REGENERATED: _spec("Report rendered again", "info", _report, _REPORT),
    ReportEventKind.SENT: _spec("Report sent", "good", _report, _REPORT),
    ReportEventKind.SEND_FAILED: _spec("Report not delivered", "bad", _report, _REPORT),
    SshEventKind.KEY_IMPORTED: _spec(
        "SSH key kept", "info", lambda f: [f.text("name"), f.text("fingerprint")], _KEY
    ),
    SshEventKind.KEY_PATH_MIGRATED: _spec(
        lambda f: "SSH key file not imported" if f.text("problem") else "SSH key file imported",
        lambda f: "bad" if f.text("problem") else "info",
        lambda f: [f.text("path", 200), f.text("problem", 200)],
        "path key_id problem",
    ),
    SshEventKind.ACCESS_CHANGED: _spec("SSH access changed", "info", _ssh_changed, "before after"),
    SshEventKind.HOST_KEY_TRUSTED: _spec(
        "Host key pinned", "info", lambda f: [_server(f), f.text("fingerprint")], _PIN
    ),
    SshEventKind.HOST_KEY_FORGOTTEN: _spec(
        "Host key pin dropped",
        "info",
        lambda f: [_server(f), f.text("fingerprint"), None if f.flag("forgotten") else "none set"],
        _PIN + " forgotten",
    ),
}


# --- anything else --------------------------------------------------------------------


def _value(key: str, value: Any, nested: bool = False) -> str | None:
    """One value by what its key says it is (bytes, seconds, a snapshot id), else as is."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if "bytes" in key:
            return size(value)
        if key in ("duration", "seconds") or key.endswith(("_s", "_seconds")):
            return seconds(value)
        return f"{count(value)} ms" if key.endswith("_ms") else count(value)
    if isinstance(value, str):
        return (short_id(value) if "snapshot" in key else clip(value, _VALUE_MAX)) or None
    if nested:
        return "…"
    if isinstance(value, Mapping):
        inner = [f"{_label(k)}: {t}" for k, v in value.items() if (t := _value(str(k), v, True))]
        return listing(inner, 3) or None
    if isinstance(value, list | tuple):
        return listing([v for item in value if (v := _value(key, item, True))], 3) or None
    return clip(value, _VALUE_MAX)


def _label(key: object) -> str:
    return clip(str(key).replace("_", " "), 40)


def _generic(data: Mapping[str, Any], known: frozenset[str]) -> list[str]:
    """``key: value`` for the keys no spec reads (the first 20: a label, not a dump)."""
    parts = []
    for key, value in islice(data.items(), 20):
        if key not in known and (text := _value(str(key), value)):
            parts.append(f"{_label(key)}: {text}")
    return parts


def _kind_title(kind: str) -> str:
    words = clip(kind.replace(".", " ").replace("_", " "), 60)
    return words[:1].upper() + words[1:] if words else "Event"


def describe(kind: str, data: Mapping[str, Any] | None) -> EventText:
    """The title, detail line and tone of a journal event of ``kind`` with ``data``."""
    kind = str(kind)
    raw: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    spec = SPECS.get(kind)
    if spec is None:
        tone: Tone = "bad" if "fail" in kind else "info"
        return EventText(_kind_title(kind), _join(_generic(raw, frozenset())), tone)
    facts = Facts(raw)
    title = spec.title if isinstance(spec.title, str) else spec.title(facts)
    tone = spec.tone(facts) if callable(spec.tone) else spec.tone
    return EventText(title, _join([*spec.detail(facts), *_generic(raw, spec.keys)]), tone)


def _join(parts: list[str | None] | list[str]) -> str:
    return clip(" · ".join(p for p in parts if p), DETAIL_MAX)
