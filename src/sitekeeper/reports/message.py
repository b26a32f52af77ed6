"""A report as an e-mail: the subject names the client and period, the body is the first
page's sentences (plain text), the PDF is attached under a file name safe everywhere.

Built with the standard library's ``email`` package (``EmailMessage``, SMTP policy), so
headers are encoded and folded by the book; a name with a line break cannot add headers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from sitekeeper.locale import N_, translations

SUBJECT = N_("Website report {period}: {client}")
ATTACHED = N_("The full report is attached as a PDF.")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SPACE = re.compile(r"\s+")
MAX_NAME = 60  # characters of the client's name in the file name


def attachment_name(client: str, period: str) -> str:
    """``report-backerei-muller-2026-11.pdf``: ASCII letters, digits, dots and dashes only
    (accents dropped, everything else a dash), so no mail client or file system trips."""
    ascii_name = unicodedata.normalize("NFKD", client).encode("ascii", "ignore").decode()
    slug = _UNSAFE.sub("-", ascii_name.lower()).strip("-.")[:MAX_NAME].strip("-.") or "client"
    when = _UNSAFE.sub("-", period.replace("..", "_")).strip("-.")
    return f"report-{slug}-{when}.pdf"


def one_line(text: str) -> str:
    """A header's text: whitespace (line breaks included) collapsed to single spaces."""
    return _SPACE.sub(" ", text).strip()


def compose(
    *,
    sender: str,
    recipients: Sequence[str],
    client: str,
    period: str,
    language: str,
    summary: str,
    pdf: bytes,
) -> EmailMessage:
    """The message for ``recipients``: subject and closing line in the client's language."""
    words = translations(language)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = one_line(words.gettext(SUBJECT).format(period=period, client=client))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(f"{summary.strip()}\n\n{words.gettext(ATTACHED)}\n")
    message.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=attachment_name(client, period),
    )
    return message
