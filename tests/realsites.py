"""The real WordPress sites (``tests/realsites/wordpress.sh``) and the Joomla and Drupal
fixture sites (``tests/realsites/realcms.sh``) as pytest fixtures.

Import a fixture into a test module (``from tests.realsites import real_wp_sites``).
Without root or without the script the tests skip with the reason; under
``SITEKEEPER_REQUIRE_SERVICES=1`` (CI) they fail instead, so CI never passes
by skipping.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy.orm import Session

from sitekeeper.remote.access import SshAccess
from sitekeeper.store.sites import build_ssh
from sitekeeper.store.ssh_keys import import_key
from sitekeeper.store.tables import Client
from sitekeeper.vault import Vault
from tests.services import REQUIRE

SCRIPT_CANDIDATES = [
    os.environ.get("REALSITES_SCRIPT", ""),
    str(Path(__file__).parent / "realsites" / "wordpress.sh"),  # vendored copy
    str(Path(__file__).parents[2] / "shared" / "realsites" / "wordpress.sh"),
]
CMS_SCRIPT_CANDIDATES = [
    os.environ.get("REALCMS_SCRIPT", ""),
    str(Path(__file__).parent / "realsites" / "realcms.sh"),
]
KNOWN_HOSTS = Path("/srv/sites/keys/known_hosts")


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE:
        pytest.fail(f"{reason} (SITEKEEPER_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def run_script(candidates: list[str], why_root: str, *args: str) -> None:
    """Run the first existing script of ``candidates`` with ``args`` as root (skip, or fail
    under CI, without root or without the script; fail with its output if it fails)."""
    if os.geteuid() != 0:
        _unavailable(why_root)
    script = next((p for p in candidates if p and Path(p).is_file()), None)
    if script is None:
        _unavailable(f"{Path(candidates[-1]).name} not found in {candidates}")
    proc = subprocess.run(
        ["bash", script, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{Path(script).name} {' '.join(args)} failed (rc={proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )


def wp_record(n: int) -> dict[str, Any]:
    """The record of the real site wp<n>: URL, SSH, docroot, database, admin login."""
    record = site_record(f"wp{n}", 8080 + n)
    record["admin"] = {"user": "admin", "password": f"wp{n}-admin-pass"}
    return record


def site_record(name: str, port: int) -> dict[str, Any]:
    """A realsites site's record: its URL, SSH login, docroot and database (the scripts
    name user, keys, docroot and database after the site)."""
    return {
        "name": name,
        "url": f"http://127.0.0.1:{port}/",
        "ssh": {
            "host": "127.0.0.1",
            "port": 2222,
            "user": name,
            "key": f"/srv/sites/keys/{name}",
            "known_hosts": str(KNOWN_HOSTS),
        },
        "docroot": f"/srv/sites/{name}",
        "db": {
            "host": "127.0.0.1",
            "port": 3306,
            "name": name,
            "user": name,
            "password": f"{name}-db-pass",
        },
    }


WP_SITES = 5  # wp1..wp3 for the tests that read sites, wp4 and wp5 for the update tests'


def all_sites_up(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Start every real site (wp1..wp5, jm1, dr1) once per test run, whichever test
    process asks first; the others wait for it, then find them up.

    ``up`` rewrites owners, modes, keys and plugins of every site it starts, so it must
    never run while another process's test has a site changed: the real-site tests run
    in two xdist groups at once (``tests/conftest.py``), each on its own sites.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = shared / "realsites-up"
    with (shared / "realsites-up.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return
        n = max(WP_SITES, int(os.environ.get("REALSITES_N", "0")))
        run_script(
            SCRIPT_CANDIDATES,
            "real WordPress sites need root: realsites/wordpress.sh installs Debian "
            "packages, creates Unix users and starts nginx/php-fpm/sshd/MariaDB",
            "up",
            str(n),
        )
        run_script(
            CMS_SCRIPT_CANDIDATES,
            "the Joomla and Drupal fixture sites need root: realsites/realcms.sh creates "
            "Unix users and databases and starts nginx/php-fpm",
            "up",
        )
        done.touch()


@pytest.fixture(scope="session")
def real_wp_sites(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Real WordPress sites wp1..wpN (REALSITES_N, default 2) on 127.0.0.1, started
    (idempotently) by the script. Sites stay up after the run; ``down`` stops them."""
    all_sites_up(tmp_path_factory)
    return [wp_record(i) for i in range(1, int(os.environ.get("REALSITES_N", "2")) + 1)]


@pytest.fixture(scope="session")
def real_cms_sites(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The Joomla 5.3.2 (jm1) and Drupal 10.1.6 (dr1) fixture sites of ``realcms.sh``.

    Served like the WordPress sites: their own nginx and PHP-FPM pools as the site
    user, and wordpress.sh's sshd and MariaDB. The same skip/fail rules as
    ``real_wp_sites``. Records have its shape plus ``cms``, ``version``, ``title`` (the
    home page's, from the database) and the database's table ``prefix``.
    """
    all_sites_up(tmp_path_factory)
    sites = [
        ("jm1", "joomla", "5.3.2", 8091, "Realsites Joomla jm1", "k7v2q_"),
        ("dr1", "drupal", "10.1.6", 8092, "Realsites Drupal dr1", ""),
    ]
    records = []
    for name, cms, version, port, title, prefix in sites:
        record = site_record(name, port)
        record.update(cms=cms, version=version, title=title)
        record["db"]["prefix"] = prefix
        records.append(record)
    return records


def ssh_access(site: dict[str, Any], key_id: int | None = None) -> SshAccess:
    """The SshAccess a site record of ``real_wp_sites`` would store (``key_id``: its stored key)."""
    ssh = site["ssh"]
    return SshAccess(
        host=ssh["host"],
        port=ssh["port"],
        user=ssh["user"],
        key_id=key_id,
        docroot=site["docroot"],
    )


def private_key(site: dict[str, Any]) -> str:
    """The site's SSH private key, as ``connect(..., private_key=)`` takes it from the vault."""
    return Path(site["ssh"]["key"]).read_text(encoding="ascii")


def stored_ssh(
    session: Session, vault: Vault, client: Client, site: dict[str, Any], port: int | None = None
) -> dict[str, Any]:
    """``Site.ssh`` for a real site, its key imported for ``client`` as ``site edit --key`` does."""
    key = import_key(session, vault, client, private_key(site))
    ssh = site["ssh"]
    target = f"{ssh['user']}@{ssh['host']}:{port or ssh['port']}"
    return build_ssh(target, key.id, site["docroot"])
