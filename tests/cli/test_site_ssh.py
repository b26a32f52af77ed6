"""SSH access on the command line: hosts and users validated, keys kept by sitekeeper per client."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from tests.cli.conftest import Run, as_json


def _key(path: Path) -> Path:
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(path))
    return path


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("deploy@-oProxyCommand=touch /tmp/pwned", "invalid SSH host"),
        ("-oProxyCommand=id@example.com", "invalid SSH user"),
        ("deploy@-p2222", "invalid SSH host"),
        ("deploy@exa mple.com", "invalid SSH host"),
    ],
)
@pytest.mark.parametrize("command", ["add", "edit"])
def test_option_like_hosts_and_users_are_refused(
    agency: Run, target: str, error: str, command: str
) -> None:
    if command == "edit":
        agency("site", "add", "https://shop.example", "--client", "1", "--name", "shop")
        args = ["site", "edit", "shop", "--ssh", target]
    else:
        args = ["site", "add", "https://shop.example", "--client", "1", "--ssh", target]
    result = agency(*args, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {error}")
    for site in as_json(agency("site", "list", "--json")):
        assert site["ssh"] is None


def test_a_key_file_is_read_once_and_kept_in_the_store(agency: Run, tmp_path: Path) -> None:
    key = _key(tmp_path / "id_ed25519")
    site = as_json(
        agency(
            "site", "add", "https://shop.example", "--client", "1", "--ssh",
            "deploy@[2001:db8::1]:2222", "--key", str(key), "--path", "/srv/www", "--json",
        )
    )  # fmt: skip
    assert site["ssh"] == {
        "host": "2001:db8::1",
        "port": 2222,
        "user": "deploy",
        "key_id": 1,
        "docroot": "/srv/www",
    }
    key.unlink()  # sitekeeper no longer needs the file
    keys = as_json(agency("site", "keys", "--json"))
    assert [(k["id"], k["client"]) for k in keys] == [(1, "Bäckerei Müller")]
    assert "PRIVATE" not in json.dumps(keys)
    # edit keeps the key when only the docroot changes (and brackets the IPv6 host again)
    edited = as_json(agency("site", "edit", "shop.example", "--path", "/srv/new", "--json"))
    assert edited["ssh"]["key_id"] == 1 and edited["ssh"]["host"] == "2001:db8::1"


def test_what_is_not_a_key_is_refused(agency: Run) -> None:
    result = agency(
        "site", "add", "https://shop.example", "--client", "1", "--ssh", "u@h.example",
        "--key", "/etc/passwd", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not an SSH private key" in result.stderr
    assert as_json(agency("site", "list", "--json")) == []


def test_a_site_cannot_use_another_clients_key(agency: Run, tmp_path: Path) -> None:
    agency("client", "add", "Globex")
    imported = as_json(
        agency("site", "key-import", "Globex", str(_key(tmp_path / "k")), "--name", "gx", "--json")
    )
    assert imported["client"] == "Globex" and imported["name"] == "gx"
    agency("site", "add", "https://shop.example", "--client", "1", "--name", "shop")
    for ref in ("gx", str(imported["id"]), imported["fingerprint"]):
        result = agency("site", "edit", "shop", "--ssh", "u@h.example", "--key", ref, ok=False)
        assert result.exit_code == 2
        assert "has no SSH key" in result.stderr
    # Globex's own site can use it by name; moving that site to another client cannot
    agency(
        "site", "add", "https://gx.example", "--client", "Globex", "--name", "gx-site",
        "--ssh", "u@h.example", "--key", "gx",
    )  # fmt: skip
    moved = agency("site", "edit", "gx-site", "--client", "1", ok=False)
    assert moved.exit_code == 2 and "belongs to another client" in moved.stderr


def test_csv_import_reads_key_files_beside_the_csv(agency: Run, tmp_path: Path) -> None:
    _key(tmp_path / "deploy_key")
    csv = tmp_path / "sites.csv"
    csv.write_text(
        "url,client,ssh,key,path\n"
        "https://a.example,1,deploy@a.example,deploy_key,/srv/a\n"
        "https://b.example,1,deploy@b.example,deploy_key,/srv/b\n"
    )
    agency("site", "import", str(csv))
    sites = as_json(agency("site", "list", "--json"))
    assert [s["ssh"]["key_id"] for s in sites] == [1, 1]  # the same key, kept once
    csv.write_text("url,client,ssh\nhttps://c.example,1,deploy@-oProxyCommand=id\n")
    result = agency("site", "import", str(csv), ok=False)
    assert result.exit_code == 2 and "invalid SSH host" in result.stdout + result.stderr
