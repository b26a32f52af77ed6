"""SSH private keys kept by sitekeeper: imported once, encrypted at rest, one client's each.

A site's SSH access names a key by id, never a file: a path would let whoever
edits a site (a technician, an API import) point sitekeeper at any key the
server can read -- another client's, or ``/root/.ssh/id_rsa``. Keys are read
once (``site edit --key FILE``, the import), normalised to OpenSSH format and
kept vault-encrypted; a site may only use a key of its own client, checked
when the key is set and again each time it is used (:func:`ssh_login`).

Installs from before keys were kept stored ``key_path`` in ``sites.ssh``:
:func:`adopt_key_paths` (at start) and :func:`ssh_login` (before any use)
read such a file into the store once, with a warning, and drop the path.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import ValidationError
from sqlalchemy import String, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sitekeeper.domain.ssh_access import SshAccess
from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store import journal
from sitekeeper.store.ssh_key_tables import SshKey
from sitekeeper.store.tables import Client, Site
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 16 * 1024  # an RSA-8192 key in PEM is about 6.5 KB
MIN_RSA_BITS = 2048
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
_LEGACY = "key_path"


@dataclass(frozen=True)
class ParsedKey:
    """A private key as sitekeeper keeps it: OpenSSH text, its public half and fingerprint."""

    private_openssh: str
    public_key: str  # "type base64"
    fingerprint: str  # "SHA256:…", as ssh-keygen -l prints it
    algorithm: str


def parse_private_key(text: str) -> ParsedKey:
    """An unencrypted Ed25519, ECDSA or RSA (>= 2048 bits) private key; UsageError otherwise."""
    data = text.encode("utf-8", errors="replace").strip() + b"\n"
    if len(data) > MAX_KEY_BYTES:
        raise UsageError(f"not an SSH private key: larger than {MAX_KEY_BYTES} bytes")
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key: Any = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(
            "the SSH key is protected by a passphrase: sitekeeper runs unattended, so "
            "give it a copy without one (ssh-keygen -p -N '' -f COPY); it is kept encrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(
            "not an SSH private key (expected OpenSSH or PEM format: Ed25519, ECDSA or RSA)"
        ) from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
        raise UsageError(f"RSA key of {key.key_size} bits is too weak (at least {MIN_RSA_BITS})")
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise UsageError("unsupported SSH key type: use Ed25519, ECDSA or RSA")
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    algorithm, blob = public.decode("ascii").split()[:2]
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")
    return ParsedKey(private, f"{algorithm} {blob}", fingerprint, algorithm)


def read_key_file(path: Path) -> str:
    """The text of a private key file given on the command line (a regular file, bounded)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageError(f"cannot read SSH key {str(path)!r}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UsageError(f"SSH key {str(path)!r} is not a regular file")
        data = handle.read(MAX_KEY_BYTES + 1)
    if len(data) > MAX_KEY_BYTES:
        raise UsageError(f"SSH key {str(path)!r} is larger than {MAX_KEY_BYTES} bytes")
    return data.decode("utf-8", errors="replace")


def import_key(
    session: Session,
    vault: Vault,
    client: Client,
    text: str,
    *,
    name: str | None = None,
    now: datetime | None = None,
    site_id: int | None = None,
) -> SshKey:
    """Keep ``text`` as one of ``client``'s keys; the same key imported again is the same row.

    ``name`` defaults to ``<type>-<fingerprint prefix>``; a name the client already
    uses for another key is refused. Journaled (fingerprint only, never the key).
    """
    parsed = parse_private_key(text)
    existing = session.scalar(
        select(SshKey).where(
            SshKey.client_id == client.id, SshKey.fingerprint == parsed.fingerprint
        )
    )
    if existing is not None:
        return existing
    label = _valid_name(name) if name else _default_name(parsed)
    if session.scalar(select(SshKey.id).where(SshKey.client_id == client.id, SshKey.name == label)):
        raise UsageError(f"client {client.name!r} already has an SSH key named {label!r}")
    row = SshKey(
        client_id=client.id,
        name=label,
        algorithm=parsed.algorithm,
        public_key=parsed.public_key,
        fingerprint=parsed.fingerprint,
        secret=vault.encrypt(parsed.private_openssh),
        created_at=now or datetime.now(UTC),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same key or name, imported at the same moment
        raise UsageError(
            f"client {client.name!r} got an SSH key named {label!r} meanwhile"
        ) from None
    journal.record(
        session,
        SshEventKind.KEY_IMPORTED,
        client_id=client.id,
        site_id=site_id,
        data={"key_id": row.id, "name": label, "fingerprint": parsed.fingerprint},
        ts=row.created_at,
    )
    return row


def _valid_name(name: str) -> str:
    text = name.strip()
    if not _NAME.fullmatch(text):
        raise UsageError(f"invalid SSH key name {name!r}: letters, digits and _.@+- (at most 100)")
    return text


def _default_name(parsed: ParsedKey) -> str:
    kind = parsed.algorithm.removeprefix("ssh-").split("-")[0]
    return f"{kind}-{parsed.fingerprint.removeprefix('SHA256:')[:12]}"


def list_keys(session: Session, client_id: int | None = None) -> list[SshKey]:
    """Keys by client and name, optionally of one client."""
    query = select(SshKey).order_by(SshKey.client_id, SshKey.name)
    if client_id is not None:
        query = query.where(SshKey.client_id == client_id)
    return list(session.scalars(query))


def get_key(session: Session, client: Client, ref: str) -> SshKey:
    """One of ``client``'s keys by id, name or fingerprint; NotFound (never another client's)."""
    text = ref.strip()
    query = select(SshKey).where(SshKey.client_id == client.id)
    if text.isdigit():
        found = session.scalar(query.where(SshKey.id == int(text)))
    elif text.startswith("SHA256:"):
        found = session.scalar(query.where(SshKey.fingerprint == text))
    else:
        found = session.scalar(query.where(SshKey.name == text))
    if found is None:
        raise NotFound(f"client {client.name!r} has no SSH key {ref!r}")
    return found


def private_key_for(session: Session, vault: Vault, site: Site, access: SshAccess) -> str:
    """The decrypted key of ``access``, if it belongs to the site's own client."""
    if access.key_id is None:
        raise UsageError(
            f"site {site.name!r} has no SSH key: import one with "
            f"`sitekeeper site edit {site.name} --key FILE`"
        )
    row = session.get(SshKey, access.key_id)
    if row is None:
        raise UsageError(f"site {site.name!r}: its SSH key #{access.key_id} no longer exists")
    if site.client_id is None or row.client_id != site.client_id:
        raise UsageError(
            f"site {site.name!r}: SSH key #{row.id} belongs to another client; a site "
            "can only use its own client's keys"
        )
    return vault.decrypt(row.secret)


def check_key_owner(session: Session, key_id: int, client_id: int | None) -> SshKey:
    """The key, if ``client_id`` owns it; UsageError when a site would borrow another's."""
    row = session.get(SshKey, key_id)
    if row is None:
        raise NotFound(f"no SSH key #{key_id}")
    if client_id is None or row.client_id != client_id:
        raise UsageError(
            f"SSH key #{key_id} belongs to another client; a site can only use its own "
            "client's keys"
        )
    return row


def ssh_login(session: Session, vault: Vault, site: Site) -> tuple[SshAccess, str]:
    """The site's validated SSH access and its private key, ready for ``remote.ssh.connect``.

    A stored access that no longer validates (saved before hosts and users were
    checked, e.g. a host beginning with ``-``) is refused here, before any use.
    """
    if not site.ssh:
        raise UsageError(f"site {site.name!r} has no SSH access configured")
    if _LEGACY in site.ssh:
        warning = adopt_key_path(session, vault, site)
        if warning:
            log.warning("%s", warning)
    try:
        access = SshAccess.model_validate(site.ssh)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise UsageError(
            f"site {site.name!r}: its stored SSH access is refused ({reason}); "
            f"fix it with `sitekeeper site edit {site.name} --ssh user@host[:port]`"
        ) from None
    return access, private_key_for(session, vault, site, access)


def adopt_key_path(session: Session, vault: Vault, site: Site, now: datetime | None = None) -> str:
    """Move an old ``key_path`` into the store (if the file is readable); the path is dropped.

    Returns the warning to show: the key was imported (the file may now be
    deleted) or could not be (the site needs ``site edit --key``).
    """
    ssh = dict(site.ssh or {})
    path = ssh.pop(_LEGACY, None)
    if path is None:
        return ""
    when = now or datetime.now(UTC)
    key: SshKey | None = None
    problem = ""
    if site.client is None:
        problem = "the site has no client to own it"
    else:
        try:
            key = import_key(
                session, vault, site.client, read_key_file(Path(str(path))), now=when,
                name=_legacy_name(session, site.client, Path(str(path))), site_id=site.id,
            )  # fmt: skip
        except UsageError as exc:
            problem = str(exc)
    ssh["key_id"] = key.id if key is not None else None
    site.ssh = ssh
    journal.record(
        session,
        SshEventKind.KEY_PATH_MIGRATED,
        site_id=site.id,
        client_id=site.client_id,
        data={"path": str(path), "key_id": ssh["key_id"], "problem": problem or None},
        ts=when,
    )
    session.flush()
    if key is not None:
        return (
            f"site {site.name!r}: SSH key file {path} was imported into sitekeeper's store "
            f"as key {key.name!r} ({key.fingerprint}); sites no longer read key files, "
            "so the file can be removed"
        )
    return (
        f"site {site.name!r}: SSH key file {path} could not be imported ({problem}); "
        f"the site has no SSH key until `sitekeeper site edit {site.name} --key FILE`"
    )


def _legacy_name(session: Session, client: Client, path: Path) -> str:
    """The file's name, made unique among the client's keys (``id_ed25519``, ``id_ed25519-2``)."""
    base = re.sub(r"[^A-Za-z0-9_.@+-]", "-", path.name).strip("-.")[:90] or "key"
    taken = set(session.scalars(select(SshKey.name).where(SshKey.client_id == client.id)))
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def adopt_key_paths(session: Session, vault: Vault, now: datetime | None = None) -> list[str]:
    """At start: every site still naming a key file gets it imported; one warning each."""
    candidates = session.scalars(
        select(Site).where(Site.ssh.is_not(None), cast(Site.ssh, String).like(f'%"{_LEGACY}"%'))
    )
    return [
        warning
        for site in list(candidates)
        if site.ssh and _LEGACY in site.ssh
        if (warning := adopt_key_path(session, vault, site, now))
    ]
