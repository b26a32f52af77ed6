"""Run the dashboard with uvicorn inside the caller's event loop (``sitekeeper serve``).

The caller owns signals: uvicorn would otherwise replace the process's SIGINT
and SIGTERM handlers, so ``capture_signals`` is a no-op here and ``stop`` is
the only way to end the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller and reports readiness."""

    def __init__(self, config: uvicorn.Config, ready: asyncio.Event | None) -> None:
        super().__init__(config)
        self._ready = ready

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._ready is not None and self.started:
            self._ready.set()


async def serve_web(
    app: FastAPI,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    log_level: str = "warning",
    sock: socket.socket | None = None,
) -> None:
    """Serve ``app`` on host:port until ``stop`` is set; ``ready`` is set once it listens.

    ``sock``: a socket the caller already bound (``serve`` binds first, so a busy port
    stops it before anything starts); host and port are then only for messages.
    """
    trusted: list[str] = app.state.settings.trusted_proxies
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # X-Forwarded-For is believed only from SITEKEEPER_TRUSTED_PROXIES (none by default):
        # uvicorn then takes the right-most address that is not a trusted proxy.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=list(trusted) or None,
        server_header=False,
    )
    server = _Server(config, ready)
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:  # the server failed on its own (e.g. port in use): say so
        stopper.cancel()
        try:
            task.result()
        except SystemExit:  # uvicorn's way of saying it could not start
            raise OSError(f"the web server could not listen on {host}:{port}") from None
        if not server.started:
            raise OSError(f"the web server could not listen on {host}:{port}")
        return
    server.should_exit = True
    await task
