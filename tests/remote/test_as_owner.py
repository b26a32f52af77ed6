"""Commands through ``sudo -n -u OWNER``: what runs, and what the messages name."""

from __future__ import annotations

from typing import Any, cast

import asyncssh
import pytest

from sitekeeper.errors import RemoteError
from sitekeeper.remote.as_owner import OwnerConnection
from sitekeeper.remote.ssh import Limits


class _Stream:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self, _size: int) -> bytes:
        data, self.data = self.data, b""
        return data


class _Process:
    def __init__(self, status: int, err: bytes) -> None:
        self.exit_status: int | None = None
        self.status = status
        self.stdin = self
        self.stdout, self.stderr = _Stream(b""), _Stream(err)

    def write(self, _data: bytes) -> None: ...

    def write_eof(self) -> None: ...

    async def wait(self) -> Any:
        self.exit_status = self.status
        return self

    def close(self) -> None: ...


class _Conn:
    """An SSH connection whose every command exits 2 saying so on stderr."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    async def create_process(self, command: str, encoding: None = None) -> _Process:
        del encoding
        self.commands.append(command)
        return _Process(2, b"no such file")


def owner_conn() -> tuple[OwnerConnection, _Conn]:
    fake = _Conn()
    conn = OwnerConnection(cast(asyncssh.SSHClientConnection, fake), "deploy@h:22", Limits(), "web")
    return conn, fake


async def test_a_command_runs_through_sudo_and_its_failure_names_the_command() -> None:
    conn, fake = owner_conn()
    with pytest.raises(RemoteError) as raised:
        await conn.run(["tar", "-x", "-f", "a b.tar"])
    assert fake.commands == ["sudo -n -u web -- tar -x -f 'a b.tar'"]
    assert str(raised.value).startswith("deploy@h:22 as web: tar exited with 2: ")
    result = await conn.run(["true"], check=False)
    assert result.argv == ("true",)
    assert result.exit_status == 2
