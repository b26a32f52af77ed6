"""The restic driver: every restic command sitekeeper runs, with JSON output parsed.

restic does the hard parts (content-defined chunking, dedup, encryption,
atomic snapshots: a snapshot exists only once all its data is stored, so an
interrupted backup never damages an earlier one). This module only builds
argument lists, passes secrets through the environment (never argv), reads
``--json`` output and turns failures into :class:`BackupError` with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sitekeeper.backup.errors import BackupError, RepositoryLocked
from sitekeeper.backup.repository import OpenRepository
from sitekeeper.domain.untrusted import shown

ProgressCallback = Callable[[dict[str, Any]], None]
_STDERR_KEEP = 64 * 1024
_LINE_LIMIT = 256 * 1024 * 1024  # `snapshots --json` is one line for the whole list
_INCOMPLETE = 3
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True)
class BackupSummary:
    """The figures restic reports for one finished backup."""

    snapshot_id: str
    files_new: int
    files_changed: int
    files_unmodified: int
    files_total: int
    bytes_total: int
    bytes_added: int
    duration: float


@dataclass(frozen=True)
class Snapshot:
    """One snapshot as ``restic snapshots --json`` lists it."""

    id: str
    short_id: str
    time: datetime
    host: str
    tags: tuple[str, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class SnapshotDiff:
    """What ``restic diff`` saw between two snapshots: (path, modifier) per entry ("+"
    added, "-" removed, "M" content changed, "U" metadata only, "T" type changed), at most
    ``limit`` of them (``truncated``: there were more)."""

    changes: list[tuple[str, str]]
    truncated: bool = False


@dataclass(frozen=True)
class ResticResult:
    """Exit status and captured output of one restic command."""

    status: int
    stdout: bytes
    stderr: str


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 time (nanoseconds, any offset) as aware UTC."""
    value = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def classify(stderr: str) -> tuple[str, bool]:
    """A short reason for a failed restic run and whether retrying may help."""
    text = stderr.lower()
    if "no space left on device" in text:
        return "the backup repository's disk is full", False
    if "already locked" in text:
        return "the repository is locked by another restic run", False
    if "wrong password" in text:
        return "the repository password is wrong (was the repository replaced?)", True
    if "is there a repository at the following location" in text:
        return "no restic repository at the configured location", True
    return "restic failed", False


class Restic:
    """restic bound to one repository."""

    def __init__(
        self, repo: OpenRepository, *, binary: str = "restic", cache_dir: Path | None = None
    ) -> None:
        self.repo = repo
        self.binary = binary
        self.cache_dir = cache_dir

    def _env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "RESTIC_REPOSITORY": self.repo.location,
            "RESTIC_PASSWORD": self.repo.password,
            "RESTIC_PROGRESS_FPS": "2",
            **self.repo.env,
        }
        if self.cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(self.cache_dir)
        return env

    async def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        on_json: ProgressCallback | None = None,
        check: bool = True,
    ) -> ResticResult:
        """Run ``restic ARGS``; JSON lines go to ``on_json`` as they arrive.

        If the caller is cancelled, restic gets SIGTERM so it removes its own
        lock (a SIGKILLed restic leaves a stale lock; :meth:`unlock` clears it).
        """
        argv = [self.binary, *self.repo.extra_args, *args]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=self._env(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_LINE_LIMIT,
            )
        except OSError as exc:
            raise BackupError(f"cannot run {self.binary}: {exc.strerror}", permanent=True) from exc
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            out, err = await asyncio.gather(
                _read_lines(proc.stdout, on_json), _read_tail(proc.stderr)
            )
            status = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        result = ResticResult(status, out, err)
        if check and status != 0:
            raise self.error(args[0], result)
        return result

    def error(self, command: str, result: ResticResult) -> BackupError:
        """The BackupError for a failed command, with restic's last words."""
        reason, permanent = classify(result.stderr)
        lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
        # restic quotes file names from the site and what remote storage said: escaped.
        detail = shown(" | ".join(lines[-3:]), 600)
        kind = RepositoryLocked if "locked" in reason else BackupError
        return kind(
            f"restic {command}: {reason} (exit {result.status}): {detail}", permanent=permanent
        )

    async def ensure_initialized(self) -> bool:
        """Create the repository (format 2: compressed) unless it exists; True if created."""
        probe = await self.run(["cat", "config"], check=False)
        if probe.status == 0:
            return False
        reason, _ = classify(probe.stderr)
        if "no restic repository" not in reason:
            raise self.error("cat config", probe)
        await self.run(["init", "--repository-version", "2"])
        return True

    async def unlock(self) -> None:
        """Remove stale locks only (of dead processes on this host, or older than 30 min)."""
        await self.run(["unlock"])

    async def backup(
        self,
        cwd: Path,
        paths: Sequence[str],
        *,
        host: str,
        tags: Sequence[str],
        time: datetime | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BackupSummary:
        """Store ``paths`` (relative to ``cwd``, so restores keep that layout) as a snapshot."""
        args = ["backup", "--json", "--host", host]
        for tag in tags:
            args += ["--tag", tag]
        if time is not None:
            args += ["--time", time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")]
        summary: dict[str, Any] = {}

        def seen(message: dict[str, Any]) -> None:
            if message.get("message_type") == "summary":
                summary.update(message)
            elif on_progress is not None:
                on_progress(message)

        result = await self.run([*args, "--", *paths], cwd=cwd, on_json=seen, check=False)
        # Exit 3: the snapshot was written but some source files could not be read.
        if result.status not in (0, _INCOMPLETE) or "snapshot_id" not in summary:
            raise self.error("backup", result)
        return BackupSummary(
            snapshot_id=str(summary["snapshot_id"]),
            files_new=int(summary.get("files_new", 0)),
            files_changed=int(summary.get("files_changed", 0)),
            files_unmodified=int(summary.get("files_unmodified", 0)),
            files_total=int(summary.get("total_files_processed", 0)),
            bytes_total=int(summary.get("total_bytes_processed", 0)),
            bytes_added=int(summary.get("data_added", 0)),
            duration=float(summary.get("total_duration", 0.0)),
        )

    async def snapshots(
        self, *, host: str | None = None, hosts: Sequence[str] = (), tags: Sequence[str] = ()
    ) -> list[Snapshot]:
        """Snapshots, oldest first, optionally of some hosts (sites), with any of ``tags``."""
        args = ["snapshots", "--json"]
        for each in [host] if host is not None else hosts:
            args += ["--host", each]
        for tag in tags:
            args += ["--tag", tag]
        result = await self.run(args)
        raw = json.loads(result.stdout or b"[]") or []
        return [
            Snapshot(
                id=item["id"],
                short_id=item.get("short_id", item["id"][:8]),
                time=parse_time(item["time"]),
                host=item.get("hostname", ""),
                tags=tuple(item.get("tags") or ()),
                paths=tuple(item.get("paths") or ()),
            )
            for item in raw
        ]

    async def forget(
        self,
        *,
        hosts: Sequence[str],
        keep_daily: int,
        keep_weekly: int,
        keep_monthly: int,
        tags: Sequence[str] = (),
        prune: bool = True,
    ) -> dict[str, list[str]]:
        """Apply a retention policy to these hosts' snapshots (each its own group).

        ``tags``: only snapshots with one of these tags count (and may go); ``prune``:
        also drop the data no snapshot needs any more. Returns the removed ids per host.
        """
        keep = {"--keep-daily": keep_daily, "--keep-weekly": keep_weekly}
        keep["--keep-monthly"] = keep_monthly
        args = ["forget", "--json", "--group-by", "host", *(["--prune"] if prune else [])]
        for host in hosts:
            args += ["--host", host]
        for tag in tags:
            args += ["--tag", tag]
        for flag, count in keep.items():
            if count > 0:
                args += [flag, str(count)]
        if all(count == 0 for count in keep.values()):
            args += ["--keep-last", "1"]  # a plan without retention still keeps the newest
        result = await self.run(args)
        removed: dict[str, list[str]] = {}
        for group in _forget_groups(result.stdout.decode("utf-8", errors="replace")):
            for snap in group.get("remove") or []:
                removed.setdefault(snap.get("hostname", ""), []).append(snap["id"])
        return removed

    async def forget_snapshots(self, ids: Sequence[str], *, prune: bool = True) -> None:
        """Forget these snapshots and (``prune``) the data only they used (nothing if none)."""
        if ids:
            await self.run(["forget", *(["--prune"] if prune else []), "--", *ids])

    async def prune(self) -> None:
        """Drop the data no snapshot needs any more (takes the exclusive lock)."""
        await self.run(["prune"])

    async def restore(self, snapshot: str, target: Path, *, include: Sequence[str] = ()) -> None:
        """Write a snapshot (names, modes, symlinks, mtimes) under ``target``."""
        args = ["restore", snapshot, "--target", str(target)]
        for pattern in include:
            args += ["--include", pattern]
        await self.run(args)

    async def diff(self, older: str, newer: str, *, limit: int = 100_000) -> SnapshotDiff:
        """The entries that differ between two snapshots (``diff --json``, restic 0.12+),
        kept up to ``limit`` as they stream (a hacked site may have changed every file)."""
        changes: list[tuple[str, str]] = []
        seen = 0

        def change(message: dict[str, Any]) -> None:
            nonlocal seen
            if message.get("message_type") != "change":
                return
            seen += 1
            path, modifier = message.get("path"), message.get("modifier")
            if len(changes) < limit and isinstance(path, str) and isinstance(modifier, str):
                changes.append((path[:8192], modifier[:4]))

        await self.run(["diff", "--json", "--", older, newer], on_json=change)
        return SnapshotDiff(changes, truncated=seen > limit)

    async def check(self, *, read_data: bool = False) -> None:
        """``restic check``: the repository's structure (and with ``read_data`` every blob)."""
        await self.run(["check", *(["--read-data"] if read_data else [])])

    async def raw_size(self) -> int:
        """Bytes the repository stores (after dedup and compression)."""
        result = await self.run(["stats", "--json", "--mode", "raw-data"])
        return int(json.loads(result.stdout).get("total_size", 0))


def _forget_groups(stdout: str) -> list[dict[str, Any]]:
    """The JSON list ``forget --json`` prints; prune's text may follow on the same line."""
    decoder = json.JSONDecoder()
    for line in stdout.splitlines():
        if not line.startswith("[{") and line.strip() != "[]":
            continue  # progress lines like "[0:00] 100.00%" are not JSON
        try:
            value, _ = decoder.raw_decode(line)
        except ValueError:
            continue
        if isinstance(value, list):
            return [g for g in value if isinstance(g, dict)]
    return []


async def _read_lines(stream: asyncio.StreamReader, on_json: ProgressCallback | None) -> bytes:
    """stdout, handing each JSON object line to ``on_json`` as it arrives."""
    chunks: list[bytes] = []
    while line := await stream.readline():
        if on_json is not None and line.startswith(b"{"):
            with contextlib.suppress(ValueError):  # a broken line is only progress noise
                on_json(json.loads(line))
            continue
        chunks.append(line)
    return b"".join(chunks)


async def _read_tail(stream: asyncio.StreamReader) -> str:
    """stderr, keeping only the last 64 KiB (restic may warn about every file)."""
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-_STDERR_KEEP:]
    return tail.decode("utf-8", errors="replace")
