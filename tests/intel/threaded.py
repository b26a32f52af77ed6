"""An aiohttp app on loopback in its own thread and event loop, for CLI tests (the CLI runs
its own ``asyncio.run``, so the server cannot share the test's loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


@contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 until the block ends; yields its base URL (ending in ``/``)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, handle_signals=False)
    started = threading.Event()
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port.append(runner.addresses[0][1])
        started.set()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    started.wait()
    try:
        yield f"http://127.0.0.1:{port[0]}/"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
