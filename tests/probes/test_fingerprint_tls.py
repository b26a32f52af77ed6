"""FingerprintProbe and a site's trust settings: a private CA (``ca_bundle``), as checks have it.

The site is the joomla5 fixture on loopback over real TLS, its certificate signed by the
test CA, which the system store does not know.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from pydantic import ValidationError

from sitekeeper.domain.checks import CheckOptions
from sitekeeper.probes.fingerprint import FingerprintOptions, FingerprintProbe
from tests.probes.conftest import Site, serve, server_context
from tests.probes.test_fingerprint_cms import SITES, site_app


@pytest.fixture
async def private_site(ca: trustme.CA) -> AsyncIterator[Site]:
    async with serve(
        site_app(SITES / "joomla5"), ssl_context=server_context(ca.issue_cert("127.0.0.1"))
    ) as site:
        yield site


async def test_a_private_ca_site_is_fingerprinted_with_its_ca_bundle(
    private_site: Site, ca_file: Path
) -> None:
    options = FingerprintOptions.from_check(CheckOptions(ca_bundle=str(ca_file)))
    assert options.ca_bundle == str(ca_file)
    async with FingerprintProbe() as probe:
        trusted = await probe.fingerprint(private_site.url("/"), options)
        untrusted = await probe.fingerprint(private_site.url("/"))
    assert (trusted.cms, trusted.version, trusted.error) == ("joomla", "5.1.2", None)
    assert untrusted.cms is None
    assert untrusted.error is not None and untrusted.error.startswith("tls: ")
    assert "unable to get local issuer certificate" in untrusted.error


async def test_the_ca_bundle_is_loaded_once_per_probe(
    private_site: Site, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run over many sites of one agency builds its CA's context once, not once per site."""
    made: list[str | None] = []
    create = ssl.create_default_context

    def counting(*args: object, cafile: str | None = None, **kwargs: object) -> ssl.SSLContext:
        made.append(cafile)
        return create(*args, cafile=cafile, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    options = FingerprintOptions(ca_bundle=str(ca_file))
    async with FingerprintProbe() as probe:
        results = [await probe.fingerprint(private_site.url("/"), options) for _ in range(3)]
    assert [r.version for r in results] == ["5.1.2"] * 3
    assert made.count(str(ca_file)) == 1


async def test_an_unreadable_ca_bundle_is_a_tls_error(private_site: Site, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    async with FingerprintProbe() as probe:
        result = await probe.fingerprint(
            private_site.url("/"), FingerprintOptions(ca_bundle=str(missing))
        )
    assert result.cms is None
    assert result.error is not None
    assert result.error.startswith(f"tls: cannot load CA bundle {missing}")


async def test_verify_tls_off_ignores_the_ca_bundle(private_site: Site, tmp_path: Path) -> None:
    options = FingerprintOptions.from_check(
        CheckOptions(verify_tls=False, ca_bundle=str(tmp_path / "missing.pem"))
    )
    async with FingerprintProbe() as probe:
        result = await probe.fingerprint(private_site.url("/"), options)
    assert (result.cms, result.version, result.error) == ("joomla", "5.1.2", None)


def test_ca_bundle_is_validated_as_check_options_validate_it() -> None:
    schema = FingerprintOptions.model_json_schema()["properties"]["ca_bundle"]
    assert schema == CheckOptions.model_json_schema()["properties"]["ca_bundle"]
    for model in (CheckOptions, FingerprintOptions):
        with pytest.raises(ValidationError, match="ca_bundle"):
            model(ca_bundle=3)
    assert FingerprintOptions().ca_bundle is None
