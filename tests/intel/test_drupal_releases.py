"""Drupal release history: every fixture from Drupal core's update module."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitekeeper.cms.drupal.releases import ProjectStatus, ReleaseHistory, parse_release_history
from sitekeeper.errors import InvalidFeed
from tests.intel.samples import sample


def _history(name: str) -> ReleaseHistory:
    history = parse_release_history(sample(f"drupal/{name}"))
    assert history is not None
    return history


def test_contrib_security_history() -> None:
    history = _history("fixture_aaa_update_test.sec.8.x-1.2_8.x-2.2.xml")
    assert (history.short_name, history.title) == ("aaa_update_test", "AAA Update test")
    assert history.project_status is ProjectStatus.PUBLISHED
    assert history.supported_branches == ("8.x-1.", "8.x-2.")
    table = [(r.version, r.security_update, r.insecure, r.branch) for r in history.releases]
    assert table == [
        ("8.x-3.0-beta2", False, False, "8.x-3.x"),
        ("8.x-3.0-beta1", False, True, "8.x-3.x"),
        ("8.x-2.2", True, False, "8.x-2.x"),
        ("8.x-2.1", True, True, "8.x-2.x"),  # a security release that later became insecure
        ("8.x-2.0", False, True, "8.x-2.x"),
        ("8.x-1.2", True, False, "8.x-1.x"),
        ("8.x-1.1", False, True, "8.x-1.x"),
        ("8.x-1.0", False, True, "8.x-1.x"),
    ]
    assert history.releases[0].date == datetime.fromtimestamp(1533298080, UTC)
    assert history.releases[2].download_link == "https://example.com/aaa_update_test-8-x-2-2.tar.gz"
    assert history.is_supported("8.x-2.1")
    assert not history.is_supported("8.x-3.0-beta2")


def test_core_compatibility() -> None:
    history = _history("fixture_aaa_update_test.core_compatibility.8.x-1.2_8.x-2.2.xml")
    assert [(r.version, r.core_compatibility) for r in history.releases] == [
        ("8.x-2.2", "^8.1.1"),
        ("8.x-1.2", "^8.1.0"),
        ("8.x-1.0", None),
    ]


@pytest.mark.parametrize(
    ("name", "status", "branches", "versions"),
    [
        (
            "fixture_drupal.9.0.0-10.0.0.xml",
            ProjectStatus.PUBLISHED,
            ("9.2.", "10.0."),
            ["10.0.0-beta1", "10.0.0-alpha1", "9.2.2", "9.2.0"],
        ),
        (
            "fixture_drupal.project_status.insecure.0.2.xml",
            ProjectStatus.INSECURE,
            ("8.0.", "8.1."),
            ["8.0.2", "8.0.1"],
        ),
        (
            "fixture_drupal.project_status.revoked.0.2.xml",
            ProjectStatus.REVOKED,
            ("8.0.", "8.1."),
            ["8.0.2", "8.0.1"],
        ),
        (
            "fixture_drupal.sec.10.5.0.xml",
            ProjectStatus.PUBLISHED,
            ("10.4.", "10.5."),
            ["10.5.0", "10.4.0"],
        ),
        (
            "fixture_drupal.sec.9.5.0.xml",
            ProjectStatus.PUBLISHED,
            ("9.4.", "9.5."),
            ["9.5.0", "9.4.0"],
        ),
    ],
)
def test_core_histories(
    name: str, status: ProjectStatus, branches: tuple[str, ...], versions: list[str]
) -> None:
    history = _history(name)
    assert history.short_name == "drupal"
    assert history.project_status is status
    assert history.supported_branches == branches
    assert [r.version for r in history.releases] == versions


@pytest.mark.parametrize(
    "name", ["fixture_drupal.sec.8.1.2_insecure.xml", "fixture_semver_test.sec.8.1.2_insecure.xml"]
)
def test_insecure_flags(name: str) -> None:
    history = _history(name)
    flags = {r.version: (r.security_update, r.insecure) for r in history.releases}
    assert flags == {
        "8.1.2": (True, False),
        "8.1.1": (False, True),
        "8.1.0": (False, True),
        "8.0.2": (False, True),
        "8.0.1": (False, True),
        "8.0.0": (False, True),
    }


def test_drupal_7_history() -> None:
    xml = """<?xml version="1.0" encoding="utf-8"?>
<project xmlns:dc="http://purl.org/dc/elements/1.1/"><title>Views</title><short_name>views</short_name>
<api_version>7.x</api_version><supported_majors>3</supported_majors>
<project_status>unsupported</project_status><releases>
<release><name>views 7.x-3.29</name><version>7.x-3.29</version><status>published</status>
<date>1678000000</date><terms><term><name>Release type</name><value>Security update</value></term>
</terms></release>
<release><name>views 7.x-3.x-dev</name><version>7.x-3.x-dev</version><status>published</status>
</release></releases></project>"""
    history = parse_release_history(xml)
    assert history is not None
    assert history.project_status is ProjectStatus.UNSUPPORTED
    assert history.supported_branches == ()
    assert [(r.version, r.branch, r.security_update) for r in history.releases] == [
        ("7.x-3.29", "7.x-3.x", True),
        ("7.x-3.x-dev", "7.x-3.x", False),
    ]


def test_unknown_project_is_none() -> None:
    body = "<error>No release history was found for the requested project (nope).</error>"
    assert parse_release_history(body) is None


PROJECT = """<project><title>T</title><short_name>t</short_name>
<project_status>{status}</project_status><releases><release><name>t</name>
<version>{version}</version><date>{date}</date></release></releases></project>"""


@pytest.mark.parametrize(
    ("status", "version", "date"),
    [
        ("hacked", "8.x-1.0", "1"),
        ("published", "not-a-version", "1"),
        ("published", "8.x-1.0", "yesterday"),
    ],
)
def test_release_history_rejects(status: str, version: str, date: str) -> None:
    with pytest.raises(InvalidFeed, match="Drupal release history"):
        parse_release_history(PROJECT.format(status=status, version=version, date=date))


DIGESTS = """<project><title>Drupal core</title><short_name>drupal</short_name>
<project_status>published</project_status><releases><release><name>drupal 10.2.3</name>
<version>10.2.3</version>
<download_link>https://ftp.drupal.org/files/projects/drupal-10.2.3.tar.gz</download_link>
<date>1706745600</date>{digests}</release></releases></project>"""
TGZ_MD5 = "0123456789abcdef0123456789abcdef"
ZIP_MD5 = "fedcba9876543210fedcba9876543210"
FILES = f"""<mdhash>{TGZ_MD5.upper()}</mdhash><filesize>17698497</filesize><files>
<file><url>https://ftp.drupal.org/files/projects/drupal-10.2.3.tar.gz</url>
<archive_type>tar.gz</archive_type><md5>{TGZ_MD5}</md5><size>17698497</size>
<filedate>1706745600</filedate></file>
<file><url>https://ftp.drupal.org/files/projects/drupal-10.2.3.zip</url>
<archive_type>zip</archive_type><md5>{ZIP_MD5}</md5><size>30512345</size>
<filedate>1706745600</filedate></file></files>"""
TGZ = "https://ftp.drupal.org/files/projects/drupal-10.2.3.tar.gz"
ZIP = "https://ftp.drupal.org/files/projects/drupal-10.2.3.zip"


def test_release_archive_digests() -> None:
    history = parse_release_history(DIGESTS.format(digests=FILES))
    assert history is not None
    release = history.releases[0]
    assert (release.mdhash, release.filesize) == (TGZ_MD5, 17698497)
    assert [(f.archive_type, f.md5, f.size) for f in release.files] == [
        ("tar.gz", TGZ_MD5, 17698497),
        ("zip", ZIP_MD5, 30512345),
    ]
    assert release.digest_of(TGZ) == (TGZ_MD5, 17698497)
    assert release.digest_of(ZIP) == (ZIP_MD5, 30512345)
    assert release.digest_of("https://elsewhere.example/drupal.tar.gz") == (None, None)


def test_only_mdhash_covers_the_download_link() -> None:
    history = parse_release_history(DIGESTS.format(digests=f"<mdhash>{TGZ_MD5}</mdhash>"))
    assert history is not None
    assert history.releases[0].digest_of(TGZ) == (TGZ_MD5, None)
    assert history.releases[0].digest_of(ZIP) == (None, None)


def test_core_fixtures_carry_no_digests() -> None:
    release = _history("fixture_drupal.sec.10.5.0.xml").releases[0]
    assert (release.mdhash, release.filesize, release.files) == (None, None, ())
    assert release.digest_of(release.download_link or "") == (None, None)


@pytest.mark.parametrize(
    "digests",
    [
        "<mdhash>not-an-md5</mdhash>",
        "<filesize>big</filesize>",
        f"<files><file><url>{ZIP}</url><md5>{'z' * 32}</md5></file></files>",
        f"<files><file><url>{ZIP}</url><size>-1</size></file></files>",
        f"<files><file><md5>{ZIP_MD5}</md5></file></files>",  # no <url>
    ],
)
def test_malformed_digests_are_rejected(digests: str) -> None:
    with pytest.raises(InvalidFeed, match="Drupal release history"):
        parse_release_history(DIGESTS.format(digests=digests))
