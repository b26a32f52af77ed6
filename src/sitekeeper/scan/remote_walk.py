"""The integrity walk and the fetch of files to scan, each one command over SSH.

``walk.php`` is handed to the site's ``php -n -r`` as an argument (it is ours and short;
nothing is written on the server, nothing to clean up), the previous manifest's stamps
go on stdin, and the records come back in one stream: a rescan of an unchanged site is
one round trip. The fetch sends the hex paths of the files YARA should see and gets
their first bytes back in one stream, capped per file and in total.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files

from sitekeeper.domain.untrusted import server_said
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.scan.manifest import FileRecord, Walk, parse_walk, previous_lines

MiB = 1024 * 1024
_FETCH_HEADER = re.compile(rb"C ((?:[0-9a-f]{2}){1,8000}) ([0-9]{1,12})")


@dataclass(frozen=True, slots=True)
class WalkLimits:
    """Bounds of one scan on the site's server and of what comes back."""

    max_files: int = 100_000
    max_hash_bytes: int = 64 * MiB  # a larger file is listed, not hashed (never clean)
    seconds: float = 300.0
    max_fetch_files: int = 2_000
    max_fetch_file_bytes: int = 2 * MiB  # YARA sees the first bytes of a larger file
    max_fetch_bytes: int = 64 * MiB


@dataclass(slots=True)
class Fetched:
    """Contents the fetch returned (path -> first bytes) and the paths it refused."""

    contents: dict[bytes, bytes] = field(default_factory=dict)
    refused: list[bytes] = field(default_factory=list)
    complete: bool = False


def program() -> str:
    """``walk.php`` without its opening tag, as ``php -r`` takes it."""
    text = files("sitekeeper.scan").joinpath("walk.php").read_text(encoding="utf-8")
    return text.split("\n", 1)[1] if text.startswith("<?php") else text


async def walk(
    conn: SshConnection,
    docroot: str,
    previous: Mapping[bytes, FileRecord],
    limits: WalkLimits,
    *,
    md5: bool = True,
    rehash: Collection[bytes] = (),
) -> Walk:
    """Every file under ``docroot`` with its stamp and digests (one command); ``rehash``:
    files read again even if their stamp is unchanged (the backups saw them change)."""
    marker = f"sk-walk-{secrets.token_hex(12)}"
    argv = [
        "php", "-n", "-r", program(), "--", "walk", docroot, marker,
        str(limits.max_files), str(limits.max_hash_bytes), f"{limits.seconds:g}",
        "1" if md5 else "0",
    ]  # fmt: skip
    result = await conn.run(
        argv,
        stdin=previous_lines({p: r for p, r in previous.items() if p not in rehash}),
        time_limit=limits.seconds + 60,
        check=False,
    )
    if result.exit_status != 0:
        raise RemoteError(
            f"the integrity walk failed (exit {result.exit_status}): "
            f"{server_said(result.stderr, 200)}"
        )
    return parse_walk(result.stdout, marker, previous)


async def fetch(
    conn: SshConnection, docroot: str, paths: Sequence[bytes], limits: WalkLimits
) -> Fetched:
    """The first bytes of ``paths`` (at most ``max_fetch_files`` of them), one command."""
    if not paths:
        return Fetched(complete=True)
    marker = f"sk-fetch-{secrets.token_hex(12)}"
    wanted = list(paths)[: limits.max_fetch_files]
    argv = [
        "php", "-n", "-r", program(), "--", "fetch", docroot, marker,
        str(limits.max_fetch_file_bytes), str(limits.max_fetch_bytes),
    ]  # fmt: skip
    stdin = b"".join(p.hex().encode() + b"\n" for p in wanted)
    result = await conn.run(argv, stdin=stdin, time_limit=limits.seconds + 60, check=False)
    if result.exit_status != 0:
        raise RemoteError(
            f"fetching files to scan failed (exit {result.exit_status}): "
            f"{server_said(result.stderr, 200)}"
        )
    fetched = parse_fetch(result.stdout, marker, set(wanted), limits.max_fetch_file_bytes)
    fetched.complete = fetched.complete and len(wanted) == len(paths)
    return fetched


def parse_fetch(output: bytes, marker: str, wanted: set[bytes], max_file: int) -> Fetched:
    """``C hexpath length`` headers each followed by that many bytes; anything else ends
    the parse (the rest is unknown, so the fetch is not complete)."""
    fetched = Fetched()
    at = output.find(marker.encode() + b"\n")
    if at < 0:
        return fetched
    pos = at + len(marker) + 1
    while pos < len(output):
        end = output.find(b"\n", pos, pos + 20_000)
        if end < 0:
            return fetched
        line = output[pos:end]
        pos = end + 1
        header = _FETCH_HEADER.fullmatch(line)
        if header is not None:
            path, size = bytes.fromhex(header[1].decode()), int(header[2])
            if (
                path not in wanted
                or size > max_file
                or output[pos + size : pos + size + 1] != b"\n"
            ):
                return fetched
            fetched.contents[path] = output[pos : pos + size]
            pos += size + 1
        elif line.startswith(b"X ") and len(line.split(b" ")) == 3:
            hexpath = line.split(b" ")[1]
            try:
                fetched.refused.append(bytes.fromhex(hexpath.decode()))
            except ValueError:
                return fetched
        elif line.startswith(b"E "):
            fetched.complete = not fetched.refused and set(fetched.contents) == wanted
            return fetched
        else:
            return fetched
    return fetched
