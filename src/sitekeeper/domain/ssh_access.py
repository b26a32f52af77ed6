"""How to reach a site over SSH, and the one validator for SSH hosts and users.

Every entry point (``site add``/``edit``, the CSV and JSON import, the API)
parses an SSH access through :func:`parse_ssh_target` or :class:`SshAccess`,
so a host or user that OpenSSH would read as an option (``-oProxyCommand=…``)
is refused in one place, before it is stored. Pure (no I/O): the store and
the remote layer share it; ``remote.access`` re-exports it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sitekeeper.errors import UsageError

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
# POSIX portable user names (letters, digits, ``._-``), never starting with ``-`` or ``.``.
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_TARGET = re.compile(r"^(?P<user>[^@]*)@(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{1,5}))?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_HOST = 253
T = TypeVar("T")
R = TypeVar("R")


def validate_ssh_host(host: str) -> str:
    """A host name, IPv4 or IPv6 literal (no brackets), normalised; UsageError otherwise.

    Refused: anything OpenSSH or rsync could take for an option (a leading
    ``-``), whitespace and control characters, ``@``/``:``/``%`` that would
    change what the destination means, and empty or over-long names.
    """
    if not isinstance(host, str) or not host:
        raise UsageError("invalid SSH host: empty")
    if ":" in host:
        return _ipv6(host)
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UsageError(f"invalid SSH host {host!r}: not a host name") from None
    name = ascii_host.removesuffix(".")
    labels = name.split(".")
    if len(name) > MAX_HOST or not all(_LABEL.fullmatch(label) for label in labels):
        raise UsageError(
            f"invalid SSH host {host!r}: use a host name (letters, digits, '-' inside "
            "labels), an IPv4 or an IPv6 address"
        )
    return name


def _ipv6(host: str) -> str:
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        raise UsageError(f"invalid SSH host {host!r}: not an IPv6 address") from None
    if address.scope_id is not None:
        raise UsageError(f"invalid SSH host {host!r}: scoped IPv6 addresses are not supported")
    return str(address)


def validate_ssh_user(user: str) -> str:
    """A POSIX-style user name (letters, digits, ``._-``; not starting with ``-``/``.``)."""
    if not isinstance(user, str) or not _USER.fullmatch(user):
        raise UsageError(
            f"invalid SSH user {user!r}: use letters, digits, '.', '_' and '-' "
            "(at most 64, not starting with '-' or '.')"
        )
    return user


def validate_sudo_user(user: str) -> str:
    """The files' owner an SSH user runs commands as through sudo: a user name as
    :func:`validate_ssh_user`, never root (a site's files written as root would be no
    one's the site can change)."""
    validate_ssh_user(user)
    if user == "root":
        raise UsageError("invalid sudo user 'root': name the user that owns the site's files")
    return user


def validate_docroot(docroot: str | None) -> str | None:
    """A document root without control characters, never read as an option; blank is None."""
    if docroot is None or not docroot.strip():
        return None
    if _CONTROL.search(docroot) or docroot.startswith("-") or len(docroot) > 1024:
        raise UsageError(f"invalid document root {docroot!r}")
    return docroot


class SshAccess(BaseModel):
    """How to reach a site's server; stored as JSON in ``Site.ssh``.

    ``key_id`` names a private key kept (encrypted) in sitekeeper's own store,
    owned by the site's client -- never a path on the sitekeeper host. ``sudo_user``: the
    files' owner, when ``user`` is another account that may run commands as it through
    ``sudo -n -u`` (updates, backups and restores then work as that owner; never root).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str
    key_id: int | None = Field(default=None, ge=1)
    docroot: str | None = None
    sudo_user: str | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _as_value_error(validate_ssh_host, value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        return _as_value_error(validate_ssh_user, value)

    @field_validator("sudo_user")
    @classmethod
    def _sudo_user(cls, value: str | None) -> str | None:
        return None if value is None else _as_value_error(validate_sudo_user, value)

    @field_validator("docroot")
    @classmethod
    def _docroot(cls, value: str | None) -> str | None:
        return _as_value_error(validate_docroot, value)

    @property
    def label(self) -> str:
        """``user@host:port`` for messages (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}:{self.port}"


def _as_value_error(check: Callable[[T], R], value: T) -> R:
    """pydantic reports ValueError as a validation error; ours carry the same words."""
    try:
        return check(value)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def parse_ssh_target(target: str) -> tuple[str, str, int]:
    """``user@host[:port]`` (IPv6 as ``user@[addr]:port``) -> (user, host, port); UsageError."""
    text = target.strip()
    match = _TARGET.fullmatch(text)
    if not match:
        raise UsageError(
            f"invalid SSH target {target!r}: expected user@host, user@host:port or user@[ipv6]:port"
        )
    port = int(match.group("port") or 22)
    if not 1 <= port <= 65535:
        raise UsageError(f"invalid SSH port in {target!r}")
    host = match.group("host")
    if host.startswith("["):
        host = host[1:-1]
        if ":" not in host:
            raise UsageError(f"invalid SSH target {target!r}: brackets are for IPv6 addresses")
    return validate_ssh_user(match.group("user")), validate_ssh_host(host), port
