"""A loopback webhook that counts the alerts it receives (Apprise ``json://`` POSTs).

It runs its own event loop in a thread, so the test's polling never blocks it. Armed
with ``kill_sender_of``, it kills the process that sent the next matching alert with
SIGKILL *after* receiving it and *before* answering: the sender dies between "the channel
has the message" and "the outbox recorded the send", the at-least-once window.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Post:
    """One alert as the channel got it."""

    at: float
    title: str
    message: str
    kind: str  # Apprise's notification type: failure, success, warning, info
    peer_port: int


@dataclass
class Armed:
    """Kill the sender of the first POST that ``match`` accepts; one of ``pids``."""

    match: Callable[[Post], bool]
    pids: dict[int, str]
    killed: str | None = None
    post: Post | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Receiver:
    """The alert channel: ``url`` is the Apprise URL to configure."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        self._armed: Armed | None = None
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._serve, name="alert-receiver", daemon=True)
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the alert receiver did not start")

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/alerts"

    def _serve(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        app = web.Application()
        app.router.add_post("/alerts", self._receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._stop = asyncio.Event()
        self._started.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        payload: dict[str, Any] = await request.json()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        post = Post(
            at=time.time(),
            title=str(payload.get("title", "")),
            message=str(payload.get("message", "")),
            kind=str(payload.get("type", "")),
            peer_port=int(peer[1]) if peer else 0,
        )
        with self._lock:
            self.posts.append(post)
            armed = self._armed
            if armed is not None and armed.match(post):
                self._armed = None
            else:
                armed = None
        if armed is not None:
            pid = pid_of_peer(post.peer_port, self.port, armed.pids)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                armed.killed = armed.pids[pid]
            armed.post = post
            armed.done.set()
        return web.json_response({"ok": True})

    def kill_sender_of(self, match: Callable[[Post], bool], pids: dict[int, str]) -> Armed:
        """Arm: the sender (one of ``pids``) of the next POST ``match`` accepts is killed."""
        armed = Armed(match, dict(pids))
        with self._lock:
            self._armed = armed
        return armed

    def about(self, needle: str) -> list[Post]:
        """The alerts whose title or text names ``needle``."""
        with self._lock:
            return [p for p in self.posts if needle in p.title or needle in p.message]

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def pid_of_peer(peer_port: int, server_port: int, pids: Iterable[int]) -> int | None:
    """Which of ``pids`` owns the TCP connection from ``peer_port`` to ``server_port`` on
    loopback (read from /proc: the socket's inode, then the processes' descriptors)."""
    inode = _socket_inode(peer_port, server_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                    return pid
            except OSError:
                continue
    return None


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)  # the header
            for line in f:
                cols = line.split()
                local, remote, inode = cols[1], cols[2], cols[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == local_port
                    and int(remote.rsplit(":", 1)[1], 16) == remote_port
                ):
                    return inode
    return None
