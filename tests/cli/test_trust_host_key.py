"""site trust-host-key: pin a server's key before the first connection, or forget it (journaled)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from sqlalchemy import select

from sitekeeper.remote.hostkeys import fingerprint, openssh_key
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, SshHostKey
from tests.cli.conftest import Run, as_json


def _db_rows(home: Path) -> tuple[list[SshHostKey], list[Event]]:
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    try:
        with db.session() as s:
            pins = list(s.scalars(select(SshHostKey)))
            events = list(s.scalars(select(Event).where(Event.kind.like("ssh.host_key%"))))
            return pins, events
    finally:
        db.dispose()


@pytest.fixture
def shop(agency: Run) -> Run:
    agency("site", "add", "https://shop.example", "--client", "1", "--name", "shop",
           "--ssh", "deploy@shop.example:2222")  # fmt: skip
    return agency


def _public() -> str:
    return openssh_key(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())


def test_pin_from_known_hosts_then_forget(shop: Run, home: Path, tmp_path: Path) -> None:
    key = _public()
    known = tmp_path / "known_hosts"
    known.write_text(f"[other.example]:2222 {_public()}\n[shop.example]:2222 {key}\n")
    pinned = as_json(shop("site", "trust-host-key", "shop", "--known-hosts", str(known), "--json"))
    assert pinned["fingerprint"] == fingerprint(key) and pinned["key_known"] is True
    pins, events = _db_rows(home)
    assert [(p.host, p.port, p.public_key) for p in pins] == [("shop.example", 2222, key)]

    # a different key is never pinned over it; forgetting is explicit and journaled
    other = shop(
        "site", "trust-host-key", "shop", "--fingerprint", fingerprint(_public()), ok=False
    )
    assert other.exit_code == 2 and "already has a pinned host key" in other.stderr
    forgot = shop("site", "trust-host-key", "shop", "--forget")
    assert "the next connection trusts and pins" in forgot.stderr
    pins, events = _db_rows(home)
    assert pins == []
    assert [e.kind for e in events] == ["ssh.host_key_trusted", "ssh.host_key_forgotten"]
    assert events[1].data["fingerprint"] == fingerprint(key) and events[1].site_id == 1


def test_pin_a_fingerprint(shop: Run, home: Path) -> None:
    expected = fingerprint(_public())
    out = shop("site", "trust-host-key", "shop", "--fingerprint", expected)
    assert expected in out.stderr
    pins, _ = _db_rows(home)
    assert [(p.fingerprint, p.public_key) for p in pins] == [(expected, "")]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "give one of"),
        (["--forget", "--fingerprint", "SHA256:x"], "give one of"),
        (["--fingerprint", "SHA256:short"], "not an SSH host key fingerprint"),
        (["--known-hosts", "/nonexistent"], "cannot read known_hosts"),
    ],
)
def test_bad_requests_exit_2(shop: Run, args: list[str], error: str) -> None:
    result = shop("site", "trust-host-key", "shop", *args, ok=False)
    assert result.exit_code == 2 and error in result.stderr


def test_a_site_without_ssh_has_no_host_key(agency: Run) -> None:
    agency("site", "add", "https://plain.example", "--client", "1")
    result = agency("site", "trust-host-key", "plain.example", "--forget", ok=False)
    assert result.exit_code == 2 and "has no SSH access" in result.stderr
