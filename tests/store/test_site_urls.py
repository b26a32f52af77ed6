"""Site names carry the port; one URL is one site unless a duplicate is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from sitekeeper.domain.site_urls import default_name, same_site_key
from sitekeeper.errors import UsageError
from sitekeeper.store import sites
from sitekeeper.store.database import Database
from sitekeeper.store.site_import import ImportRejected, import_sites
from sitekeeper.store.tables import Site
from tests.store.factories import DEFAULT_INTERVAL, NOW, baker, site


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://127.0.0.1:8081", "127.0.0.1-8081"),
        ("https://Shop.Example.com:443/", "shop.example.com"),
        ("http://shop.example.com:80/blog", "shop.example.com"),
        ("https://shop.example.com:8443/", "shop.example.com-8443"),
        ("http://[::1]:8080/", "::1-8080"),
    ],
)
def test_the_default_name_is_the_host_and_a_port_that_is_not_the_default(
    url: str, name: str
) -> None:
    assert default_name(url) == name


@pytest.mark.parametrize(
    "spelling",
    [
        "https://shop.example.com/blog",
        "HTTPS://SHOP.example.com/blog",
        "https://shop.example.com:443/blog",
        "https://shop.example.com/blog/",
    ],
)
def test_spellings_of_one_url_are_one_site(spelling: str) -> None:
    assert same_site_key(spelling) == same_site_key("https://shop.example.com/blog")


def test_other_scheme_port_or_path_is_another_site() -> None:
    key = same_site_key("https://shop.example.com/")
    for other in ("http://shop.example.com/", "https://shop.example.com:8443/",
                  "https://shop.example.com/blog"):  # fmt: skip
        assert same_site_key(other) != key


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Site)) or 0


def test_two_ports_of_one_host_get_names_with_their_ports(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        names = [site(s, client, f"http://127.0.0.1:{port}/").name for port in (8081, 8082)]
    assert names == ["127.0.0.1-8081", "127.0.0.1-8082"]


@pytest.mark.parametrize(
    "again",
    ["https://shop.example.com", "HTTPS://Shop.Example.COM:443", "https://shop.example.com/"],
)
def test_a_url_already_registered_is_refused_unless_a_duplicate_is_allowed(
    db: Database, again: str
) -> None:
    with db.session() as s:
        first = site(s, baker(s), "https://shop.example.com/").id
    with pytest.raises(sites.DuplicateUrl) as refused, db.session() as s:
        site(s, baker(s, "Other client"), again)
    assert f"already registered as site 'shop.example.com' (id {first})" in str(refused.value)
    assert "--allow-duplicate" in str(refused.value)
    assert _count(db) == 1
    with db.session() as s:
        fields = sites.SiteFields(url=again, client=baker(s, "Other client"), allow_duplicate=True)
        second = sites.add_site(s, fields, NOW, default_interval=DEFAULT_INTERVAL)
        assert second.name == "shop.example.com-2"
    assert _count(db) == 2


def test_editing_a_url_onto_another_sites_is_refused_too(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        site(s, client, "https://a.example/")
        b = site(s, client, "https://b.example/")
        b_id = b.id
    with pytest.raises(UsageError, match="already registered"), db.session() as s:
        sites.update_site(
            s, s.get_one(Site, b_id), sites.SiteFields(url="https://A.example"), NOW,
            default_interval=DEFAULT_INTERVAL,
        )  # fmt: skip
    with db.session() as s:
        own = sites.SiteFields(url="https://b.example:443")  # its own URL, spelled otherwise
        sites.update_site(s, s.get_one(Site, b_id), own, NOW, default_interval=DEFAULT_INTERVAL)
        moved = sites.SiteFields(url="https://a.example", allow_duplicate=True)
        sites.update_site(s, s.get_one(Site, b_id), moved, NOW, default_interval=DEFAULT_INTERVAL)
    with db.session() as s:
        assert s.get_one(Site, b_id).url == "https://a.example/"


def _import(db: Database, text: str, tmp_path: Path) -> None:
    with db.session() as s:
        import_sites(s, text, NOW, default_interval=DEFAULT_INTERVAL, base_dir=tmp_path)


def test_the_import_reports_each_duplicate_row_with_its_line(db: Database, tmp_path: Path) -> None:
    with db.session() as s:
        taken = site(s, baker(s), "https://shop.example.com/").id
    text = (
        "url,name,client,allow_duplicate\n"
        "https://SHOP.example.com,shop-again,1,\n"  # line 2: the stored site's URL
        "http://127.0.0.1:8081,,1,\n"
        "http://127.0.0.1:8081/,second,1,no\n"  # line 4: line 3's URL
        "http://127.0.0.1:8082,,1,maybe\n"  # line 5: not a yes or no
    )
    with pytest.raises(ImportRejected) as rejected:
        _import(db, text, tmp_path)
    assert rejected.value.problems == [
        f"line 2: https://shop.example.com/ is already registered as site 'shop.example.com'"
        f" (id {taken}); set allow_duplicate to import it anyway",
        "line 4: http://127.0.0.1:8081/ is also on line 3; set allow_duplicate to import both",
        "line 5: allow_duplicate must be yes or no, not 'maybe'",
    ]
    assert _count(db) == 1


def test_the_import_takes_duplicates_it_is_allowed_and_names_ports(
    db: Database, tmp_path: Path
) -> None:
    with db.session() as s:
        site(s, baker(s), "https://shop.example.com/")
    _import(
        db,
        "url,name,client,allow_duplicate\n"
        "https://shop.example.com,shop-again,1,yes\n"
        "http://127.0.0.1:8081,,1,\n"
        "http://127.0.0.1:8081/,second,1,true\n"
        "http://127.0.0.1:8082,,1,\n",
        tmp_path,
    )
    with db.session() as s:
        names = sorted(s.scalars(select(Site.name)))
    assert names == [
        "127.0.0.1-8081", "127.0.0.1-8082", "second", "shop-again", "shop.example.com",
    ]  # fmt: skip
    # Re-importing the same file changes nothing (rows match their sites by name, else URL).
    _import(db, "url,client\nhttps://shop.example.com,1\n", tmp_path)
    assert _count(db) == 5
