"""Feed fetching and the vendor pollers against a loopback server in the vendors' formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.drupal import poller as drupal
from sitekeeper.cms.joomla import poller as joomla
from sitekeeper.cms.wordpress import poller as wordpress
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.fetch import FeedSettings, Fetcher, backoff
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.samples import sample
from tests.intel.tufrepo import TufRepo, joomla_targets

STABLE_CHECK = json.dumps(
    {"6.1.8": "insecure", "6.1.9": "outdated", "6.7": "insecure", "6.7.1": "latest"}
).encode()
AKISMET_INFO = json.dumps(
    {
        "name": "Akismet Anti-spam: Spam Protection",
        "slug": "akismet",
        "version": "5.3.5",
        "requires": "5.8",
        "tested": "6.7.1",
        "requires_php": "5.6.20",
        "download_link": "https://downloads.wordpress.org/plugin/akismet.5.3.5.zip",
        "versions": {"5.3.4": "https://x/a.zip", "5.3.5": "https://x/b.zip", "trunk": "x"},
    }
).encode()


def _settings(server: FeedServer, tuf_root: Path | None = None, **extra: Any) -> FeedSettings:
    vendor = {
        "wordpress_api_url": server.url("/wp"),
        "drupal_updates_url": server.url("/release-history"),
        "joomla_tuf_url": server.url("/cms/"),
        "joomla_update_url": server.url("/core/list.xml"),
        "joomla_tuf_root": tuf_root,
    }
    return FeedSettings(vendor=vendor, **extra)


@pytest.mark.parametrize(
    ("failures", "wait"), [(0, 0.0), (1, 60.0), (2, 120.0), (3, 240.0), (20, 3600.0)]
)
def test_backoff_doubles_up_to_the_cap(failures: int, wait: float) -> None:
    assert backoff(failures, 60.0, 3600.0) == wait


async def test_conditional_requests_and_backoff() -> None:
    now = [1000.0]
    async with feed_server() as server:
        server.bodies["/feed"] = b"[1]"
        async with Fetcher(_settings(server), clock=lambda: now[0]) as fetcher:
            first = await fetcher.get(server.url("/feed"))
            second = await fetcher.get(server.url("/feed"))
            assert (first.body, second.not_modified) == (b"[1]", True)
            assert server.hits("/feed")[1].if_none_match is not None
            assert server.hits("/feed")[1].if_modified_since == "Wed, 01 Jan 2025 00:00:00 GMT"
            server.failing["/feed"] = 503
            with pytest.raises(FeedError, match="503"):
                await fetcher.get(server.url("/feed"))
            with pytest.raises(FeedError, match="backing off"):
                await fetcher.get(server.url("/feed"))
            assert len(server.hits("/feed")) == 3  # the backed-off call never left the process
            now[0] += 61
            del server.failing["/feed"]
            again = await fetcher.get(server.url("/feed"))
            assert again.body == b"[1]"  # validators were dropped on failure: a full read
            assert fetcher.cache[server.url("/feed")].failures == 0


async def test_oversized_body_is_refused() -> None:
    async with feed_server() as server:
        server.bodies["/big"] = b"x" * 5000
        async with Fetcher(_settings(server, max_bytes=4096)) as fetcher:
            with pytest.raises(InvalidFeed, match="limit"):
                await fetcher.get(server.url("/big"))


async def test_wordpress_poller() -> None:
    async with feed_server() as server:
        server.bodies["/wp/core/version-check/1.7/"] = sample(
            "wordpress/version-check-1.7_latest_6.7.1_en_CA.json"
        )
        server.bodies["/wp/core/stable-check/1.0/"] = STABLE_CHECK
        server.bodies["/wp/plugins/info/1.2/?action=plugin_information&slug=akismet"] = AKISMET_INFO
        server.failing["/wp/plugins/info/1.2/?action=plugin_information&slug=gone"] = 404
        server.bodies["/wp/plugins/info/1.2/?action=plugin_information&slug=gone"] = (
            b'{"error": "Plugin not found."}'
        )
        theme = "/wp/themes/info/1.2/?action=theme_information&request%5Bslug%5D=twentytwentyfive"
        server.bodies[theme] = json.dumps(
            {"name": "Twenty Twenty-Five", "slug": "twentytwentyfive", "version": "1.2"}
        ).encode()
        wanted = [
            ("core", "wordpress"),
            ("plugin", "akismet"),
            ("plugin", "gone"),
            ("theme", "twentytwentyfive"),
        ]
        async with Fetcher(_settings(server)) as fetcher:
            result = await wordpress.poll(fetcher, wanted)
            again = await wordpress.poll(fetcher, wanted)
    assert result.errors == []
    found = {p.package: p for p in result.packages}
    core = found["wordpress"]
    assert core.latest == "6.7.1"
    assert {r.version for r in core.releases if r.insecure} == {"6.1.8", "6.7"}
    assert core.details["branch_latest"]["6.1"] == "6.1.9"
    # what each release needs, so an update on too old a PHP is refused in preflight
    assert core.details["requires_php"] == {"6.7.1": "7.2.24"}
    assert core.details["requires_db"] == {"6.7.1": "5.5.5"}
    assert found["akismet"].details["requires_php"] == {"5.3.5": "5.6.20"}
    assert (found["akismet"].latest, found["gone"].status) == ("5.3.5", "not-found")
    assert (found["twentytwentyfive"].type, found["twentytwentyfive"].latest) == ("theme", "1.2")
    assert [r.version for r in found["akismet"].releases] == ["5.3.4", "5.3.5"]
    # nothing changed: every request was conditional and answered 304, so nothing to store
    assert {p.package for p in again.packages} == {"gone"}


async def test_wordpress_poller_rejects_hostile_answers() -> None:
    async with feed_server() as server:
        server.bodies["/wp/core/version-check/1.7/"] = b'{"offers": "many"}'
        server.bodies["/wp/core/stable-check/1.0/"] = STABLE_CHECK
        async with Fetcher(_settings(server)) as fetcher:
            result = await wordpress.poll(fetcher, [("core", "wordpress")])
            assert fetcher.cache[server.url("/wp/core/version-check/1.7/")].failures == 1
    assert result.packages == []
    assert "offers" in result.errors[0]


async def test_drupal_poller_flags() -> None:
    async with feed_server() as server:
        server.bodies["/release-history/drupal/current"] = sample(
            "drupal/fixture_drupal.sec.8.1.2_insecure.xml"
        )
        server.bodies["/release-history/aaa_update_test/current"] = sample(
            "drupal/fixture_aaa_update_test.sec.8.x-1.2_8.x-2.2.xml"
        )
        server.bodies["/release-history/gone/current"] = sample(
            "drupal/fixture_drupal.project_status.revoked.0.2.xml"
        )
        wanted = [("core", "drupal"), ("module", "aaa_update_test"), ("module", "gone")]
        async with Fetcher(_settings(server)) as fetcher:
            result = await drupal.poll(fetcher, wanted)
    assert result.errors == []
    found = {p.package: p for p in result.packages}
    core = found["drupal"]
    assert any(r.insecure for r in core.releases) and any(r.security_update for r in core.releases)
    assert core.details["supported_branches"]
    assert found["gone"].status == "revoked"
    contrib = found["aaa_update_test"]
    assert contrib.latest is not None and "8.x-1.x" in contrib.details["branch_latest"]


def _legacy(server: FeedServer) -> None:
    listing = sample("joomla/legacy_core_list.xml").replace(
        b"https://update.joomla.org", server.base.encode()
    )
    server.bodies["/core/list.xml"] = listing
    detail = sample("joomla/legacy_extension_sts_3.9.6.xml")
    server.bodies["/core/extension.xml"] = detail
    server.bodies["/core/sts/extension_sts.xml"] = detail


async def test_joomla_tuf_and_legacy(tmp_path: Path) -> None:
    repo = TufRepo()
    repo.build(joomla_targets())
    root = tmp_path / "root.json"
    root.write_bytes(repo.root)
    async with feed_server() as server:
        _legacy(server)
        for name, body in repo.files.items():
            server.bodies[f"/cms/{name}"] = body
        server.bodies["/ext/updates.xml"] = sample("joomla/extension_update_server_example.xml")
        settings = _settings(server, tuf_root=root)
        wanted = [
            ("core", "joomla", "joomla.org"),
            ("component", "com_nothere", server.url("/ext/updates.xml")),
        ]
        async with Fetcher(settings) as fetcher:
            result = await joomla.poll(fetcher, wanted, state_dir=tmp_path / "tuf")
    assert result.errors == []
    found = {p.package: p for p in result.packages}
    versions = {r.version for r in found["joomla"].releases}
    assert "3.9.6" in versions  # legacy list
    tuf_versions = {t["custom"]["version"] for t in joomla_targets().values()
                    if t["custom"]["stability"] == "Stable"}  # fmt: skip
    assert tuf_versions <= versions
    assert found["com_nothere"].status == "not-found"


async def test_joomla_tuf_tampered_or_expired_is_rejected(tmp_path: Path) -> None:
    repo = TufRepo()
    repo.build(joomla_targets())
    root = tmp_path / "root.json"
    root.write_bytes(repo.root)
    tampered = json.loads(repo.files["targets.json"])
    first = next(iter(tampered["signed"]["targets"].values()))
    first["custom"]["version"] = "9.9.9"  # the signature no longer covers this
    async with feed_server() as server:
        _legacy(server)
        for name, body in repo.files.items():
            server.bodies[f"/cms/{name}"] = body
        server.bodies["/cms/targets.json"] = json.dumps(tampered).encode()
        settings = _settings(server, tuf_root=root)
        async with Fetcher(settings) as fetcher:
            result = await joomla.poll(fetcher, [("core", "joomla", "joomla.org")],
                                       state_dir=tmp_path / "tuf")  # fmt: skip
    assert result.packages == []
    assert "verification" in result.errors[0]
    expired = TufRepo()
    from datetime import UTC, datetime, timedelta

    expired.expires = datetime.now(UTC) - timedelta(days=1)
    expired.build(joomla_targets())
    root.write_bytes(expired.root)
    async with feed_server() as server:
        _legacy(server)
        for name, body in expired.files.items():
            server.bodies[f"/cms/{name}"] = body
        async with Fetcher(_settings(server, tuf_root=root)) as fetcher:
            result = await joomla.poll(fetcher, [("core", "joomla", "joomla.org")],
                                       state_dir=tmp_path / "tuf2")  # fmt: skip
    assert result.packages == [] and "verification" in result.errors[0]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<project><title>&lol2;</title></project>"""


async def test_hostile_release_history_is_rejected_and_retried_later() -> None:
    async with feed_server() as server:
        server.bodies["/release-history/bomb/current"] = BOMB
        server.bodies["/release-history/odd/current"] = b"<project><project_status>maybe"
        async with Fetcher(_settings(server)) as fetcher:
            result = await drupal.poll(fetcher, [("module", "bomb"), ("module", "odd")])
            entry = fetcher.cache[server.url("/release-history/bomb/current")]
    assert result.packages == []
    assert any("hostile XML" in e for e in result.errors)
    assert any("well-formed" in e for e in result.errors)
    assert (entry.failures, entry.etag) == (1, None)  # not cached: the next poll re-reads
