"""SSH keys kept by sitekeeper: read once, encrypted at rest, only for their client's sites."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.remote.hostkeys import fingerprint, openssh_key
from sitekeeper.store import sites, ssh_keys
from sitekeeper.store.database import Database
from sitekeeper.store.site_import import ImportRejected, import_sites
from sitekeeper.store.ssh_key_tables import SshKey
from sitekeeper.store.tables import Client, Event, Site
from tests.store.factories import DEFAULT_INTERVAL, NOW, VAULT, baker, site


def _key_text() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()


def _with_ssh(session: Session, owner: Client, key_id: int | None, name: str) -> Site:
    row = site(session, owner, url=f"https://{name}.example", name=name)
    row.ssh = sites.build_ssh("deploy@h.example:22", key_id, "/srv/www")
    session.flush()
    return row


def test_a_key_is_kept_encrypted_and_normalised(db: Database) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    pem = key.export_private_key("pkcs8-pem").decode()  # PEM in, OpenSSH kept
    with db.session() as s:
        row = ssh_keys.import_key(s, VAULT, baker(s), pem, now=NOW)
        assert ssh_keys.import_key(s, VAULT, baker(s, "Other"), pem, now=NOW).id != row.id
    with db.session() as s:
        stored = s.get(SshKey, row.id)
        assert stored is not None
        assert "PRIVATE KEY" not in stored.secret and stored.secret.startswith("enc:v1:")
        text = VAULT.decrypt(stored.secret)
        assert text.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        public = openssh_key(key.convert_to_public())
        assert stored.public_key == public
        assert stored.fingerprint == fingerprint(public)  # what ssh-keygen -l prints
        assert asyncssh.import_private_key(text).get_fingerprint() == stored.fingerprint
        events = list(s.scalars(select(Event).where(Event.kind == SshEventKind.KEY_IMPORTED)))
        assert len(events) == 2 and "PRIVATE" not in str(events[0].data)


def test_the_same_key_twice_is_one_row_and_names_are_unique_per_client(db: Database) -> None:
    text = _key_text()
    with db.session() as s:
        owner = baker(s)
        first = ssh_keys.import_key(s, VAULT, owner, text, name="deploy")
        assert ssh_keys.import_key(s, VAULT, owner, text, name="again").id == first.id
        with pytest.raises(UsageError, match="already has an SSH key named 'deploy'"):
            ssh_keys.import_key(s, VAULT, owner, _key_text(), name="deploy")
        assert ssh_keys.get_key(s, owner, "deploy").id == first.id
        assert ssh_keys.get_key(s, owner, first.fingerprint).id == first.id


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not a key", "not an SSH private key"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----",
            "not an SSH",
        ),
        ("root:x:0:0:root:/root:/bin/bash\n", "not an SSH private key"),
        ("x" * 20_000, "larger than"),
    ],
)
def test_what_is_not_a_key_is_refused(db: Database, text: str, reason: str) -> None:
    with db.session() as s, pytest.raises(UsageError, match=reason):
        ssh_keys.import_key(s, VAULT, baker(s), text)


def test_passphrase_and_weak_keys_are_refused() -> None:
    locked = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    with pytest.raises(UsageError, match="passphrase"):
        ssh_keys.parse_private_key(locked.decode())
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(UsageError, match="too weak"):
        ssh_keys.parse_private_key(weak.decode())


def test_a_site_cannot_use_another_clients_key(db: Database) -> None:
    with db.session() as s:
        acme, globex = baker(s, "Acme"), baker(s, "Globex")
        globex_key = ssh_keys.import_key(s, VAULT, globex, _key_text(), name="globex")
        acme_site = site(s, acme, url="https://acme.example", name="acme")
        # by reference: Acme has no key of that name, id or fingerprint
        for ref in ("globex", str(globex_key.id), globex_key.fingerprint):
            with pytest.raises(NotFound, match="'Acme' has no SSH key"):
                ssh_keys.get_key(s, acme, ref)
        # by id in the stored access: refused when set, and again when used
        borrowed = sites.build_ssh("deploy@h.example", globex_key.id, "/srv")
        with pytest.raises(UsageError, match="belongs to another client"):
            sites.update_site(
                s, acme_site, sites.SiteFields(ssh=borrowed), NOW, default_interval=60
            )
        acme_site.ssh = borrowed  # as if written behind our back
        with pytest.raises(UsageError, match="belongs to another client"):
            ssh_keys.ssh_login(s, VAULT, acme_site)


def test_a_site_moved_to_another_client_leaves_its_key_behind(db: Database) -> None:
    with db.session() as s:
        acme, globex = baker(s, "Acme"), baker(s, "Globex")
        key = ssh_keys.import_key(s, VAULT, acme, _key_text())
        moved = _with_ssh(s, acme, key.id, "shop")
        assert ssh_keys.ssh_login(s, VAULT, moved)[1].startswith("-----BEGIN OPENSSH")
        with pytest.raises(UsageError, match="belongs to another client"):
            sites.update_site(s, moved, sites.SiteFields(client=globex), NOW, default_interval=60)


def test_stored_hostile_access_is_refused_before_use(db: Database) -> None:
    """Rows saved before validation existed never reach ssh: refused when loaded."""
    with db.session() as s:
        owner = baker(s)
        key = ssh_keys.import_key(s, VAULT, owner, _key_text())
        row = site(s, owner, name="old")
        row.ssh = {"host": "-oProxyCommand=id", "port": 22, "user": "u", "key_id": key.id}
        with pytest.raises(UsageError, match=r"stored SSH access is refused.*invalid SSH host"):
            ssh_keys.ssh_login(s, VAULT, row)


def test_old_key_paths_are_imported_once_and_dropped(db: Database, tmp_path: Path) -> None:
    """Installs from before: a readable key file moves into the store, with a warning."""
    key_file = tmp_path / "id_ed25519"
    text = _key_text()
    key_file.write_text(text)
    with db.session() as s:
        owner = baker(s)
        good = site(s, owner, url="https://good.example", name="good")
        gone = site(s, owner, url="https://gone.example", name="gone")
        good.ssh = {"host": "h.example", "port": 22, "user": "u", "key_path": str(key_file)}
        gone.ssh = {"host": "h.example", "port": 22, "user": "u", "key_path": "/nonexistent"}
        site(s, owner, url="https://plain.example", name="plain")
    with db.session() as s:
        warnings = ssh_keys.adopt_key_paths(s, VAULT, NOW)
    assert len(warnings) == 2
    assert any("was imported" in w and "'good'" in w for w in warnings)
    assert any("could not be imported" in w and "'gone'" in w for w in warnings)
    with db.session() as s:
        assert ssh_keys.adopt_key_paths(s, VAULT, NOW) == []  # once
        by_name = {r.name: r for r in s.scalars(select(Site))}
        assert "key_path" not in by_name["good"].ssh and "key_path" not in by_name["gone"].ssh
        assert by_name["gone"].ssh["key_id"] is None
        _access, private = ssh_keys.ssh_login(s, VAULT, by_name["good"])
        assert asyncssh.import_private_key(private).get_fingerprint() == (
            asyncssh.import_private_key(text).get_fingerprint()
        )
        with pytest.raises(UsageError, match="has no SSH key"):
            ssh_keys.ssh_login(s, VAULT, by_name["gone"])
        kinds = s.scalars(select(Event.kind).where(Event.kind == SshEventKind.KEY_PATH_MIGRATED))
        assert len(list(kinds)) == 2


def test_first_use_of_an_old_key_path_imports_it_too(db: Database, tmp_path: Path) -> None:
    """A command run before `serve` (a backup from the CLI) keeps working."""
    key_file = tmp_path / "key"
    key_file.write_text(_key_text())
    with db.session() as s:
        row = site(s, baker(s), name="old")
        row.ssh = {"host": "h.example", "port": 22, "user": "u", "key_path": str(key_file)}
    with db.session() as s:
        row = s.scalars(select(Site)).one()
        access, _private = ssh_keys.ssh_login(s, VAULT, row)
        assert access.key_id is not None and "key_path" not in row.ssh


# --- the import: CLI and API share it; only the CLI may name key files ---------------------


def _import(db: Database, text: str, tmp_path: Path, **options: object) -> None:
    with db.session() as s:
        import_sites(s, text, NOW, default_interval=DEFAULT_INTERVAL, base_dir=tmp_path, **options)  # type: ignore[arg-type]


@pytest.fixture
def two_clients(db: Database) -> Database:
    with db.session() as s:
        ssh_keys.import_key(s, VAULT, baker(s, "Acme"), _key_text(), name="acme-deploy")
        ssh_keys.import_key(s, VAULT, baker(s, "Globex"), _key_text(), name="globex-deploy")
    return db


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ("-oProxyCommand=id@h.example,", "invalid SSH user"),
        ("deploy@-oProxyCommand=id,", "invalid SSH host"),
        ("deploy@h.example,/srv/sites/keys/wp1", "no SSH key '/srv/sites/keys/wp1'"),
        ("deploy@h.example,/root/.ssh/id_rsa", "no SSH key '/root/.ssh/id_rsa'"),
        ("deploy@h.example,globex-deploy", "no SSH key 'globex-deploy'"),
    ],
)
def test_api_import_refuses_hostile_access_paths_and_other_clients_keys(
    two_clients: Database, tmp_path: Path, cells: str, problem: str
) -> None:
    text = f"url,client,ssh,key\nhttps://a.example,Acme,{cells}\n"
    with pytest.raises(ImportRejected) as caught:
        _import(two_clients, text, tmp_path, vault=VAULT)
    assert len(caught.value.problems) == 1 and problem in caught.value.problems[0]
    with two_clients.session() as s:
        assert s.scalars(select(Site)).all() == []
        assert len(s.scalars(select(SshKey)).all()) == 2


def test_api_import_takes_a_stored_key_or_the_key_itself(
    two_clients: Database, tmp_path: Path
) -> None:
    rows = (
        "url,client,ssh,key\n"
        "https://a.example,Acme,deploy@a.example,acme-deploy\n"
        f'https://b.example,Acme,deploy@b.example,"{_key_text()}"\n'  # a quoted multi-line cell
    )
    _import(two_clients, rows, tmp_path, vault=VAULT)
    with two_clients.session() as s:
        by_url = {r.url: r for r in s.scalars(select(Site))}
        keys = {k.name: k for k in s.scalars(select(SshKey))}
        assert by_url["https://a.example/"].ssh["key_id"] == keys["acme-deploy"].id
        new_id = by_url["https://b.example/"].ssh["key_id"]
        assert new_id not in (k.id for k in keys.values() if k.name.endswith("-deploy"))
        assert s.get(SshKey, new_id).client_id == keys["acme-deploy"].client_id  # type: ignore[union-attr]
