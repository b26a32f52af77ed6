"""A TCP relay in front of the realsites sshd that tests use to watch and cut SSH traffic.

It counts bytes flowing from the server; ``passed`` is set once ``mark``
bytes went by (so a test acts *during* a transfer, without sleeping), and
with ``cut_after`` every connection is reset at that point, as when a
network path dies.
"""

from __future__ import annotations

import asyncio
import contextlib


class Relay:
    """Forward 127.0.0.1:<port> to a target; count, signal and optionally cut."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.bytes_from_server = 0
        self.mark: int | None = None
        self.cut_after: int | None = None
        self.passed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def arm(self, *, mark: int | None = None, cut_after: int | None = None) -> None:
        """Start counting afresh; signal at ``mark`` bytes, reset connections at ``cut_after``."""
        self.bytes_from_server = 0
        self.mark, self.cut_after = mark, cut_after
        self.passed = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, count=False),
                self._pipe(up_reader, writer, count=True),
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if count:
                    self.bytes_from_server += len(data)
                    if self.mark is not None and self.bytes_from_server >= self.mark:
                        self.passed.set()
                    if self.cut_after is not None and self.bytes_from_server >= self.cut_after:
                        for w in list(self._writers):
                            w.transport.abort()  # RST both ways: the path is gone
                        return
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
