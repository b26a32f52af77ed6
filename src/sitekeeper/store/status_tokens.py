"""The public status page's secret per client: on, off, rotated, and found again.

The token is the only key to a page anyone may open without logging in, so it is long
(``secrets.token_urlsafe``: 256 random bits): a guess cannot succeed, and learning a
prefix from an index lookup's timing over the network would still leave 200+ bits to
guess. The lookup is one indexed query (the column is unique), so an anonymous request
costs the database the same whatever the number of clients with a page. Turning the
page off clears the token; rotating replaces it; the old URL answers 404 from the next
request on (nothing caches a token).
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Client

TOKEN_BYTES = 32  # 43 URL-safe characters; the column holds 64
MAX_TOKEN_CHARS = 64
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")  # what token_urlsafe writes


def new_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def turn_on(session: Session, client: Client) -> str:
    """Give the client a status page (keeping its token if it has one); the token."""
    if client.status_token is None:
        client.status_token = new_token()
        session.flush()
    return client.status_token


def rotate(session: Session, client: Client) -> str:
    """Replace the client's token (turning the page on if it was off); the new token."""
    client.status_token = new_token()
    session.flush()
    return client.status_token


def turn_off(session: Session, client: Client) -> None:
    """Take the client's status page down: its token is forgotten."""
    client.status_token = None
    session.flush()


def client_by_token(session: Session, token: str) -> int | None:
    """The id of the client whose status page ``token`` opens, or None (a token of the
    wrong size or alphabet is refused before any query)."""
    if len(token) > MAX_TOKEN_CHARS or not _ALPHABET.fullmatch(token):
        return None
    return session.scalar(select(Client.id).where(Client.status_token == token))
