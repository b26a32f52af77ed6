"""``sitekeeper branding show|set``: how the agency's client reports look (name, logo,
colours, contact, footer) and the dashboard address their links point to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.reports import branding as store
from sitekeeper.reports.branding import MAX_LOGO_BYTES, Branding

app = typer.Typer(help="White-label settings of the client reports.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def branding_json(branding: Branding) -> dict[str, Any]:
    """The documented JSON shape (the logo as its type and size, not its bytes)."""
    data = branding.model_dump(exclude={"logo", "logo_type"})
    logo = store.logo_bytes(branding)
    data["logo"] = {"type": branding.logo_type, "bytes": len(logo)} if logo else None
    return data


def _show(branding: Branding, as_json: bool) -> None:
    if as_json:
        output.print_json(branding_json(branding))
        return
    data = branding_json(branding)
    logo = data.pop("logo")
    output.print_fields(
        [
            *data.items(),
            ("logo", f"{logo['type']}, {logo['bytes']:,} bytes" if logo else None),
        ]
    )


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The current branding."""
    with app_context(ctx).session() as session:
        _show(store.load(session), as_json)


@app.command("set")
def set_(
    ctx: typer.Context,
    *,
    name: Annotated[str | None, typer.Option("--name", help="The agency's name.")] = None,
    logo: Annotated[
        Path | None,
        typer.Option("--logo", help="A PNG or JPEG file (at most 512 KiB).", dir_okay=False),
    ] = None,
    remove_logo: Annotated[bool, typer.Option("--remove-logo", help="Drop the logo.")] = False,
    primary: Annotated[
        str | None, typer.Option("--primary", help="Headings colour, #rrggbb.")
    ] = None,
    accent: Annotated[
        str | None, typer.Option("--accent", help="Highlight colour, #rrggbb.")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="Contact line (phone, e-mail).")
    ] = None,
    footer: Annotated[str | None, typer.Option("--footer", help="Footer of every page.")] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The dashboard's address, for the report's links."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the branding; options not given keep their value (an empty text clears it)."""
    data: bytes | None = None
    if logo is not None:
        if logo.stat().st_size > MAX_LOGO_BYTES:
            raise UsageError(f"the logo is over {MAX_LOGO_BYTES // 1024} KiB: make it smaller")
        data = logo.read_bytes()
    changes: dict[str, Any] = {
        "agency_name": name,
        "primary": primary,
        "accent": accent,
        "contact": contact,
        "footer": footer,
        "public_url": public_url,
        "remove_logo": remove_logo,
    }
    with app_context(ctx).session() as session:
        _show(store.save(session, changes, logo=data), as_json)
