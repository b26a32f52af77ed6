"""`sitekeeper serve`: the main job — scheduler, workers and housekeeping in one process."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import sys
import threading
from typing import Annotated

import typer

from sitekeeper import logs
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.config import Settings
from sitekeeper.domain.workers import ALL_QUEUES, LOCATION, Role, role_allowed
from sitekeeper.errors import UsageError
from sitekeeper.store import installation
from sitekeeper.store.database import Database, backend_of
from sitekeeper.store.ssh_keys import adopt_key_paths

log = logging.getLogger("sitekeeper")


def serve(
    typer_ctx: typer.Context,
    *,
    stats_interval: Annotated[
        float, typer.Option(help="Log a status line every N seconds (0: never).", min=0)
    ] = 60.0,
    log_level: Annotated[
        str | None,
        typer.Option(help="DEBUG, INFO, WARNING or ERROR (default SITEKEEPER_LOG_LEVEL, INFO)."),
    ] = None,
    web_host: Annotated[
        str | None, typer.Option(help="Web UI address (default SITEKEEPER_WEB_HOST).")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option(help="Web UI port, 0 for none (default SITEKEEPER_WEB_PORT).")
    ] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="web: the UI and API only; scheduler: the periodic loops; worker: jobs and "
            "checks; all: everything in one process (PostgreSQL is needed for the others).",
            case_sensitive=False,
        ),
    ] = Role.ALL,
    queues: Annotated[
        str | None,
        typer.Option(
            help=f"A worker's job queues, comma separated ({', '.join(ALL_QUEUES)}; default all)."
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            help="Where this process runs, e.g. eu-central (default SITEKEEPER_LOCATION)."
        ),
    ] = None,
) -> None:
    """Monitor every site at its plan's interval until stopped (Ctrl-C or SIGTERM)."""
    ctx = app_context(typer_ctx)
    overrides = (
        ("web_host", web_host),
        ("web_port", web_port),
        ("log_level", log_level),
        ("location", location),
    )
    settings = ctx.settings.model_copy(update={k: v for k, v in overrides if v is not None})
    if location is not None and not LOCATION.fullmatch(location):
        raise UsageError(f"--location {location!r}: letters, digits, '.', '_' and '-' only")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UsageError(f"--log-level {log_level}: one of DEBUG, INFO, WARNING, ERROR")
    chosen = parse_queues(queues, role)
    if not role.web:
        settings = settings.model_copy(update={"web_port": 0})
    elif role is Role.WEB and not settings.web_port:
        raise UsageError("--role web serves the UI and API: give it a --web-port")
    # Refused before logging is set up: a refusal changes nothing, not even the log handlers.
    backend = backend_of(settings.resolved_database_url)
    if refused := role_allowed(role, backend):
        raise UsageError(refused)
    if chosen and backend != "postgresql":
        raise UsageError("--queues needs PostgreSQL: on SQLite one process runs every queue")
    logs.setup(settings.log_level)
    # The port first: a second serve on a busy port says so and exits before it opens
    # the database or checks anything.
    listener = listen(settings.web_host, settings.web_port) if settings.web_port else None
    try:
        _serve(ctx, settings, listener, stats_interval, role=role, queues=chosen)
    finally:
        if listener is not None:
            listener.close()


def parse_queues(queues: str | None, role: Role) -> tuple[str, ...]:
    """The queues named by ``--queues``; UsageError for an unknown one or a non-worker."""
    if queues is None:
        return ()
    names = tuple(dict.fromkeys(q.strip() for q in queues.split(",") if q.strip()))
    if not role.works:
        raise UsageError(f"--queues is for workers; --role {role.value} takes no jobs")
    unknown = [q for q in names if q not in ALL_QUEUES]
    if unknown or not names:
        raise UsageError(
            f"--queues {queues}: choose among {', '.join(ALL_QUEUES)} (comma separated)"
        )
    return names


def _serve(
    ctx: AppContext,
    settings: Settings,
    listener: socket.socket | None,
    stats_interval: float,
    *,
    role: Role,
    queues: tuple[str, ...],
) -> None:
    db = ctx.db
    with db.session() as session:
        size = installation.size(session)
        # Sites of older installs named SSH key files: read them into the store, once.
        for warning in adopt_key_paths(session, ctx.vault):
            log.warning("%s", warning)
    log.info("data directory %s, database %s", settings.home, db.engine.url.render_as_string())
    if size.sites == 0:
        log.info(
            "no sites yet: add one with `sitekeeper site add https://example.com --client NAME`"
        )
    log.info("role %s at location %s", role.value, settings.location)
    log.info("monitoring %d sites", size.sites)
    if settings.web_port:
        log.info("web UI on http://%s:%d/", settings.web_host, settings.web_port)
        if size.users == 0:
            log.warning(
                "no users yet: create the first admin with "
                "`sitekeeper user add you@example.com --role admin`, then log in"
            )
    asyncio.run(_run_until_signal(settings, db, stats_interval, listener, role=role, queues=queues))
    log.info("stopped cleanly")


def listen(host: str, port: int) -> socket.socket:
    """The web UI's socket, bound and listening; UsageError (exit 2) if it cannot be."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise UsageError(f"web UI address {where}: {exc.strerror or exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = (
            "the port is in use (is another `sitekeeper serve` running?)"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror or str(exc)
        )
        raise UsageError(
            f"cannot listen on {where} for the web UI: {reason}; "
            "choose another port with --web-port, or 0 for no web UI"
        ) from None
    return sock


async def _run_until_signal(
    settings: Settings,
    db: Database,
    stats_interval: float,
    listener: socket.socket | None,
    *,
    role: Role,
    queues: tuple[str, ...],
) -> None:

    from sitekeeper.engine.service import Service  # noqa: PLC0415
    from sitekeeper.web.app import create_app  # noqa: PLC0415
    from sitekeeper.web.server import serve_web  # noqa: PLC0415

    # Built inside the loop: the probe's HTTP client belongs to it.
    service = Service(
        settings,
        db,
        stats_interval=stats_interval or None,
        role=role,
        queues=queues,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, stop, settings.stop_timeout)
    web = None
    if settings.web_port:
        app = create_app(db, settings)
        app.state.wake_tasks = service.dispatch.wake  # a queued action starts now, not at a poll
        web = asyncio.create_task(
            serve_web(app, settings.web_host, settings.web_port, stop, sock=listener)
        )
    await service.run(stop)
    if web is not None:
        try:
            await web
        except OSError as exc:
            # Monitoring matters more than the UI: it ran; the operator is told why the UI did not.
            log.error(
                "the web UI could not start on %s:%d: %s", settings.web_host, settings.web_port, exc
            )


# After the grace period the service cancels what runs; this much more is left for
# cancellation and flushing before the process exits regardless (a thread blocked
# in a system call cannot be cancelled, and must not keep the process alive).
_EXIT_MARGIN = 5.0


def _on_signal(stop: asyncio.Event, grace: float) -> None:
    """First signal: stop in bounded time. A second one: exit at once."""
    if stop.is_set():
        log.warning("second stop signal: exiting now")
        _exit_now(1)
    log.info("stopping (running work gets %gs to finish)", grace)
    stop.set()
    deadline = threading.Timer(grace + _EXIT_MARGIN, _stuck, args=(grace + _EXIT_MARGIN,))
    deadline.daemon = True
    deadline.start()


def _stuck(after: float) -> None:
    busy = sorted(
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and t.is_alive()
    )
    log.error("not stopped %gs after the signal (busy: %s); exiting anyway", after, ", ".join(busy))
    _exit_now(0)


def _exit_now(code: int) -> None:
    """Leave without waiting for threads (they may be blocked in system calls)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
