"""TinyCMS's outside world on loopback: the site and its vendor over HTTP, the docroot over
SSH (SFTP chrooted to a scratch directory). Both run in one background event loop, since
the CLI under test runs its own ``asyncio.run``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
from aiohttp import web

from tests.intel.feedserver import FeedServer

T = TypeVar("T")


class Background:
    """An event loop in a thread; ``run`` waits for a coroutine scheduled on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@dataclass
class World:
    """Where everything listens, and the SSH key the site's record uses."""

    web: FeedServer  # the site's pages and the vendor's feeds, by path
    ssh_port: int
    client_key: str  # OpenSSH private key text, as ``site edit --key`` imports it


@contextmanager
def tiny_world(chroot: Path) -> Iterator[World]:
    """Serve HTTP and SSH until the block ends; SFTP sees ``chroot`` as ``/``."""
    loop = Background()
    server = FeedServer()
    runner = web.AppRunner(web.Application(), handle_signals=False)
    runner.app.router.add_route("*", "/{tail:.*}", server.handle)
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = asyncssh.import_authorized_keys(
        client_key.export_public_key("openssh").decode("ascii")
    )

    def refuse(process: asyncssh.SSHServerProcess[str]) -> None:
        process.stderr.write("TinyCMS hosts run no commands\n")
        process.exit(127)

    async def start() -> asyncssh.SSHAcceptor:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return await asyncssh.create_server(
            asyncssh.SSHServer,
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=authorized,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(chroot).encode()),
            process_factory=refuse,
        )

    async def stop(acceptor: asyncssh.SSHAcceptor) -> None:
        acceptor.close()
        await acceptor.wait_closed()
        await runner.cleanup()

    acceptor = loop.run(start())
    try:
        yield World(
            web=server,
            ssh_port=acceptor.get_port(),
            client_key=client_key.export_private_key("openssh").decode("ascii"),
        )
    finally:
        loop.run(stop(acceptor))
        loop.stop()
