"""Host-key pinning against the real OpenSSH server and a throwaway asyncssh server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from sitekeeper.errors import HostKeyChanged, RemoteError
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.hostkeys import (
    StoreHostKeyPins,
    fingerprint,
    known_hosts_key,
    openssh_key,
)
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from tests.realsites import KNOWN_HOSTS, private_key, real_wp_sites, ssh_access

__all__ = ["real_wp_sites"]

# A client key the throwaway servers accept (they accept any key).
CLIENT_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()


async def _connect_real(site: dict[str, Any], pins: StoreHostKeyPins) -> SshConnection:
    """A connection to a real site with its key, as the vault hands it over."""
    return await connect(ssh_access(site), pins, private_key=private_key(site))


def _known_hosts_key() -> str:
    """The realsites sshd's host key as its known_hosts file records it."""
    line = KNOWN_HOSTS.read_text().splitlines()[0]
    return " ".join(line.split()[1:3])


class _Recorder(asyncssh.SSHServer):
    """A server that notes every authentication attempt and would accept any key."""

    def __init__(self, log: list[str]) -> None:
        self._log = log

    def begin_auth(self, username: str) -> bool:
        self._log.append(f"auth {username}")
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return True


@pytest.fixture
async def impostor() -> AsyncIterator[tuple[int, str, list[str]]]:
    """An SSH server on a free loopback port with a fresh host key: (port, key, log)."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    log: list[str] = []

    def process(proc: asyncssh.SSHServerProcess[str]) -> None:
        log.append(f"run {proc.command}")
        proc.exit(0)

    server = await asyncssh.create_server(
        lambda: _Recorder(log),
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        process_factory=process,
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, openssh_key(host_key.convert_to_public()), log
    finally:
        server.close()
        await server.wait_closed()


async def test_first_connection_pins_the_key(
    db: Database, real_wp_sites: list[dict[str, Any]]
) -> None:
    pins = StoreHostKeyPins(db)
    assert pins.get("127.0.0.1", 2222) is None

    async with await _connect_real(real_wp_sites[0], pins) as conn:
        await conn.run(["true"])

    pinned = pins.get("127.0.0.1", 2222)
    assert pinned is not None
    assert pinned.public_key == _known_hosts_key()
    assert pinned.fingerprint == fingerprint(_known_hosts_key())
    assert pinned.fingerprint.startswith("SHA256:")

    async with await _connect_real(real_wp_sites[1], pins) as conn:
        await conn.run(["true"])
    assert pins.get("127.0.0.1", 2222) == pinned  # same key: pin kept, first_seen unchanged


async def test_changed_key_stops_before_anything_runs(
    db: Database, impostor: tuple[int, str, list[str]], tmp_path: Path
) -> None:
    port, impostor_key, log = impostor
    pins = StoreHostKeyPins(db)
    real = asyncssh.generate_private_key("ssh-ed25519")
    pinned = pins.pin("127.0.0.1", port, openssh_key(real.convert_to_public()))
    access = SshAccess(host="127.0.0.1", port=port, user="wp1")

    with pytest.raises(HostKeyChanged) as caught:
        await connect(access, pins, private_key=CLIENT_KEY)

    message = str(caught.value)
    assert pinned.fingerprint in message
    assert fingerprint(impostor_key) in message
    assert caught.value.permanent
    assert log == []  # no authentication, no command
    assert pins.get("127.0.0.1", port) == pinned  # the pin is not overwritten


async def test_first_use_of_the_impostor_pins_it(
    db: Database, impostor: tuple[int, str, list[str]], tmp_path: Path
) -> None:
    """Trust on first use really is first use: the same server is then accepted."""
    port, impostor_key, log = impostor
    pins = StoreHostKeyPins(db)
    access = SshAccess(host="127.0.0.1", port=port, user="someone")

    async with await connect(access, pins, private_key=CLIENT_KEY) as conn:
        await conn.run(["echo", "hi"])
    async with await connect(access, pins, private_key=CLIENT_KEY) as conn:
        await conn.run(["echo", "again"])

    pinned = pins.get("127.0.0.1", port)
    assert pinned is not None
    assert pinned.public_key == impostor_key
    assert log == ["auth someone", "run echo hi", "auth someone", "run echo again"]


@pytest.mark.parametrize("pinned_type", ["ssh-ed25519", "ssh-rsa"])
async def test_real_server_with_a_different_pin_is_refused(
    db: Database, real_wp_sites: list[dict[str, Any]], pinned_type: str
) -> None:
    """Also when the server has no key of the pinned type any more (ed25519 only here)."""
    pins = StoreHostKeyPins(db)
    other = asyncssh.generate_private_key(pinned_type).convert_to_public()
    pins.pin("127.0.0.1", 2222, openssh_key(other))

    # A fingerprint is base64: '+' and '/' are literal text, not regex syntax.
    with pytest.raises(HostKeyChanged, match=re.escape(fingerprint(_known_hosts_key()))):
        await _connect_real(real_wp_sites[0], pins)


async def test_pre_pinned_from_known_hosts(
    db: Database, real_wp_sites: list[dict[str, Any]]
) -> None:
    pins = StoreHostKeyPins(db)
    pinned = pins.import_known_hosts(KNOWN_HOSTS, "127.0.0.1", 2222)
    assert pinned is not None
    assert pinned.public_key == _known_hosts_key()
    assert pins.import_known_hosts(KNOWN_HOSTS, "127.0.0.1", 2299) is None

    async with await _connect_real(real_wp_sites[0], pins) as conn:
        assert (await conn.run(["whoami"])).text.strip() == "wp1"


def test_known_hosts_import_prefers_ed25519_and_reads_hashed_entries(
    db: Database, tmp_path: Path
) -> None:
    rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048).convert_to_public()
    ed = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    line_rsa = f"[example.test]:2200 {openssh_key(rsa)}"
    hashed = _hashed_host("[example.test]:2200")
    (tmp_path / "known_hosts").write_text(f"{line_rsa}\n{hashed} {openssh_key(ed)}\n")

    pins = StoreHostKeyPins(db)
    pinned = pins.import_known_hosts(tmp_path / "known_hosts", "example.test", 2200)

    assert pinned is not None
    assert pinned.public_key == openssh_key(ed)


def test_pin_race_first_writer_wins_and_forget(db: Database) -> None:
    pins = StoreHostKeyPins(db)
    first = openssh_key(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())
    second = openssh_key(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())

    assert pins.pin("Host.Example", 22, first).public_key == first
    assert pins.pin("host.example", 22, second).public_key == first  # loser gets the winner
    assert pins.forget("host.example", 22)
    assert pins.get("host.example", 22) is None
    assert not pins.forget("host.example", 22)


def _hashed_host(name: str) -> str:
    """An OpenSSH ``HashKnownHosts`` entry: |1|salt|HMAC-SHA1(salt, name)."""
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


async def test_server_with_several_keys_presents_the_pinned_type(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A pin of the server's second-choice key type still matches (no false alarm)."""
    ed25519 = asyncssh.generate_private_key("ssh-ed25519")
    ecdsa = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    log: list[str] = []
    server = await asyncssh.create_server(
        lambda: _Recorder(log), "127.0.0.1", 0, server_host_keys=[ed25519, ecdsa]
    )
    port = server.sockets[0].getsockname()[1]
    pins = StoreHostKeyPins(sqlite_db)
    pins.pin("127.0.0.1", port, openssh_key(ecdsa.convert_to_public()))
    access = SshAccess(host="127.0.0.1", port=port, user="multi")
    try:
        conn = await connect(access, pins, private_key=CLIENT_KEY)
        await conn.close()
    finally:
        server.close()
        await server.wait_closed()
    assert log == ["auth multi"]


async def test_first_use_pins_the_modern_key_of_several(
    sqlite_db: Database, tmp_path: Path
) -> None:
    rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    ed25519 = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        lambda: _Recorder([]), "127.0.0.1", 0, server_host_keys=[rsa, ed25519]
    )
    port = server.sockets[0].getsockname()[1]
    pins = StoreHostKeyPins(sqlite_db)
    access = SshAccess(host="127.0.0.1", port=port, user="tofu")
    try:
        conn = await connect(access, pins, private_key=CLIENT_KEY)
        await conn.close()
    finally:
        server.close()
        await server.wait_closed()
    pinned = pins.get("127.0.0.1", port)
    assert pinned is not None
    assert pinned.public_key == openssh_key(ed25519.convert_to_public())


def _key_with_plus_in_fingerprint() -> asyncssh.SSHKey:
    """A host key whose SHA256 fingerprint contains '+' (about every other key does)."""
    for _ in range(200):
        key = asyncssh.generate_private_key("ssh-ed25519")
        if "+" in fingerprint(openssh_key(key.convert_to_public())):
            return key
    raise AssertionError("no fingerprint with '+' in 200 keys")  # pragma: no cover


async def test_changed_key_error_quotes_fingerprints_with_plus_literally(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """The error names the presented fingerprint verbatim, whatever base64 characters it has."""
    host_key = _key_with_plus_in_fingerprint()
    server = await asyncssh.create_server(
        lambda: _Recorder([]), "127.0.0.1", 0, server_host_keys=[host_key]
    )
    port = server.sockets[0].getsockname()[1]
    pins = StoreHostKeyPins(sqlite_db)
    other = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    pins.pin("127.0.0.1", port, openssh_key(other))
    presented = fingerprint(openssh_key(host_key.convert_to_public()))
    access = SshAccess(host="127.0.0.1", port=port, user="plus")
    try:
        with pytest.raises(HostKeyChanged, match=re.escape(f"it now presents {presented}")):
            await connect(access, pins, private_key=CLIENT_KEY)
    finally:
        server.close()
        await server.wait_closed()


# --- pinned by an operator before the first connection (site trust-host-key) --------------


async def test_a_fingerprint_pin_admits_only_that_key_and_learns_it(
    db: Database, impostor: tuple[int, str, list[str]]
) -> None:
    port, server_key, log = impostor
    pins = StoreHostKeyPins(db)
    access = SshAccess(host="127.0.0.1", port=port, user="ops")

    wrong = fingerprint(openssh_key(asyncssh.generate_private_key("ssh-ed25519")))
    pins.trust("127.0.0.1", port, expected=wrong)
    with pytest.raises(HostKeyChanged, match=re.escape(fingerprint(server_key))):
        await connect(access, pins, private_key=CLIENT_KEY)
    assert log == []  # refused before authentication
    assert pins.forget("127.0.0.1", port)

    pinned = pins.trust("127.0.0.1", port, expected=fingerprint(server_key))
    assert pinned.public_key == ""  # only the fingerprint is known so far
    async with await connect(access, pins, private_key=CLIENT_KEY) as conn:
        await conn.run(["true"])
    learned = pins.get("127.0.0.1", port)
    assert learned is not None and learned.public_key == server_key
    assert log == ["auth ops", "run true"]


def test_trust_never_replaces_a_different_pin(db: Database) -> None:
    pins = StoreHostKeyPins(db)
    first = openssh_key(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())
    second = openssh_key(asyncssh.generate_private_key("ssh-ed25519").convert_to_public())
    assert pins.trust("h.example", 22, expected=fingerprint(first)).public_key == ""
    assert pins.trust("h.example", 22, public_key=first).public_key == first  # completes it
    with pytest.raises(RemoteError, match="already has a pinned host key"):
        pins.trust("h.example", 22, public_key=second)
    with pytest.raises(RemoteError, match="already has a pinned host key"):
        pins.trust("h.example", 22, expected=fingerprint(second))
    assert pins.forget("h.example", 22)
    assert pins.trust("h.example", 22, public_key=second).public_key == second


@pytest.mark.parametrize("text", ["", "SHA256:short", "MD5:aa:bb", "SHA256:" + "!" * 43])
def test_malformed_fingerprints_are_refused(db: Database, text: str) -> None:
    with pytest.raises(RemoteError, match="not an SSH host key fingerprint"):
        StoreHostKeyPins(db).trust("h.example", 22, expected=text)


async def test_real_server_pinned_from_its_known_hosts_before_first_use(
    db: Database, real_wp_sites: list[dict[str, Any]]
) -> None:
    pins = StoreHostKeyPins(db)
    key = known_hosts_key(KNOWN_HOSTS, "127.0.0.1", 2222)
    assert key == _known_hosts_key()
    pins.trust("127.0.0.1", 2222, public_key=key)
    async with await _connect_real(real_wp_sites[0], pins) as conn:
        assert (await conn.run(["whoami"])).text.strip() == "wp1"
