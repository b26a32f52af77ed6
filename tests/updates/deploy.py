"""A deploy account on the real sites' sshd that is not the site's owner, for the
``sudo -u OWNER`` tests: created as root for one test and removed afterwards.

It logs in as the realsites users do (group ``realsites``, its public key in the sshd's
``AuthorizedKeysFile`` folder, key login only) and, when the test asks, may run
commands as the site's owner through a sudoers rule
``skdeploy ALL=(OWNER) NOPASSWD: ALL`` in ``/etc/sudoers.d``.
"""

from __future__ import annotations

import contextlib
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "skdeploy"
AUTHORIZED = Path("/srv/realsites/ssh/authorized_keys")
SUDOERS = Path("/etc/sudoers.d/sitekeeper-test-deploy")
DRAFT = SUDOERS.with_name("sitekeeper-test-deploy.draft")  # '.' in the name: sudo skips it


@dataclass(frozen=True)
class Deploy:
    """The deploy account: its name, uid and private key's file."""

    user: str
    uid: int
    key_file: Path


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def allow_sudo(owner: str) -> None:
    """The sudoers rule that lets the deploy account run anything as ``owner``, checked
    with visudo before it is put in place."""
    rule = f"{USER} ALL=({owner}) NOPASSWD: ALL\n"
    DRAFT.write_text(rule, encoding="ascii")
    DRAFT.chmod(0o440)
    _run("visudo", "-cf", str(DRAFT))
    DRAFT.replace(SUDOERS)


def forbid_sudo() -> None:
    """No sudoers rule for the deploy account: neither the rule nor a draft visudo refused."""
    SUDOERS.unlink(missing_ok=True)
    DRAFT.unlink(missing_ok=True)


@contextlib.contextmanager
def deploy_account(scratch: Path) -> Iterator[Deploy]:
    """The account, its key and its login; all removed afterwards (sudoers rule too)."""
    if shutil.which("sudo") is None or shutil.which("visudo") is None:
        pytest.fail("sudo is missing (apt-get install sudo; .ci/run installs it)")
    forbid_sudo()  # what a killed test left: its NOPASSWD rule must not outlive it
    with contextlib.suppress(KeyError):
        pwd.getpwnam(USER)
        pytest.fail(
            f"the Unix user {USER} exists already (left by a killed test?): userdel it "
            f"(its sudoers rule, {SUDOERS}, is removed already)"
        )
    key = scratch / "deploy_key"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{USER}@test", "-f", str(key))
    _run(
        "useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh",
        "--user-group", "--groups", "realsites", "--comment", "sitekeeper test deploy", USER,
    )  # fmt: skip
    try:
        _run("usermod", "-p", "*", USER)  # no password, not locked: key logins only
        authorized = AUTHORIZED / USER
        shutil.copyfile(key.with_suffix(".pub"), authorized)
        authorized.chmod(0o644)
        yield Deploy(USER, pwd.getpwnam(USER).pw_uid, key)
    finally:
        forbid_sudo()
        (AUTHORIZED / USER).unlink(missing_ok=True)
        _run("userdel", "--force", USER)  # --force: even if a session is still closing
