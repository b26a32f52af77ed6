"""The ``sitekeeper`` command: global options, command groups, and the one error handler.

Command modules are imported only when their command runs, so that a quick
``sitekeeper check URL`` does not pay for the database layer's imports.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sitekeeper.cli import output
from sitekeeper.cli.context import AppContext
from sitekeeper.errors import ConfigError, SitekeeperError, UsageError
from sitekeeper.logs import quiet_library_warnings

quiet_library_warnings()  # before any command module imports asyncssh

# name -> (module, attribute): a Typer sub-app (a command group) or a command function.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("sitekeeper.cli.check", "check"),
    "fingerprint": ("sitekeeper.cli.fingerprint", "fingerprint"),
    "probe-security": ("sitekeeper.cli.security", "probe_security"),
    "probe-content": ("sitekeeper.cli.content", "probe_content"),
    "domain": ("sitekeeper.cli.domain", "domain"),
    "serve": ("sitekeeper.cli.serve", "serve"),
    "incidents": ("sitekeeper.cli.history", "incidents"),
    "uptime": ("sitekeeper.cli.history", "uptime"),
    "journal": ("sitekeeper.cli.history", "journal"),
    "alerts": ("sitekeeper.cli.history", "alerts"),
    "client": ("sitekeeper.cli.clients", "app"),
    "plan": ("sitekeeper.cli.plans", "app"),
    "contract": ("sitekeeper.cli.contracts", "app"),
    "site": ("sitekeeper.cli.sites", "app"),
    "inventory": ("sitekeeper.cli.intel", "inventory"),
    "updates": ("sitekeeper.cli.intel", "updates"),
    "vulns": ("sitekeeper.cli.intel", "vulns"),
    "advisories": ("sitekeeper.cli.intel", "advisories_app"),
    "feeds": ("sitekeeper.cli.intel", "feeds_app"),
    "user": ("sitekeeper.cli.users", "app"),
    "backup": ("sitekeeper.cli.backups", "backup"),
    "backups": ("sitekeeper.cli.backups", "backups"),
    "restore": ("sitekeeper.cli.backups", "restore"),
    "drill": ("sitekeeper.cli.backups", "drill"),
    "backup-repo": ("sitekeeper.cli.backup_repos", "repo_app"),
    "update": ("sitekeeper.cli.updates", "update"),
    "approvals": ("sitekeeper.cli.approvals", "approvals"),
    "hold": ("sitekeeper.cli.approvals", "hold"),
    "work": ("sitekeeper.cli.work", "app"),
    "report": ("sitekeeper.cli.report", "report"),
    "reports": ("sitekeeper.cli.reports", "app"),
    "branding": ("sitekeeper.cli.branding", "app"),
    "scan-files": ("sitekeeper.cli.scan_files", "scan_files"),
    "scan": ("sitekeeper.cli.scan_site", "scan"),
    "findings": ("sitekeeper.cli.findings", "app"),
    "workers": ("sitekeeper.cli.workers", "workers"),
    "migrate": ("sitekeeper.cli.migrate", "migrate"),
}


def _load(name: str) -> Any:
    """The click command for ``name``, built from its module on first use."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer()
    single.command(name)(target)
    return typer.main.get_command(single)


def _database_error(exc: Exception) -> str | None:
    """A one-line message for SQLAlchemy errors (checked without importing SQLAlchemy)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return None
    if isinstance(exc, sa_exc.IntegrityError):  # a concurrent change won a race
        return f"conflicting change, nothing was saved: {exc.orig}".splitlines()[0]
    if isinstance(exc, sa_exc.OperationalError):
        return f"database error: {exc.orig}".splitlines()[0]
    return None


class _Root(TyperGroup):
    """Loads commands lazily; turns errors into one ``error:`` line and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Typer suggests only commands it has loaded; ours load lazily, so suggest here."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # click's UsageError, vendored privately by Typer
            message = getattr(exc, "message", None)
            if isinstance(message, str) and args and "Did you mean" not in message:
                matches = difflib.get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    names = ", ".join(repr(m) for m in matches)
                    exc.message = f"{message.rstrip('.')}. Did you mean {names}?"  # type: ignore[attr-defined]
            raise

    # Any: Typer types this with its vendored (private) click Context.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SitekeeperError as exc:
            for problem in getattr(exc, "problems", ()):  # a rejected import lists every row
                output.error(problem)
            output.error(str(exc))
            raise typer.Exit(2 if isinstance(exc, UsageError | ConfigError) else 1) from None
        except Exception as exc:
            message = _database_error(exc)
            if message is None:
                raise
            output.error(message)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Root,
    name="sitekeeper",
    help="Website maintenance for agencies: clients, plans, contracts, sites and their checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version  # noqa: PLC0415 - only for --version

        print(f"sitekeeper {version('sitekeeper')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (database, keys); overrides SITEKEEPER_HOME.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Website maintenance for agencies: clients, plans, contracts, sites and their checks."""
    state = AppContext(data_dir=data_dir)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    """Console-script entry point (``sitekeeper``)."""
    app()
