"""site commands: add/list/show/edit/remove, SITE by id/name/URL, import, data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest
from sqlalchemy import select

from sitekeeper.store.database import Database
from sitekeeper.store.tables import Job
from tests.cli.conftest import Run, as_json

SITE_KEYS = {
    "id", "name", "url", "client_id", "client", "contract_id", "plan", "check_interval", "paused",
    "tags", "key_pages", "check", "ssh", "cms", "cms_version", "created_at",
}  # fmt: skip


def _jobs(home: Path) -> list[Job]:
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    try:
        with db.session() as s:
            return list(s.scalars(select(Job).order_by(Job.site_id)))
    finally:
        db.dispose()


def test_site_add_with_every_option(agency: Run, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    site = as_json(
        agency(
            "site", "add", "https://Shop.Example.com", "--client", "Bäckerei Müller",
            "--name", "shop", "--ssh", "deploy@shop.example.com:2222", "--key", str(key),
            "--path", "/var/www/shop", "--tag", "wp", "--tag", "shop", "--keyword", "Brot",
            "--forbid", "casino", "--accept", "200-299", "--method", "head", "--timeout", "15s",
            "--no-verify-tls", "--json",
        )
    )  # fmt: skip
    assert set(site) == SITE_KEYS
    assert site["url"] == "https://shop.example.com/"
    assert (site["contract_id"], site["plan"], site["check_interval"]) == (1, "Basic", 60)
    assert site["tags"] == ["shop", "wp"]
    assert site["ssh"] == {
        "host": "shop.example.com",
        "port": 2222,
        "user": "deploy",
        "key_id": 1,  # the file was read into sitekeeper's store: no path is kept
        "docroot": "/var/www/shop",
    }
    check = site["check"]
    assert (check["keyword"], check["forbidden"], check["accept_status"]) == (
        "Brot",
        ["casino"],
        ["200-299"],
    )
    assert (check["method"], check["timeout"], check["verify_tls"]) == ("HEAD", 15.0, False)


@pytest.mark.parametrize(
    "ref", ["1", "shop", "https://shop.example.com", "https://shop.example.com/"]
)
def test_site_by_id_name_or_url(agency: Run, ref: str) -> None:
    agency("site", "add", "https://shop.example.com", "--client", "1", "--name", "shop")
    assert as_json(agency("site", "show", ref, "--json"))["name"] == "shop"


@pytest.mark.parametrize(
    "url",
    ["example.com", "ftp://example.com", "https://", "https://exa mple.com", "http://a..b/"],
)
def test_malformed_url_exits_2_and_stores_nothing(agency: Run, url: str) -> None:
    result = agency("site", "add", url, "--client", "1", ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid URL")
    assert as_json(agency("site", "list", "--json")) == []


def test_unknown_client_exits_2_and_stores_nothing(agency: Run) -> None:
    result = agency("site", "add", "https://example.com", "--client", "Nobody", ok=False)
    assert (result.exit_code, result.stderr) == (
        2,
        "error: no client 'Nobody' (give its id or exact name)\n",
    )
    assert as_json(agency("site", "list", "--json")) == []


def test_missing_ssh_key_exits_2(agency: Run) -> None:
    result = agency(
        "site", "add", "https://example.com", "--client", "1", "--ssh", "u@h", "--key", "/nope",
        ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "SSH key" in result.stderr


def test_list_is_plain_text_when_piped(agency: Run) -> None:
    agency("site", "add", "https://example.com", "--client", "1", "--tag", "wp")
    lines = agency("site", "list").stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "name", "url"]
    assert lines[1].split("\t")[:3] == ["1", "example.com", "https://example.com/"]
    assert "─" not in lines[0]


def test_edit_pause_resume_and_remove_keep_job_in_sync(agency: Run, home: Path) -> None:
    agency("site", "add", "https://example.com", "--client", "1")
    assert [j.enabled for j in _jobs(home)] == [True]
    assert as_json(agency("site", "edit", "example.com", "--pause", "--json"))["paused"] is True
    assert [j.enabled for j in _jobs(home)] == [False]
    agency("site", "edit", "1", "--resume", "--tag", "vip", "--keyword", "Brot")
    shown = as_json(agency("site", "show", "1", "--json"))
    assert (shown["paused"], shown["tags"], shown["check"]["keyword"]) == (False, ["vip"], "Brot")
    assert [j.enabled for j in _jobs(home)] == [True]
    agency("site", "remove", "https://example.com/")
    assert _jobs(home) == []


def test_plan_interval_edit_updates_jobs(agency: Run, home: Path) -> None:
    agency("site", "add", "https://a.example", "--client", "1")
    agency("site", "add", "https://b.example", "--client", "1")
    assert {j.interval for j in _jobs(home)} == {60}
    result = agency("plan", "edit", "Basic", "--check-interval", "5m")
    assert "re-scheduled 2 check job(s)" in result.stderr
    assert {j.interval for j in _jobs(home)} == {300}
    assert as_json(agency("site", "show", "a.example", "--json"))["check_interval"] == 300


def test_site_without_contract_uses_default_interval(run: Run, home: Path) -> None:
    run("client", "add", "Solo")
    site = as_json(run("site", "add", "https://solo.example", "--client", "Solo", "--json"))
    assert (site["contract_id"], site["check_interval"]) == (None, 300)
    assert [j.interval for j in _jobs(home)] == [300]


CSV = """url,name,client,tags,ssh,path,keyword,forbid,accept,method,timeout,contract
https://a.example,,Bäckerei Müller,wp;shop,,,Willkommen,casino;viagra,200-299,GET,10s,
https://b.example/blog,blog,1,,deploy@b.example:22,/srv/www,,,,,,1
"""


def test_import_then_reimport_is_no_op(agency: Run, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(CSV, encoding="utf-8")
    first = as_json(agency("site", "import", str(path), "--json"))
    assert (first["added"], first["updated"], first["unchanged"]) == (2, 0, 0)
    second = agency("site", "import", str(path))
    assert second.stdout.strip() == "imported: 0 added, 0 updated, 2 unchanged"
    blog = as_json(agency("site", "show", "blog", "--json"))
    assert blog["ssh"]["docroot"] == "/srv/www"
    assert blog["contract_id"] == 1


def test_bad_csv_lists_every_bad_line_and_imports_nothing(agency: Run, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(
        "url,client\nhttps://ok.example,1\nnot a url,1\nhttps://x.example,Nobody\n"
        "https://y.example,\n",
        encoding="utf-8",
    )
    result = agency("site", "import", str(path), ok=False)
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert [e.split(":")[1].strip() for e in errors[:3]] == ["line 3", "line 4", "line 5"]
    assert all(e.startswith("error: ") for e in errors)
    assert "nothing was imported" in errors[-1]
    assert as_json(agency("site", "list", "--json")) == []


def test_two_ports_of_one_host_are_named_by_their_port(agency: Run) -> None:
    for port in (8081, 8082):
        agency("site", "add", f"http://127.0.0.1:{port}", "--client", "1")
    names = [s["name"] for s in as_json(agency("site", "list", "--json"))]
    assert names == ["127.0.0.1-8081", "127.0.0.1-8082"]


def test_the_same_url_twice_needs_allow_duplicate(agency: Run) -> None:
    agency("site", "add", "https://shop.example.com/", "--client", "1")
    again = agency("site", "add", "HTTPS://Shop.Example.com:443", "--client", "1", ok=False)
    assert again.exit_code == 2
    assert again.stderr.startswith(
        "error: https://shop.example.com/ is already registered as site 'shop.example.com' (id 1)"
    )
    assert "--allow-duplicate" in again.stderr
    assert len(as_json(agency("site", "list", "--json"))) == 1
    twice = as_json(
        agency("site", "add", "https://shop.example.com", "--client", "1", "--allow-duplicate",
               "--json")
    )  # fmt: skip
    assert twice["name"] == "shop.example.com-2"
    other = as_json(agency("site", "add", "https://other.example", "--client", "1", "--json"))
    moved = agency("site", "edit", str(other["id"]), "--url", "https://shop.example.com", ok=False)
    assert moved.exit_code == 2 and "already registered" in moved.stderr


def test_import_reports_a_duplicate_row_with_its_line(agency: Run, tmp_path: Path) -> None:
    agency("site", "add", "https://shop.example.com", "--client", "1")
    path = tmp_path / "sites.csv"
    path.write_text(
        "url,name,client\nhttps://new.example,new,1\nhttps://shop.example.com/,copy,1\n",
        encoding="utf-8",
    )
    result = agency("site", "import", str(path), ok=False)
    assert result.exit_code == 2
    assert "line 3: https://shop.example.com/ is already registered" in result.stderr
    path.write_text(
        "url,name,client,allow_duplicate\nhttps://shop.example.com/,copy,1,yes\n",
        encoding="utf-8",
    )
    assert "1 added" in agency("site", "import", str(path)).stdout


def test_unknown_column_is_refused(agency: Run, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("url,client,colour\nhttps://a.example,1,red\n", encoding="utf-8")
    result = agency("site", "import", str(path), ok=False)
    assert result.exit_code == 2
    assert "unknown column(s) 'colour'" in result.stderr


def test_import_dry_run_changes_nothing(agency: Run, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(CSV, encoding="utf-8")
    result = agency("site", "import", str(path), "--dry-run")
    assert result.stdout.strip() == "would import: 2 added, 0 updated, 0 unchanged"
    assert as_json(agency("site", "list", "--json")) == []


def test_data_dir_wins_over_sitekeeper_home(run: Run, home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run("--data-dir", str(other), "client", "add", "Elsewhere")
    assert (other / "sitekeeper.db").exists()
    assert not (home / "sitekeeper.db").exists()
    assert (
        as_json(run("--data-dir", str(other), "client", "list", "--json"))[0]["name"] == "Elsewhere"
    )
    assert as_json(run("client", "list", "--json")) == []
    assert (home / "sitekeeper.db").exists()


def test_invalid_configuration_is_one_line_exit_2(run: Run) -> None:
    result = run("client", "list", ok=False, env={"SITEKEEPER_DEFAULT_CHECK_INTERVAL": "often"})
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: invalid configuration: SITEKEEPER_DEFAULT_CHECK_INTERVAL"
    )
    assert result.stderr.count("\n") == 1


def test_database_url_setting_is_used(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'custom.db'}"
    run("client", "add", "Custom", env={"SITEKEEPER_DATABASE_URL": url})
    assert (tmp_path / "custom.db").exists()


def test_console_script_reports_user_errors_without_traceback(home: Path) -> None:
    exe = Path(sys.executable).parent / "sitekeeper"
    env = {**os.environ, "SITEKEEPER_HOME": str(home)}
    env.pop("SITEKEEPER_DATABASE_URL", None)
    bad = subprocess.run(
        [str(exe), "site", "add", "example.com", "--client", "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr == "error: invalid URL 'example.com': needs a scheme, e.g. https://example.com\n"
    )
    usage = subprocess.run(
        [str(exe), "site", "add", "--bogus"], capture_output=True, text=True, env=env, check=False
    )
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


def test_contract_plan_change_and_client_move_resync_jobs(agency: Run, home: Path) -> None:
    agency("plan", "add", "Fast", "--check-interval", "20s")
    agency("site", "add", "https://a.example", "--client", "1")
    agency("contract", "edit", "1", "--plan", "Fast")
    assert [j.interval for j in _jobs(home)] == [20]
    agency("client", "add", "Neu")
    agency("plan", "add", "Slow", "--check-interval", "10m")
    agency("contract", "add", "--client", "Neu", "--plan", "Slow")
    moved = as_json(agency("site", "edit", "a.example", "--client", "Neu", "--json"))
    assert (moved["client"], moved["contract_id"], moved["check_interval"]) == ("Neu", 2, 600)
    assert [j.interval for j in _jobs(home)] == [600]
    agency("site", "edit", "a.example", "--no-contract")
    assert [j.interval for j in _jobs(home)] == [300]


def test_unusable_data_dir_is_a_config_error(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("--data-dir", str(blocker / "sub"), "client", "list", ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: data directory")
    assert result.stderr.count("\n") == 1


def test_sudo_user_is_stored_with_the_ssh_access_and_can_be_dropped(agency: Run) -> None:
    """--sudo-user: the files' owner the SSH user works as; shown only when set."""
    agency("site", "add", "https://a.example", "--client", "1", "--ssh", "deploy@h:2222",
           "--path", "/srv/a", "--sudo-user", "wp1")  # fmt: skip
    ssh = as_json(agency("site", "show", "1", "--json"))["ssh"]
    assert (ssh["user"], ssh["sudo_user"], ssh["docroot"]) == ("deploy", "wp1", "/srv/a")
    agency("site", "edit", "1", "--path", "/srv/b")  # other SSH changes keep it
    assert as_json(agency("site", "show", "1", "--json"))["ssh"]["sudo_user"] == "wp1"
    agency("site", "edit", "1", "--no-sudo")
    ssh = as_json(agency("site", "show", "1", "--json"))["ssh"]
    assert "sudo_user" not in ssh and ssh["docroot"] == "/srv/b"
    refused = agency("site", "edit", "1", "--sudo-user", "root", ok=False)
    assert refused.exit_code == 2 and "never root" not in refused.stderr
    assert "name the user that owns the site's files" in refused.stderr
    alone = agency("site", "add", "https://b.example", "--client", "1", "--sudo-user", "wp1",
                   ok=False)  # fmt: skip
    assert alone.exit_code == 2 and "--sudo-user need --ssh" in alone.stderr
