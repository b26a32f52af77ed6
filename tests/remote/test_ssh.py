"""The SSH layer against the realsites OpenSSH server: quoting, bounds, errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from sitekeeper.errors import RemoteError
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import Limits, SshConnection, connect, quote_argv
from sitekeeper.store.database import Database
from tests.realsites import private_key, real_wp_sites, ssh_access

__all__ = ["real_wp_sites"]


@pytest.fixture
def pins(sqlite_db: Database) -> StoreHostKeyPins:
    return StoreHostKeyPins(sqlite_db)


@pytest.fixture
async def wp1(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins
) -> AsyncIterator[SshConnection]:
    site = real_wp_sites[0]
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        yield conn


def test_quote_argv_quotes_every_argument() -> None:
    assert quote_argv(["ls", "-la", "a b", "$(id)", "it's"]) == (
        "ls -la 'a b' '$(id)' 'it'\"'\"'s'"
    )
    with pytest.raises(ValueError, match="empty"):
        quote_argv([])


async def test_run_passes_hostile_arguments_literally(wp1: SshConnection) -> None:
    hostile = "a b; touch /tmp/pwned-$$ `id` $(id) 'q' \"d\" \n next * ?"
    result = await wp1.run(["printf", "%s", hostile])
    assert result.stdout == hostile.encode()
    assert result.exit_status == 0


async def test_run_session_starts_in_docroot_and_reads_stdin(wp1: SshConnection) -> None:
    assert (await wp1.run(["pwd"])).text.strip() == "/srv/sites/wp1"
    assert (await wp1.run(["cat"], stdin=b"secret\x00bytes")).stdout == b"secret\x00bytes"


async def test_non_zero_exit_is_a_remote_error_unless_unchecked(wp1: SshConnection) -> None:
    with pytest.raises(RemoteError, match="exited with 3"):
        await wp1.run(["sh", "-c", "echo boom >&2; exit 3"])
    result = await wp1.run(["sh", "-c", "exit 3"], check=False)
    assert result.exit_status == 3


@pytest.mark.parametrize("redirect", ["", " >&2"])
async def test_output_is_capped(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins, redirect: str
) -> None:
    limits = Limits(max_output=64 * 1024)
    site = real_wp_sites[0]
    key = private_key(site)
    async with await connect(ssh_access(site), pins, private_key=key, limits=limits) as conn:
        with pytest.raises(RemoteError, match="exceeded 65536 bytes"):
            await conn.run(["sh", "-c", f"yes sitekeeper{redirect}"])
        # The connection is still usable after a runaway command was cut off.
        assert (await conn.run(["echo", "alive"])).text == "alive\n"


async def test_command_timeout_stops_the_remote_command(wp1: SshConnection) -> None:
    with pytest.raises(RemoteError, match=r"timed out after 0\.3s"):
        await wp1.run(["sleep", "31.7"], time_limit=0.3)
    # The TERM signal is asynchronous: wait (bounded, on the server) until it is gone.
    gone = await wp1.run(
        ["timeout", "10", "sh", "-c", "while pgrep -u wp1 -f '^sleep 31[.]7$'; do :; done"],
        check=False,
    )
    assert gone.exit_status == 0, gone.text


async def test_read_file_is_bounded_and_write_file_sets_mode(wp1: SshConnection) -> None:
    head = await wp1.read_file("wp-includes/version.php", 5)
    assert head == b"<?php"
    path = "/tmp/sitekeeper-test-ssh-write"
    await wp1.write_file(path, b"one\ntwo\n", mode=0o600)
    try:
        assert await wp1.read_file(path, 100) == b"one\ntwo\n"
        assert (await wp1.run(["stat", "-c", "%a %U", path])).text.split() == ["600", "wp1"]
    finally:
        await wp1.remove(path)
    assert await wp1.lstat(path) is None


async def test_read_file_refuses_a_fifo(wp1: SshConnection) -> None:
    path = "/tmp/sitekeeper-test-fifo"
    await wp1.run(["rm", "-f", path])
    await wp1.run(["mkfifo", "-m", "600", path])
    try:
        with pytest.raises(RemoteError, match="not a regular file"):
            await wp1.read_file(path, 100)
    finally:
        await wp1.remove(path)


async def test_list_dir_reports_symlinks_without_following(wp1: SshConnection) -> None:
    base = "/tmp/sitekeeper-test-listdir"
    await wp1.run(["rm", "-rf", base])
    await wp1.run(["mkdir", base])
    await wp1.run(["ln", "-s", "/etc", f"{base}/etc-link"])
    await wp1.run(["touch", f"{base}/file"])
    try:
        entries = {e.name: e.kind for e in await wp1.list_dir(base)}
        assert entries == {"etc-link": "symlink", "file": "file"}
        assert await wp1.realpath(f"{base}/etc-link") == "/etc"
    finally:
        await wp1.run(["rm", "-rf", base])


async def test_missing_file_is_a_permanent_error(wp1: SshConnection) -> None:
    with pytest.raises(RemoteError, match="no-such-file") as caught:
        await wp1.read_file("no-such-file", 10)
    assert caught.value.permanent


async def test_wrong_key_is_an_authentication_error(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins
) -> None:
    wp1, wp2 = real_wp_sites[0], real_wp_sites[1]
    with pytest.raises(RemoteError, match="authentication failed") as caught:
        await connect(ssh_access(wp1), pins, private_key=private_key(wp2))
    assert caught.value.permanent


@pytest.fixture
def wp2_key_material(real_wp_sites: list[dict[str, Any]]) -> str:
    return Path(real_wp_sites[1]["ssh"]["key"]).read_text()


async def test_key_material_instead_of_a_key_file(
    real_wp_sites: list[dict[str, Any]], pins: StoreHostKeyPins, wp2_key_material: str
) -> None:
    """The vault seam: decrypted key text is used, no key file needed."""
    material = wp2_key_material
    async with await connect(ssh_access(real_wp_sites[1]), pins, private_key=material) as conn:
        assert (await conn.run(["whoami"])).text.strip() == "wp2"


async def test_no_key_at_all_is_refused(pins: StoreHostKeyPins) -> None:
    access = SshAccess(host="127.0.0.1", port=2222, user="wp1")
    with pytest.raises(RemoteError, match="no SSH key configured"):
        await connect(access, pins)


@pytest.fixture
def key_text() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()


async def test_connection_refused(pins: StoreHostKeyPins, key_text: str) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    access = SshAccess(host="127.0.0.1", port=port, user="x")
    with pytest.raises(RemoteError, match="connection refused") as caught:
        await connect(access, pins, private_key=key_text)
    assert not caught.value.permanent


async def test_silent_server_times_out(pins: StoreHostKeyPins, key_text: str) -> None:
    """A port that accepts TCP but never speaks SSH (a tarpit) hits the connect timeout."""
    accepted = asyncio.Event()

    async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(tarpit, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    access = SshAccess(host="127.0.0.1", port=port, user="x")
    try:
        with pytest.raises(RemoteError, match=r"timeout"):
            await connect(access, pins, private_key=key_text, limits=Limits(connect_timeout=0.5))
        assert accepted.is_set()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_servers_disconnect_message_is_quoted_on_one_line(
    pins: StoreHostKeyPins, key_text: str
) -> None:
    """A hacked server's SSH disconnect reason reaches errors and logs as its quoted words."""

    class Hostile(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            self.conn = conn

        def begin_auth(self, username: str) -> bool:
            forged = "bye \x1b]52;c;aGk=\x07\x1b[2J\n2026-12-06 INFO sitekeeper: task 99: ok"
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, forged)
            return True

    host_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(Hostile, "127.0.0.1", 0, server_host_keys=[host_key])
    port = server.sockets[0].getsockname()[1]
    try:
        access = SshAccess(host="127.0.0.1", port=port, user="x")
        with pytest.raises(RemoteError) as caught:
            await connect(access, pins, private_key=key_text)
    finally:
        server.close()
        await server.wait_closed()
    message = str(caught.value)
    assert 'server said: "bye \\x1b]52;c;aGk=\\x07\\x1b[2J\\n2026-12-06 INFO' in message
    assert "\x1b" not in message and "\n" not in message
