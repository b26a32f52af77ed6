"""Resetting the web server's PHP opcode cache, so a health check sees the files on disk.

PHP-FPM keeps compiled scripts in its own shared memory; the CLI's cache (where an
upgrader over SSH runs) is a different one, so ``opcache_invalidate`` there never
reaches the pages visitors get (wp-cli/extension-command#444, joomla-cms#32963). Right
after files change, FPM may serve the old bytecode for ``revalidate_freq`` seconds (2 by
default, and for ever with ``validate_timestamps=0``): a rollback would look failed, or a
broken update healthy. The only reset that reaches FPM without root is a request to a PHP
file it serves: a one-off file with a random name, answering only to a random token,
removed straight after.
"""

from __future__ import annotations

import posixpath
import secrets

from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.updates import Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.updates.health_fetch import PageFetcher

_SCRIPT = """<?php
header('Cache-Control: no-store');
if (!isset($_GET['t']) || !hash_equals('%s', (string) $_GET['t'])) {
    http_response_code(404);
    exit;
}
if (!function_exists('opcache_reset')) {
    echo 'sk-opcache:absent';
} else {
    echo @opcache_reset() ? 'sk-opcache:reset' : 'sk-opcache:off';
}
"""
_ANSWERS = {
    b"sk-opcache:reset": "the web server's opcode cache was reset",
    b"sk-opcache:absent": "the web server's PHP has no opcode cache",
    b"sk-opcache:off": "the opcode cache is off (or its API restricted) for this site",
}


def script(token: str) -> bytes:
    """The one-off PHP file (the token is hex: nothing to escape)."""
    if not all(c in "0123456789abcdef" for c in token):
        raise ValueError("the token must be lower-case hex")
    return (_SCRIPT % token).encode()


async def reset_web_opcache(
    conn: SshConnection,
    docroot: str,
    url: str,
    fetcher: PageFetcher,
    *,
    trust: CheckOptions | None = None,
) -> Check:
    """Reset FPM's opcode cache of the site at ``url`` (docroot ``docroot``); the file is
    written as the SSH user (the site's owner) and always removed."""
    name = f"sk-opcache-{secrets.token_hex(12)}.php"
    token = secrets.token_hex(16)
    path = posixpath.join(docroot, name)
    base = url if url.endswith("/") else url + "/"
    try:
        await conn.write_file(path, script(token), mode=0o644)
    except SitekeeperError as exc:
        return Check("opcache", False, f"cannot write the reset file: {exc}")
    try:
        page = await fetcher.get(f"{base}{name}?t={token}", trust=trust)
    finally:
        removed = await _remove(conn, path)
    seen = page.body.strip()
    if page.status == 200 and seen in _ANSWERS:
        return Check("opcache", removed, _ANSWERS[seen] + ("" if removed else _LEFT % name))
    what = page.error or f"answered {page.status}"
    return Check("opcache", False, f"the reset file {what}" + ("" if removed else _LEFT % name))


_LEFT = "; the reset file %s could not be removed"


async def _remove(conn: SshConnection, path: str) -> bool:
    try:
        await conn.remove(path)
    except SitekeeperError:
        return False
    return True
