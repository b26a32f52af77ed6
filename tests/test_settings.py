"""A CMS package's own settings: declared in its package, still read from ``SITEKEEPER_*``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from sitekeeper.cms.drupal.sources import release_history_base
from sitekeeper.cms.joomla.sources import joomla_sources
from sitekeeper.cms.wordpress.sources import api_base
from sitekeeper.config import extension_settings, load_settings
from sitekeeper.errors import ConfigError
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.intel.hashes import HashSources


def test_a_mirror_set_in_the_environment_reaches_the_cms_that_declared_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "root.json"
    root.write_text("{}")
    held = tmp_path / "tuf-root-path"
    held.write_text(str(root))
    monkeypatch.setenv("SITEKEEPER_WORDPRESS_API_URL", "https://wp-mirror.example/")
    monkeypatch.setenv("SITEKEEPER_DRUPAL_UPDATES_URL", "https://drupal-mirror.example/rh")
    monkeypatch.setenv("SITEKEEPER_JOOMLA_TUF_ROOT_FILE", str(held))  # *_FILE works too
    monkeypatch.setenv("SITEKEEPER_CONCURRENCY", "7")  # a core setting stays a field
    settings = load_settings(home=tmp_path)

    assert settings.concurrency == 7
    assert "concurrency" not in (settings.model_extra or {})
    for vendor in (
        FeedSettings.from_settings(settings).vendor,
        HashSources.from_settings(settings).vendor,
    ):
        assert api_base(vendor) == "https://wp-mirror.example"
        assert release_history_base(vendor) == "https://drupal-mirror.example/rh"
        assert joomla_sources(vendor).joomla_tuf_root == root


def test_without_settings_the_vendors_own_services_are_used() -> None:
    assert api_base(FeedSettings().vendor) == "https://api.wordpress.org"
    assert release_history_base({}) == "https://updates.drupal.org/release-history"
    sources = joomla_sources({})
    assert (sources.joomla_update_url, sources.joomla_tuf_root) == (
        "https://update.joomla.org/core/list.xml",
        None,
    )


def test_a_bad_value_names_the_variable_to_fix() -> None:
    class Mirror(BaseModel):
        mirror_port: int = 443

    assert extension_settings(Mirror, {"mirror_port": "8443", "other": "x"}).mirror_port == 8443
    with pytest.raises(ConfigError, match="SITEKEEPER_MIRROR_PORT"):
        extension_settings(Mirror, {"mirror_port": "not a port"})


def test_lists_and_pairs_from_the_environment_are_split_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SITEKEEPER_SCAN_RULE_DIRS", " /etc/sk/rules,\n/srv/yara ,")
    monkeypatch.setenv("SITEKEEPER_RDAP_SERVERS", "nl=https://rdap.nl/,\n de=http://rdap.de/")
    settings = load_settings(home=tmp_path)
    assert [str(d) for d in settings.scan_rule_dirs] == ["/etc/sk/rules", "/srv/yara"]
    assert settings.rdap_servers == {"nl": "https://rdap.nl/", "de": "http://rdap.de/"}
    monkeypatch.setenv("SITEKEEPER_RDAP_SERVERS", "nl=https://rdap.nl/,de=ftp://rdap.de/")
    with pytest.raises(ConfigError, match=r"de: 'ftp://rdap\.de/' is not an http"):
        load_settings(home=tmp_path)
