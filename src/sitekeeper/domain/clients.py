"""A client's fields: the one place a client field is declared (store, API, CLI, forms)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sitekeeper.domain.fields import Clear, Spec
from sitekeeper.domain.sites import validate_name
from sitekeeper.errors import UsageError

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(email: str | None) -> str | None:
    if email and not _EMAIL.match(email):
        raise UsageError(f"invalid e-mail address {email!r}")
    return email


def check_address(address: str) -> str:
    """A plain address (no display name: it goes to SMTP as it is); UsageError otherwise."""
    if len(address) > 320:
        raise UsageError(f"e-mail address too long: {address[:40]!r}…")
    _email(address)
    return address


def _addresses(addresses: list[str]) -> list[str]:
    """Each a plain address, once each."""
    return list(dict.fromkeys(check_address(a) for a in addresses))


def _language(language: str) -> str:
    if not _LANGUAGE.match(language):
        raise UsageError(f"invalid language {language!r}: use a code like en, de, pt-BR")
    return language


_ZONE = re.compile(r"^(UTC|[A-Za-z]+(/[A-Za-z0-9_+\-]+){1,2})$")


def _timezone(name: str) -> str:
    """An IANA name's shape (the store checks the system knows it: ``timezones.zone``)."""
    if not _ZONE.match(name):
        raise UsageError(f"invalid time zone {name!r}: an IANA name like Europe/Berlin")
    return name


class ClientFields(BaseModel):
    """A client of the agency. Alert URLs carry tokens: the store keeps them encrypted and
    checks them with Apprise; nothing shows them back."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        Field(max_length=200),
        AfterValidator(validate_name),
        Spec("Name", "New name.", arg_help='Client name, e.g. "Bäckerei Müller".'),
    ]
    email: Annotated[
        str | None,
        Field(max_length=320),
        AfterValidator(_email),
        Spec("E-mail", "Contact / report e-mail.", input="email", hint="(reports)"),
    ] = None
    language: Annotated[
        str,
        Field(max_length=16),
        AfterValidator(_language),
        Spec("Language", "Report language, e.g. de."),
    ] = "en"
    timezone: Annotated[
        str,
        Field(max_length=64),
        AfterValidator(_timezone),
        Spec("Time zone", "IANA time zone: maintenance windows and reports, e.g. Europe/Berlin."),
    ] = "UTC"
    notes: Annotated[
        str | None, Field(max_length=10_000), Spec("Notes", "Free text.", input="textarea")
    ] = None
    alert_urls: Annotated[
        list[str],
        Field(max_length=20),
        Spec(
            "Alert URLs",
            "Apprise URL for this client's alerts (repeatable).",
            option="--alert-url",
            input="textarea",
            hint="(Apprise, one per line)",
            multiple=True,
            secret=True,
            clear=Clear(
                "--clear-alert-urls", "Remove all alert URLs.", "Remove all alert URLs", api=False
            ),
        ),
    ] = Field(default_factory=list)
    report_recipients: Annotated[
        list[str],
        Field(max_length=20),
        AfterValidator(_addresses),
        Spec(
            "Report recipients",
            "E-mail address that receives the client's reports (repeatable).",
            option="--report-to",
            input="textarea",
            hint="(one address per line)",
            multiple=True,
            clear=Clear(
                "--clear-report-to",
                "Send the reports to nobody.",
                "Send the reports to nobody",
                api=False,
            ),
        ),
    ] = Field(default_factory=list)
