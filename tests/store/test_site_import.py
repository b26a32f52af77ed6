"""CSV import: all rows or none, every bad row reported, re-import a no-op, bulk-fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sqlalchemy import func, select

from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.errors import UsageError
from sitekeeper.store import sites
from sitekeeper.store.database import Database
from sitekeeper.store.site_import import ImportRejected, ImportResult, import_sites
from sitekeeper.store.ssh_key_tables import SshKey
from sitekeeper.store.tables import Event, Job, Site
from tests.store.factories import DEFAULT_INTERVAL, NOW, VAULT, baker, basic, contract

GOOD = """url,name,client,tags,keyword,accept,method,timeout
https://a.example,,Bäckerei Müller,wp;shop,Willkommen,200-299,GET,10s
https://b.example/blog,blog,1,,,,,
http://c.example:8080,,Bäckerei Müller,static,,200;301,HEAD,
"""


def _import(
    db: Database, text: str, tmp_path: Path, dry_run: bool = False, **options: Any
) -> ImportResult:
    with db.session() as s:
        return import_sites(
            s,
            text,
            NOW,
            default_interval=DEFAULT_INTERVAL,
            base_dir=tmp_path,
            dry_run=dry_run,
            **options,
        )


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def agency(db: Database) -> Database:
    with db.session() as s:
        contract(s, baker(s), basic(s, interval=60))
    return db


def test_import_adds_sites_jobs_and_events(agency: Database, tmp_path: Path) -> None:
    result = _import(agency, GOOD, tmp_path)
    assert (result.added, result.updated, result.unchanged) == (3, 0, 0)
    with agency.session() as s:
        by_name = {x.name: x for x in s.scalars(select(Site))}
        jobs = list(s.scalars(select(Job)))
    assert set(by_name) == {"a.example", "blog", "c.example-8080"}
    a = by_name["a.example"]
    assert [t.tag for t in a.tags] == ["shop", "wp"]
    assert a.check_options["keyword"] == "Willkommen"
    assert a.check_options["timeout"] == 10.0
    assert by_name["c.example-8080"].url == "http://c.example:8080/"
    assert by_name["c.example-8080"].check_options["accept_status"] == ["200", "301"]
    assert all(x.contract_id is not None for x in by_name.values())  # the only active contract
    assert {j.interval for j in jobs} == {60}
    assert _count(agency, Event) == 3


def test_reimport_is_a_no_op(agency: Database, tmp_path: Path) -> None:
    _import(agency, GOOD, tmp_path)
    with agency.session() as s:
        before = [(x.id, x.url, x.check_options) for x in s.scalars(select(Site).order_by(Site.id))]
    result = _import(agency, GOOD, tmp_path)
    assert (result.added, result.updated, result.unchanged) == (0, 0, 3)
    with agency.session() as s:
        after = [(x.id, x.url, x.check_options) for x in s.scalars(select(Site).order_by(Site.id))]
    assert after == before
    assert _count(agency, Job) == 3
    assert _count(agency, Event) == 3


def test_changed_row_updates_the_site(agency: Database, tmp_path: Path) -> None:
    _import(agency, GOOD, tmp_path)
    changed = GOOD.replace("Willkommen", "Hallo").replace("b.example/blog", "b.example/news")
    result = _import(agency, changed, tmp_path)
    assert (result.added, result.updated, result.unchanged) == (0, 2, 1)
    with agency.session() as s:
        blog = s.scalars(select(Site).where(Site.name == "blog")).one()
    assert blog.url == "https://b.example/news"


def test_every_bad_row_is_reported_and_nothing_imported(agency: Database, tmp_path: Path) -> None:
    bad = """url,name,client,accept,timeout
https://ok.example,,1,,
example.com,,1,,
https://x.example,,Nobody,,
https://y.example,,1,abc,
https://z.example,,1,,soon
https://ok.example,,1,,
"""
    with pytest.raises(ImportRejected) as caught:
        _import(agency, bad, tmp_path)
    lines = [p.split(":")[0] for p in caught.value.problems]
    assert lines == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "scheme" in caught.value.problems[0]
    assert "unknown client" in caught.value.problems[1]
    assert "line 2" in caught.value.problems[4]  # a duplicate names its first line
    assert _count(agency, Site) == 0
    assert _count(agency, Job) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,client\nx,1\n", "no `url` column"),
        ("url,colour\nhttps://a.example,red\n", "unknown column"),
    ],
)
def test_bad_header_is_refused(agency: Database, tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _import(agency, text, tmp_path)


def test_a_file_the_csv_reader_cannot_parse_is_refused_with_its_line(
    agency: Database, tmp_path: Path
) -> None:
    """Found by fuzzing the API: csv errors were a 500, not a message."""
    huge = "url,name\nhttps://a.example,ok\nhttps://b.example," + "x" * 200_000 + "\n"
    with pytest.raises(UsageError, match="line 3: not readable as CSV"):
        _import(agency, huge, tmp_path)
    assert _count(agency, Site) == 0


def test_old_mac_and_windows_line_endings_both_read(agency: Database, tmp_path: Path) -> None:
    text = 'url,name,client,tags\rhttps://a.example,a,1,"wp;shop"\r\nhttps://b.example,b,1,\r'
    result = _import(agency, text, tmp_path)
    assert result.added == 2
    with agency.session() as s:
        assert set(s.scalars(select(Site.name))) == {"a", "b"}


def test_dry_run_counts_without_writing(agency: Database, tmp_path: Path) -> None:
    result = _import(agency, GOOD, tmp_path, dry_run=True)
    assert result.added == 3
    assert _count(agency, Site) == 0


def test_ssh_key_file_beside_the_csv_is_read_into_the_store(
    agency: Database, tmp_path: Path
) -> None:
    """From the command line a key file (relative to the CSV) is read once; no path is kept."""
    (tmp_path / "keys").mkdir()
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(tmp_path / "keys" / "id_ed25519"))
    text = "url,client,ssh,key,path\nhttps://a.example,1,deploy@a.example:2222,keys/id_ed25519,/var/www\n"
    _import(agency, text, tmp_path, vault=VAULT, read_key_files=True)
    with agency.session() as s:
        ssh = s.scalars(select(Site)).one().ssh
        stored = s.scalars(select(SshKey)).one()
    assert ssh == {
        "host": "a.example",
        "port": 2222,
        "user": "deploy",
        "key_id": stored.id,
        "docroot": "/var/www",
    }
    assert stored.public_key == " ".join(key.export_public_key("openssh").decode().split()[:2])


def test_missing_key_file_is_a_row_error(agency: Database, tmp_path: Path) -> None:
    text = "url,client,ssh,key\nhttps://a.example,1,deploy@a.example,nope\n"
    with pytest.raises(ImportRejected, match="1 problem"):
        _import(agency, text, tmp_path)


def test_ten_thousand_rows_import_and_reimport_as_a_no_op(agency: Database, tmp_path: Path) -> None:
    # Speed is measured in bench/import_bench.py; this proves bulk paths are correct at size.
    rows = "\n".join(f"https://site{i}.example.com,,1,wp;fleet" for i in range(10_000))
    text = "url,name,client,tags\n" + rows + "\n"
    result = _import(agency, text, tmp_path)
    again = _import(agency, text, tmp_path)
    assert result.added == 10_000
    assert again.unchanged == 10_000
    assert _count(agency, Job) == 10_000


def test_bulk_import_jitters_first_runs(agency: Database, tmp_path: Path) -> None:
    text = "url,client\n" + "\n".join(f"https://s{i}.example,1" for i in range(300)) + "\n"
    _import(agency, text, tmp_path)
    with agency.session() as s:
        offsets = [j.next_run_at - NOW.timestamp() for j in s.scalars(select(Job))]
    assert len(offsets) == 300
    assert all(0 <= o < 60 for o in offsets)  # within one plan interval (60 s)
    assert len({int(o // 6) for o in offsets}) == 10  # every tenth of the interval is used
    assert max(offsets) - min(offsets) > 48


def test_a_reimport_keeps_the_key_pages_and_counts_them_unchanged(
    agency: Database, tmp_path: Path
) -> None:
    _import(agency, GOOD, tmp_path)
    with agency.session() as s:
        site = sites.get_site(s, "a.example")
        change = sites.SiteFields(key_pages=["/shop"])
        sites.update_site(s, site, change, NOW, default_interval=DEFAULT_INTERVAL)
    assert _import(agency, GOOD, tmp_path).unchanged == 3
    changed = _import(agency, GOOD.replace("Willkommen", "Hallo"), tmp_path)
    assert changed.updated == 1
    with agency.session() as s:
        site = sites.get_site(s, "a.example")
        assert stored_key_pages(site.check_options) == ["/shop"]
        assert site.check_options["keyword"] == "Hallo"
