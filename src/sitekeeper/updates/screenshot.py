"""A screenshot of a site's home page in Debian's headless Chromium, for the visual check
around an update.

The page is a client's, possibly hacked: Chromium never runs as root here. When
sitekeeper is root it runs as a user of its own (``browser_run_as``, by default
``sitekeeper-browser``; not the restore drills' user, whose scratch folders hold restored
sites), so Chromium's own sandbox stays on, with a fresh profile in a private temporary
folder that is removed afterwards. Each shot has a deadline (the whole
process group is killed at it) and a size cap; the page is loaded past caches (the health
checks' cache-buster) at a fixed window size and scale, scrollbars hidden, so two shots of
the same page compare pixel for pixel. A missing Chromium or a failed shot is a reason in
words (``Shot.error``), never an exception: the visual check is advisory.

Chromium reaches only the site itself (and the host its home page redirected the health
check to, where that is another: ``also``): every other request goes to a proxy on a closed
loopback port and fails, loopback included (Chromium would otherwise bypass a proxy for
it), and WebRTC may not send UDP around the proxy. A hacked page cannot make the
sitekeeper host fetch its network, its own web UI or the cloud's metadata address; the
price is that assets from other hosts (CDNs, web fonts) are missing in both shots alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from yarl import URL

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.sandbox import RunAs
from sitekeeper.domain.untrusted import shown
from sitekeeper.updates.health_fetch import busted

CHROMIUM = "/usr/bin/chromium"  # Debian's package
WIDTH, HEIGHT = 1280, 2000
MAX_BYTES = 16 * 1024 * 1024  # a 1280×2000 PNG is well under 1 MiB; more is not a page
DEADLINE = 60.0  # seconds for one shot, Chromium's start included
SETTLE_MS = 2000  # virtual time for late scripts and fonts before the picture is taken
BROWSER_USER = "sitekeeper-browser"  # the browser_run_as setting's default
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, every proxied request fails


@dataclass(frozen=True, slots=True)
class Shot:
    """One screenshot written to ``path``, or why there is none (``error``)."""

    path: Path | None
    seconds: float
    error: str = ""


def chromium_argv(
    binary: str,
    url: str,
    out: Path,
    profile: Path,
    *,
    verify_tls: bool = True,
    also: Sequence[str] = (),
) -> list[str]:
    """The headless Chromium command line of one shot (the page's URL is one argument).
    ``verify_tls`` False: a site whose uptime check trusts its own CA or none; the health
    checks verified what they could, the screenshot only looks (else both shots would
    be Chromium's warning page, and equal)."""
    insecure = [] if verify_tls else ["--ignore-certificate-errors"]
    return [
        binary,
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--virtual-time-budget={SETTLE_MS}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--mute-audio",
        f"--proxy-server={NOWHERE}",
        f"--proxy-bypass-list={only_site(url, *also)}",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        *insecure,
        f"--user-data-dir={profile}",
        f"--screenshot={out}",
        "--",
        url,
    ]


def only_site(url: str, *also: str) -> str:
    """Chromium's proxy bypass list that lets through the site's own host (on its port,
    and on both default ports when it uses one, so http → https still loads), and each
    host of ``also`` likewise, and nothing else: ``<-loopback>`` undoes Chromium's
    implicit bypass of loopback addresses."""
    rules = ["<-loopback>"]
    for each in (url, *also):
        parsed = URL(each)
        host = parsed.raw_host or ""
        if ":" in host:
            host = f"[{host}]"
        ports = {parsed.port} | ({80, 443} if parsed.is_default_port() else set())
        rules += [f"{host}:{port}" for port in sorted(p for p in ports if p)]
    return ";".join(dict.fromkeys(rules))


async def take(
    url: str,
    dest: Path,
    *,
    chromium: str = CHROMIUM,
    run_as: str | None = None,
    deadline: float = DEADLINE,
    verify_tls: bool = True,
    also: Sequence[str] = (),
) -> Shot:
    """Screenshot ``url``'s page into ``dest`` (a PNG); ``run_as``: the unprivileged user
    when sitekeeper is root (the ``browser_run_as`` setting); ``also``: URLs of other
    hosts the page may load from (where the site redirects its home page)."""
    started = time.monotonic()
    if not await asyncio.to_thread(_runnable, chromium):
        return Shot(None, 0.0, f"Chromium is not installed ({chromium}: Debian package chromium)")
    try:  # never root, and no fallback to a shared user (nobody) or the drills'
        user = RunAs.resolve(run_as, default=BROWSER_USER, fallback=None, runs="Chromium")
    except BackupError as exc:
        return Shot(None, 0.0, str(exc))
    work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="sk-shot-"))
    try:
        if user.uid is not None:
            await asyncio.to_thread(os.chown, work, user.uid, user.gid or -1)
        out = work / "shot.png"
        page = str(busted(URL(url)))
        argv = chromium_argv(
            chromium, page, out, work / "profile", verify_tls=verify_tls, also=also
        )
        error = await _run(argv, work, user, deadline)
        if error:
            return Shot(None, time.monotonic() - started, error)
        return await asyncio.to_thread(_keep, out, dest, started)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)


async def _run(argv: list[str], home: Path, user: RunAs, deadline: float) -> str:
    """Run Chromium to its end or the deadline; what went wrong, in words ("": nothing)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"},
        user=user.uid,
        group=user.gid,
        extra_groups=[] if user.uid is not None else None,
        start_new_session=True,  # its own process group: killed whole at the deadline
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), deadline)
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        return f"Chromium did not finish within {deadline:.0f} s"
    finally:
        _kill(proc)  # whatever it left running in its group
    if proc.returncode != 0:
        last = err.strip().rsplit(b"\n", 1)[-1] if err.strip() else b""
        return f"Chromium failed (exit {proc.returncode}): {shown(last, 200)}"
    return ""


def _runnable(binary: str) -> bool:
    return os.path.isfile(binary) and os.access(binary, os.X_OK)


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _keep(out: Path, dest: Path, started: float) -> Shot:
    """Copy the shot to ``dest`` if it is a plausible PNG of bounded size. Opened once,
    not following a link and not waiting on a FIFO, and judged by that descriptor: the
    folder is the Chromium user's, so the file could be swapped after any path check."""

    def failed(why: str) -> Shot:
        return Shot(None, time.monotonic() - started, why)

    try:
        fd = os.open(out, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return failed("Chromium wrote no screenshot")
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size <= 0:
            return failed("Chromium wrote no screenshot")
        if info.st_size > MAX_BYTES:
            return failed(f"the screenshot is too large ({info.st_size} B)")
        data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return failed(f"the screenshot is too large (over {MAX_BYTES} B)")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return failed("Chromium's screenshot is not a PNG")
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest.write_bytes(data)
    dest.chmod(0o600)
    return Shot(dest, time.monotonic() - started)
