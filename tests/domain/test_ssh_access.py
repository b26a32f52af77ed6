"""The one validator of SSH hosts and users: nothing OpenSSH could read as an option."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sitekeeper.domain.ssh_access import (
    SshAccess,
    parse_ssh_target,
    validate_ssh_host,
    validate_ssh_user,
)
from sitekeeper.errors import UsageError

HOSTILE = [
    "-oProxyCommand=touch /tmp/pwned",
    "-oProxyCommand=id",
    "-p2222",
    "--",
    "-",
]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("db-1.internal", "db-1.internal"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("10.0.0.5", "10.0.0.5"),
        ("::1", "::1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("localhost", "localhost"),
    ],
)
def test_good_hosts_are_normalised(host: str, expected: str) -> None:
    assert validate_ssh_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        *HOSTILE,
        "",
        "exa mple.com",
        "example.com\n",
        "exa\x00mple.com",
        "user@example.com",
        "example.com:22",
        "[::1]",
        "fe80::1%eth0",
        "-example.com",
        "example-.com",
        "a..b",
        "host/path",
        "a" * 64 + ".com",
    ],
)
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(UsageError, match="invalid SSH host"):
        validate_ssh_host(host)


@pytest.mark.parametrize("user", ["deploy", "www-data", "web_1", "john.doe", "WP1", "1site"])
def test_good_users(user: str) -> None:
    assert validate_ssh_user(user) == user


@pytest.mark.parametrize(
    "user", [*HOSTILE, "", "a b", "a\tb", ".hidden", "root@x", "a:b", "a/b", "u" * 65, "é"]
)
def test_bad_users_are_refused(user: str) -> None:
    with pytest.raises(UsageError, match="invalid SSH user"):
        validate_ssh_user(user)


@pytest.mark.parametrize(
    "target",
    [
        "-oProxyCommand=id@example.com",
        "deploy@-oProxyCommand=id",
        "deploy@-oProxyCommand=id:22",
        "deploy@[-oProxyCommand=id]",
        "deploy@a@b",
        "de ploy@example.com",
        "deploy@example.com:22:33",
        "deploy@[example.com]:22",
    ],
)
def test_hostile_targets_are_refused(target: str) -> None:
    with pytest.raises(UsageError, match="invalid SSH"):
        parse_ssh_target(target)


def test_target_with_ipv6_and_port() -> None:
    assert parse_ssh_target("deploy@[2001:db8::1]:2222") == ("deploy", "2001:db8::1", 2222)


def test_the_model_refuses_what_the_parser_refuses() -> None:
    """Stored JSON (or an API body) goes through the same validator as the CLI."""
    with pytest.raises(ValidationError, match="invalid SSH host"):
        SshAccess(host="-oProxyCommand=id", user="deploy")
    with pytest.raises(ValidationError, match="invalid SSH user"):
        SshAccess(host="example.com", user="-oProxyCommand=id")
    with pytest.raises(ValidationError, match="invalid document root"):
        SshAccess(host="example.com", user="deploy", docroot="-rf")
    with pytest.raises(ValidationError, match="key_path"):
        SshAccess.model_validate({"host": "h.example", "user": "u", "key_path": "/root/.ssh/id"})
    access = SshAccess(host="::1", port=2222, user="deploy", key_id=3, docroot="/srv/www")
    assert access.label == "deploy@[::1]:2222"


def test_a_sudo_user_is_a_user_name_and_never_root() -> None:
    access = SshAccess(host="h", user="deploy", sudo_user="wp1")
    assert access.sudo_user == "wp1"
    assert SshAccess(host="h", user="wp1").sudo_user is None
    for bad in ["root", "-u root", "wp1 ALL", *HOSTILE]:
        with pytest.raises(ValidationError):
            SshAccess(host="h", user="deploy", sudo_user=bad)
