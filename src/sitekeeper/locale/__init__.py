"""Message catalogues (gettext ``.po``) for what sitekeeper writes to people: alerts, reports.

English is the source language (the msgids); ``de/LC_MESSAGES/sitekeeper.po`` holds the
German texts. The ``.po`` files are the only form kept: a catalogue is compiled in
memory with Babel the first time a language is asked for, so ``pip install .`` needs
no build step and a fixed translation is a one-file change.

To add a text: mark it with ``N_`` (a pair of singular and plural with ``NP_``) where it
is defined, then
``pybabel extract -F src/sitekeeper/locale/babel.cfg -k N_ -k NP_:1,2 --no-location
-o src/sitekeeper/locale/sitekeeper.pot src/sitekeeper`` (babel.cfg adds the report's
Jinja2 templates) and
``pybabel update -i src/sitekeeper/locale/sitekeeper.pot -d src/sitekeeper/locale -D sitekeeper``,
and translate the new entries. A new language is a new folder
(``pybabel init -l fr …``).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

DOMAIN = "sitekeeper"
HERE = Path(__file__).parent


def N_(text: str) -> str:  # the gettext convention: `pybabel extract -k N_` finds these
    """Mark ``text`` for translation where it is defined; translated where it is used."""
    return text


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair; ``ngettext(*pair, n)`` picks the language's form."""
    return singular, plural


def languages() -> list[str]:
    """The languages with a catalogue, besides English (the source)."""
    return sorted(p.parent.parent.name for p in HERE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def translations(language: str | None) -> gettext.NullTranslations:
    """The texts for ``language`` ("de", "de-AT", "de_AT.UTF-8"); English if none exists."""
    wanted = (language or "en").split(".", 1)[0].replace("-", "_")
    for candidate in (wanted, wanted.split("_", 1)[0].lower()):
        if candidate and (HERE / candidate / "LC_MESSAGES" / f"{DOMAIN}.po").is_file():
            return _compiled(candidate)
    return gettext.NullTranslations()


@cache
def _compiled(language: str) -> gettext.GNUTranslations:
    """Compile the language's ``.po`` in memory (Babel), once per process."""
    from babel.messages.mofile import write_mo  # noqa: PLC0415 - only when a text is written
    from babel.messages.pofile import read_po  # noqa: PLC0415

    with (HERE / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
