"""A site's files against its vendors' lists and the places code never belongs (pure).

Input: the walk's records, the previous manifest, the vendor lists the caller could get
(core, each extension) and the CMS's rules (``IntegrityRules``, read from the CMS
package's ``integrity.toml``: the files the CMS itself may change, where its code lives,
where no code belongs). Output: issues with a severity and a one-line fix, and notes on
what could not be compared (no list for this version is said, never guessed).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sitekeeper.domain.integrity import IntegrityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.scan.manifest import FileRecord, shown_path, text_path

CODE = frozenset(
    {".php", ".phtml", ".pht", ".phar", ".inc", ".js", ".mjs"} | {f".php{n}" for n in range(3, 9)}
)
PHP = frozenset({".php", ".phtml", ".pht", ".phar"} | {f".php{n}" for n in range(3, 9)})
# What an upload form accepts: a PHP suffix before or after one of these is a disguise.
HARMLESS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".bmp", ".pdf", ".txt", ".zip"}
    | {".doc", ".docx", ".xls", ".xlsx", ".mp3", ".mp4", ".css", ".html", ".htm"}
)


@dataclass(frozen=True, slots=True)
class IntegrityRules:
    """One CMS's data (its ``integrity.toml``): paths are relative to the docroot; an
    entry ending in ``/`` is a folder and all it holds, any other a glob within one
    folder level (``*.php``: the PHP files at the top)."""

    ignore: tuple[str, ...] = ()  # files the CMS or its host writes: never an issue
    not_core: tuple[str, ...] = ()  # core-list entries not compared (bundled extensions)
    core_trees: tuple[str, ...] = ()  # an unlisted file here is an added core file
    no_code: tuple[str, ...] = ()  # where PHP never belongs (uploads)
    code_folders: tuple[str, ...] = ()  # where the site's code lives (a late change there)
    extensions: Mapping[str, str] = field(default_factory=dict)  # type -> "dir/{slug}/"

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> IntegrityRules:
        """The rules from a parsed TOML table (unknown keys ignored, types checked)."""

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"integrity rules: {key!r} must be a list of strings")
            return tuple(value)

        ext = data.get("extensions", {})
        if not isinstance(ext, dict) or not all(isinstance(v, str) for v in ext.values()):
            raise ValueError("integrity rules: 'extensions' must map a type to a folder")
        return cls(
            ignore=strings("ignore"),
            not_core=strings("not_core"),
            core_trees=strings("core_trees"),
            no_code=strings("no_code"),
            code_folders=strings("code_folders"),
            extensions=dict(ext),
        )


@dataclass(frozen=True, slots=True)
class VendorList:
    """A vendor's digests for one component (core or one extension), relative to
    ``prefix`` in the docroot; ``algorithm`` is the record field it is compared with."""

    prefix: str  # "" for core, "wp-content/plugins/akismet/" for a plugin
    what: str  # "core 6.1.9", "plugin akismet 5.0.2"
    algorithm: str  # "md5" or "sha256"
    digests: Mapping[str, frozenset[str]]
    core: bool = False


@dataclass(slots=True)
class Comparison:
    """What the comparison found and what it could not compare."""

    issues: list[IntegrityIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verified: set[bytes] = field(default_factory=set)  # files a vendor list vouches for
    judged: set[bytes] = field(default_factory=set)  # listed but different: modified


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Whether ``path`` is one of ``patterns`` (a folder prefix or a glob)."""
    for pattern in patterns:
        if pattern.endswith("/"):
            if path.startswith(pattern):
                return True
        elif path.count("/") == pattern.count("/") and fnmatch.fnmatchcase(path, pattern):
            return True
    return False


def suffixes(path: bytes) -> list[str]:
    """The name's suffixes, lower case (``x.PHP.jpg`` -> [".php", ".jpg"])."""
    name = posixpath.basename(path.decode("utf-8", errors="replace")).lower()
    parts = name.split(".")[1:] if not name.startswith(".") else name.split(".")[2:]
    return [f".{p}" for p in parts if p][-4:]


def is_code(path: bytes) -> bool:
    """Whether a server or a browser runs this file (PHP or JavaScript by its name)."""
    found = suffixes(path)
    return bool(found) and found[-1] in CODE


def compare(
    files: Mapping[bytes, FileRecord],
    lists: Sequence[VendorList],
    rules: IntegrityRules,
    *,
    previous: Mapping[bytes, FileRecord] | None = None,
    explained: bool = False,
    changed_after: Baseline | None = None,
) -> Comparison:
    """Every issue of ``files``. ``previous``: the last complete manifest (None: first
    scan, nothing is "new"); ``explained``: an update ran since, so new files are its;
    ``changed_after``: code changed after it (by ctime) is unexplained."""
    result = Comparison()
    for vendor in lists:
        _against(files, vendor, rules, result)
    listed_prefixes = tuple(v.prefix for v in lists if not v.core)
    core = next((v for v in lists if v.core), None)
    for path, record in files.items():
        text = text_path(path)
        name = text if text is not None else path.decode("utf-8", errors="replace")
        if text is not None and matches(text, rules.ignore):
            continue
        # a file the vendor ships (getID3's module.audio.mp3.php) is no disguise
        flagged = path not in result.verified and _placement(path, name, record, rules, result)
        seen = path in result.verified or path in result.judged
        if text is None or record.kind != "file" or seen:
            flagged = flagged or (text is None and _odd_name(path, record, result))
        elif core is not None and matches(text, rules.core_trees):
            result.issues.append(_added(path, record, core.what, "core"))
            flagged = True
        elif listed_prefixes and text.startswith(listed_prefixes) and is_code(path):
            owner = next(v for v in lists if not v.core and text.startswith(v.prefix))
            result.issues.append(_added(path, record, owner.what, "ext"))
            flagged = True
        if (
            not flagged
            and previous is not None
            and not explained
            and path not in previous
            and not seen
            and is_code(path)
        ):
            result.issues.append(
                IntegrityIssue(
                    "new-file", path, Severity.MEDIUM,
                    f"new code file since the last scan: {shown_path(path)}",
                    "No update explains it: check who put it there; delete it if it is not yours",
                    record.sha256 or "",
                )
            )  # fmt: skip
            flagged = True
        if not flagged and not seen and changed_after is not None and text is not None:
            before = previous.get(path) if previous is not None else None
            _late(path, text, record, before, rules, since=changed_after, out=result)
    return result


@dataclass(frozen=True, slots=True)
class Baseline:
    """Since when a code file's change is unexplained: the last journaled update, restore
    or rollback, or the site's first scan (``at``: the server's clock, epoch seconds)."""

    at: int
    what: str  # "the last update", "the first scan"


def _late(
    path: bytes, text: str, record: FileRecord, before: FileRecord | None,
    rules: IntegrityRules, *, since: Baseline, out: Comparison,
) -> None:  # fmt: skip
    """A code file whose ctime (the one stamp a user cannot set back) is after ``since``
    and whose content changed with it: a chmod or chown (a host fixing permissions) moves
    the ctime of files whose bytes are what the last scan hashed, and is no change."""
    if record.kind != "file" or not is_code(path) or not matches(text, rules.code_folders):
        return
    if record.ctime <= since.at:
        return
    same_bytes = before is not None and before.sha256 is not None and before.sha256 == record.sha256
    if same_bytes and before is not None and before.ctime <= since.at:
        return  # only its inode changed since it was last seen unexplained-free
    changed = _when(record.ctime)
    reset = f" (its mtime says {_when(record.mtime)}: set back)" if record.mtime < since.at else ""
    out.issues.append(
        IntegrityIssue(
            "changed-late", path, Severity.MEDIUM,
            f"a code file changed at {changed}{reset}, after {since.what} "
            f"({_when(since.at)}), and no journal entry explains it: {shown_path(path)}",
            "Find out who changed it (deploy, plugin, attacker); compare it with a backup "
            "from before that time",
            record.sha256 or "",
        )
    )  # fmt: skip


def _when(epoch: int) -> str:
    """An epoch time as a person reads it (UTC, to the minute)."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return f"{epoch} (not a date)"


def _against(
    files: Mapping[bytes, FileRecord], vendor: VendorList, rules: IntegrityRules, out: Comparison
) -> None:
    field_name = "md5" if vendor.algorithm == "md5" else "sha256"
    scope = "core" if vendor.core else "ext"
    for rel, accepted in vendor.digests.items():
        full = vendor.prefix + rel
        if vendor.core and matches(full, rules.not_core):
            continue
        if matches(full, rules.ignore):
            continue
        path = full.encode()
        record = files.get(path)
        if record is None or record.kind != "file":
            out.issues.append(
                IntegrityIssue(
                    f"{scope}-missing", path, Severity.LOW,
                    f"{vendor.what}: a file of the release is missing: {shown_path(path)}",
                    "Reinstall the same version from the vendor to put it back", "",
                )
            )  # fmt: skip
            continue
        digest = getattr(record, field_name)
        if digest is None:
            out.notes.append(f"{shown_path(path)}: not hashed (over the size cap), not compared")
            continue
        if digest in accepted:
            out.verified.add(path)
            continue
        severe = Severity.HIGH if is_code(path) else Severity.MEDIUM
        out.issues.append(
            IntegrityIssue(
                f"{scope}-modified", path, severe,
                f"{vendor.what}: a file differs from the vendor's: {shown_path(path)}",
                "Compare it with the release; reinstall the same version to restore it, "
                "then find how it was changed",
                record.sha256 or "",
            )
        )  # fmt: skip
        out.judged.add(path)  # not "added" or "new" as well


def _added(path: bytes, record: FileRecord, what: str, scope: str) -> IntegrityIssue:
    severe = Severity.HIGH if is_code(path) else Severity.MEDIUM
    return IntegrityIssue(
        f"{scope}-added", path, severe,
        f"{what}: a file the release does not have: {shown_path(path)}",
        "Not part of the release: delete it unless you know who added it and why",
        record.sha256 or "",
    )  # fmt: skip


def _placement(
    path: bytes, name: str, record: FileRecord, rules: IntegrityRules, out: Comparison
) -> bool:
    """PHP where none belongs and disguised names; whether it flagged anything."""
    found = suffixes(path)
    flagged = False
    if record.kind == "file" and found and found[-1] in PHP and matches(name, rules.no_code):
        out.issues.append(
            IntegrityIssue(
                "php-in-uploads", path, Severity.CRITICAL,
                f"PHP in a folder of uploads: {shown_path(path)}",
                "Uploads never hold PHP: take the site offline if it is a web shell, delete "
                "it, and stop PHP from running in that folder",
                record.sha256 or "",
            )
        )  # fmt: skip
        flagged = True
    disguised = any(s in PHP for s in found[:-1]) or (
        len(found) >= 2 and found[-1] in PHP and found[-2] in HARMLESS
    )
    if disguised and record.kind == "file":
        out.issues.append(
            IntegrityIssue(
                "double-ext", path, Severity.HIGH,
                f"a file name with a double extension: {shown_path(path)}",
                "A PHP extension beside an image's is how shells pass upload filters: "
                "delete it unless it is yours",
                record.sha256 or "",
            )
        )  # fmt: skip
        flagged = True
    return flagged


def _odd_name(path: bytes, record: FileRecord, out: Comparison) -> bool:
    """A code file whose name is not UTF-8: no release ships one."""
    if record.kind != "file" or not is_code(path):
        return False
    out.issues.append(
        IntegrityIssue(
            "odd-name", path, Severity.MEDIUM,
            f"a code file whose name is not valid UTF-8: {shown_path(path)}",
            "No release ships such a name: look at it and delete it if it is not yours",
            record.sha256 or "",
        )
    )  # fmt: skip
    return True
