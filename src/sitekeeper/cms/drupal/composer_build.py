"""A Drupal core update built by Composer on this host from the site's own
``composer.json`` and ``composer.lock``, in a private folder, as a zip of what the site
receives (``vendor/``, ``core/``, ``composer.lock``).

The composer files come from a client's server, so they are data, never a way to run
code or reach files here: Composer runs with ``--no-scripts``; the plugins it may run
are the two a Drupal build needs (composer/installers puts core in ``core/``,
drupal/core-composer-scaffold its files), whatever the site's ``allow-plugins`` says;
repositories other than Composer ones over https (a ``path`` repository would copy this
host's files to the site), config that moves folders out of the build (``vendor-dir``)
and installer paths that climb out are refused; it has a time limit, its own HOME and
cache inside the folder, and a fixed PATH. What it prints is kept cleaned and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import posixpath
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitekeeper.domain.untrusted import shown
from sitekeeper.errors import InvalidFeed, SitekeeperError, UsageError
from sitekeeper.remote.ssh import SshConnection

JSON_BYTES = 1024 * 1024
LOCK_BYTES = 16 * 1024 * 1024
OUTPUT_BYTES = 64 * 1024
PLUGINS = {"composer/installers": True, "drupal/core-composer-scaffold": True}
SAFE_CONFIG = ("allow-plugins", "sort-packages", "platform", "optimize-autoloader",
               "preferred-install", "discard-changes", "platform-check")  # fmt: skip
SHIPPED = ("core", "vendor", "composer.lock")
PATH = "/usr/local/bin:/usr/bin:/bin"
COMMAND = ("update", "drupal/core-*", "--with-all-dependencies", "--no-interaction",
           "--no-scripts", "--no-progress", "--no-ansi", "--no-dev", "--prefer-dist")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Inputs:
    """The site's composer files, as read."""

    composer_json: bytes
    composer_lock: bytes

    @property
    def digest(self) -> str:
        """One build per pair of files (sites with the same files share it)."""
        sha = hashlib.sha256(self.composer_json)
        sha.update(b"\0")
        sha.update(self.composer_lock)
        return sha.hexdigest()


async def site_inputs(conn: SshConnection, docroot: str) -> Inputs:
    """The site's composer.json and composer.lock (UsageError when it has none)."""
    found = []
    for name, limit in (("composer.json", JSON_BYTES), ("composer.lock", LOCK_BYTES)):
        try:
            found.append(await conn.read_file(posixpath.join(docroot, name), limit))
        except SitekeeperError as exc:
            raise UsageError(
                f"the site's {name} cannot be read ({exc}): Composer builds Drupal core from it; "
                "set drupal_core_build_url to a prebuilt build instead"
            ) from None
    return Inputs(found[0], found[1])


def confined(composer_json: bytes) -> bytes:
    """The site's composer.json with what could reach beyond the build refused and the
    plugins Composer may run set by sitekeeper (InvalidFeed: refused)."""
    try:
        data = json.loads(composer_json)
    except ValueError:
        raise InvalidFeed("the site's composer.json is not JSON; refused") from None
    if not isinstance(data, dict):
        raise InvalidFeed("the site's composer.json is not an object; refused")
    _check_repositories(data.get("repositories"))
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidFeed("the site's composer.json has a config that is not an object; refused")
    unsafe = sorted(k for k in config if k not in SAFE_CONFIG)
    if unsafe:
        names = shown(", ".join(unsafe), 80)
        raise InvalidFeed(
            f"the site's composer.json sets config {names}: not built here (it could move "
            "files out of the build); refused"
        )
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    paths = extra.get("installer-paths") if isinstance(extra, dict) else None
    for path in paths if isinstance(paths, dict) else {}:
        parts = str(path).split("/")
        if str(path).startswith("/") or ".." in parts:
            raise InvalidFeed(f"installer path {shown(str(path), 80)} leaves the build; refused")
    data["config"] = {**config, "allow-plugins": PLUGINS}
    return json.dumps(data, indent=4).encode()


def _check_repositories(repositories: Any) -> None:
    if repositories is None:
        return
    entries = list(repositories.values()) if isinstance(repositories, dict) else repositories
    if not isinstance(entries, list):
        raise InvalidFeed("the site's composer.json has repositories that are not a list; refused")
    for entry in entries:
        if entry is False or (isinstance(entry, dict) and set(entry) == {"packagist.org"}):
            continue  # packagist switched off
        url = entry.get("url") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or entry.get("type") != "composer"
            or not isinstance(url, str)
            or not url.startswith("https://")
        ):
            raise InvalidFeed(
                "the site's composer.json names a repository that is not a Composer one over "
                f"https ({shown(json.dumps(entry)[:120], 120)}); refused"
            )


async def build(
    composer: str, inputs: Inputs, target: str, dest: Path, *, time_limit: float = 900.0
) -> str:
    """Run Composer on the site's files in a private folder and write what the site
    receives as a zip at ``dest``; what was done, in words (InvalidFeed: it failed)."""
    with tempfile.TemporaryDirectory(prefix="sk-composer-") as scratch:
        root = Path(scratch)
        await asyncio.to_thread(_prepare, root, inputs)
        code, output = await _run(composer, root, time_limit)
        if code != 0:
            raise InvalidFeed(
                f"composer update drupal/core-* to {target} failed (exit {code}): "
                f"{shown(output[-2000:], 400)}"
            )
        count = await asyncio.to_thread(_zip_build, root, dest)
    return f"built by Composer ({' '.join(COMMAND[:3])}): {count} files"


def _prepare(root: Path, inputs: Inputs) -> None:
    (root / "composer.json").write_bytes(confined(inputs.composer_json))
    (root / "composer.lock").write_bytes(inputs.composer_lock)
    for folder in ("home", "cache"):
        (root / ".sk" / folder).mkdir(parents=True, mode=0o700)


async def _run(composer: str, root: Path, time_limit: float) -> tuple[int, str]:
    env = {
        "PATH": PATH,
        "HOME": str(root / ".sk" / "home"),
        "COMPOSER_HOME": str(root / ".sk" / "home"),
        "COMPOSER_CACHE_DIR": str(root / ".sk" / "cache"),
        "COMPOSER_NO_INTERACTION": "1",
        "COMPOSER_DISABLE_XDEBUG_WARN": "1",
    }
    process = await asyncio.create_subprocess_exec(
        composer,
        *COMMAND,
        cwd=root,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return -1, f"no result within {time_limit:.0f} s"
    assert process.returncode is not None
    return process.returncode, out[-OUTPUT_BYTES:].decode("utf-8", "replace")


def _zip_build(root: Path, dest: Path) -> int:
    """core/, vendor/ and composer.lock as a zip: plain files and folders only (a symlink
    inside the build is stored as the file it names; one leading out is refused)."""
    count = 0
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for top in SHIPPED:
            start = root / top
            if not start.exists():
                raise InvalidFeed(f"Composer left no {top}: not a Drupal core build; refused")
            paths = [start] if start.is_file() else sorted(start.rglob("*"))
            for path in paths:
                rel = path.relative_to(root).as_posix()
                real = path.resolve()
                if not real.is_relative_to(root.resolve()):
                    raise InvalidFeed(f"{shown(rel, 80)} in the build leads out of it; refused")
                mode = real.stat().st_mode
                if stat.S_ISDIR(mode):
                    if not path.is_symlink():
                        out.writestr(zipfile.ZipInfo(rel + "/"), b"")
                    continue
                info = zipfile.ZipInfo(rel)
                info.external_attr = ((0o755 if mode & 0o111 else 0o644) | stat.S_IFREG) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, real.read_bytes())
                count += 1
    os.chmod(dest, 0o600)
    return count
