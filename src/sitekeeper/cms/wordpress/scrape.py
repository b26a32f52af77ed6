"""WordPress's own fatal-error scrape, from inside: load the site as a request does and
name the plugin (or theme) whose code fatals.

WordPress reports "updated successfully" for a plugin that fatals the site, and a plugin
may fatal only where is_admin() is true, so the pages fetched from outside look healthy.
``scrape.php`` (fed to the site's ``php`` on stdin, run as the file owner) loads
WordPress with every active plugin and the theme twice — as the front end and as
wp-admin, each in its own process, since one fatal ends a process — and prints the fatal
error, with its file, from a shutdown function. What it says is text from a hostile
server: bounded, parsed defensively, paths shown relative to the docroot, the message
cut to its first line and made safe (``domain.untrusted``).
"""

from __future__ import annotations

import json
import posixpath
import re
import secrets
import time
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from sitekeeper.domain.untrusted import clean, shown
from sitekeeper.domain.updates import Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import CommandResult, SshConnection

PROGRAM = "scrape.php"
MODES = (("front", "as a visitor's page"), ("admin", "as wp-admin"))
MAX_LINE = 64 * 1024
MAX_MESSAGE = 300
NAME = "inside.load"
_PATHS = re.compile(r"(/[^\s:'\"()]+\.php)")


def program() -> bytes:
    """The load check's PHP, shipped with this package."""
    return files("sitekeeper.cms.wordpress").joinpath(PROGRAM).read_bytes()


@dataclass(frozen=True, slots=True)
class Fatal:
    """A fatal error the load check saw: what PHP said, where, and whose code it is."""

    message: str  # its first line, made safe and cut
    where: str  # file:line relative to the docroot
    culprit: str  # "plugin akismet", "theme twentytwentythree", "WordPress itself"...


async def load_check(
    conn: SshConnection,
    docroot: str,
    url: str,
    *,
    php: str = "php",
    time_limit: float = 120.0,
) -> Check:
    """Whether WordPress, its active plugins and its theme load without a fatal error,
    as the front end and as wp-admin; a failed check names the culprit and the error."""
    started = time.monotonic()
    host = urlsplit(url).hostname or "localhost"
    root = docroot.rstrip("/") or "/"
    early = []
    for mode, how in MODES:
        marker = f"sk-load-{secrets.token_hex(16)}:"
        try:
            result = await conn.run(
                [php, "--", root, mode, marker, host],
                stdin=program(),
                time_limit=time_limit,
                check=False,
            )
        except SitekeeperError as exc:
            return Check(NAME, False, f"the load check could not run: {exc}", _since(started))
        said = parse(result, marker)
        if isinstance(said, str):
            return Check(NAME, False, f"loading {how}: {said}", _since(started))
        if said.get("ok") is not True:
            fatal = describe(said, root)
            detail = f"{fatal.culprit} fatals when WordPress loads {how}: {fatal.message}"
            return Check(NAME, False, f"{detail} (at {fatal.where})", _since(started))
        if said.get("ended") != "loaded":
            early.append(mode)
    detail = "WordPress, its active plugins and theme load without a fatal error (front, admin)"
    if early:  # wp_die() (no database, say) or a plugin's exit: not a fatal, but say so
        detail += f"; the {' and '.join(early)} load ended before WordPress had loaded"
    return Check(NAME, True, detail, _since(started))


def parse(result: CommandResult, marker: str) -> dict[str, Any] | str:
    """The program's result (``ok``, and the fatal error if not), or in words why there
    is no usable result (the process died before its shutdown function ran)."""
    at = result.stdout.rfind(marker.encode())
    if at < 0:
        said = shown(result.stderr or result.stdout, MAX_MESSAGE)
        return f"PHP printed no result (exit {result.exit_status}): {said}"
    line = result.stdout[at + len(marker) :].split(b"\n", 1)[0][:MAX_LINE]
    try:
        data: Any = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return "the load check's result is not a JSON object"
    return data


def describe(said: dict[str, Any], docroot: str) -> Fatal:
    """The fatal error in safe words, and whose code it came from: the file it was
    raised in, else the first file of a plugin or theme in its stack trace (an
    uncaught error thrown in WordPress's own code by a plugin's call)."""
    text = str(said.get("message") or "")
    first = text.split("\n", 1)[0].split(" in /", 1)[0] or "a fatal error without a message"
    line = said.get("line")
    file = str(said.get("file") or "")
    where = _relative(file, docroot) + (f":{line}" if isinstance(line, int) else "")
    dirs = _dirs(said, docroot)
    culprit = None
    for path in (file, *_PATHS.findall(text)):
        culprit = _owner(path, dirs)
        if culprit is not None:
            break
    return Fatal(shown(first, MAX_MESSAGE), clean(where, 200), culprit or "WordPress itself")


def _dirs(said: dict[str, Any], docroot: str) -> list[tuple[str, str]]:
    """(folder, what code in it is) as the site defines them, else WordPress's defaults."""
    content = str(said.get("content_dir") or posixpath.join(docroot, "wp-content"))
    return [
        (str(said.get("plugin_dir") or posixpath.join(content, "plugins")), "plugin"),
        (str(said.get("mu_plugin_dir") or posixpath.join(content, "mu-plugins")), "must-use"),
        (posixpath.join(content, "themes"), "theme"),
    ]


def _owner(path: str, dirs: list[tuple[str, str]]) -> str | None:
    for folder, kind in dirs:
        prefix = folder.rstrip("/") + "/"
        if not path.startswith(prefix):
            continue
        name = path[len(prefix) :].split("/", 1)[0]
        if kind == "must-use":
            return f"the must-use plugin {clean(name, 100)}"
        return f"{kind} {clean(name.removesuffix('.php'), 100)}"
    return None


def _relative(path: str, docroot: str) -> str:
    prefix = docroot.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path or "?"


def _since(started: float) -> float:
    return time.monotonic() - started
