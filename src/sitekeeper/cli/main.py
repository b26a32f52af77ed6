"""The ``sitekeeper`` command: global options, command groups, and the one error handler."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import IntegrityError, OperationalError
from typer.core import TyperGroup

from sitekeeper.cli import check, clients, contracts, history, output, plans, serve, sites
from sitekeeper.cli.context import AppContext
from sitekeeper.errors import ConfigError, SitekeeperError, UsageError
from sitekeeper.store.site_import import ImportRejected


class _Root(TyperGroup):
    """Turns sitekeeper's errors into one ``error:`` line and an exit code, never a traceback."""

    # Any: Typer types this with its vendored (private) click Context.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ImportRejected as exc:
            for problem in exc.problems:
                output.error(problem)
            output.error(str(exc))
            raise typer.Exit(2) from None
        except SitekeeperError as exc:
            output.error(str(exc))
            raise typer.Exit(2 if isinstance(exc, UsageError | ConfigError) else 1) from None
        except IntegrityError as exc:  # a concurrent change won a race (same name twice)
            output.error(f"conflicting change, nothing was saved: {exc.orig}".splitlines()[0])
            raise typer.Exit(1) from None
        except OperationalError as exc:
            output.error(f"database error: {exc.orig}".splitlines()[0])
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Root,
    name="sitekeeper",
    help="Website maintenance for agencies: clients, plans, contracts, sites and their checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
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


app.add_typer(clients.app, name="client")
app.add_typer(plans.app, name="plan")
app.add_typer(contracts.app, name="contract")
app.add_typer(sites.app, name="site")

app.command("check")(check.check)
app.command("serve")(serve.serve)
app.command("incidents")(history.incidents)
app.command("uptime")(history.uptime)
app.command("journal")(history.journal)
app.command("alerts")(history.alerts)


def main() -> None:
    """Console-script entry point (``sitekeeper``)."""
    app()
