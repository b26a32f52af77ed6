"""TLS versions below 1.2 still accepted: one handshake offering only TLS 1.0, one 1.1.

OpenSSL 3 refuses to offer them at its default security level; a client context with
``@SECLEVEL=0`` and the version pinned can still offer them (Debian's OpenSSL 3.0 does),
which is all the check needs: whether the *server* agrees. No HTTP is spoken.
"""

from __future__ import annotations

import ssl
import warnings
from functools import cache

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView

LEGACY = ("TLSv1", "TLSv1.1")


@cache
def legacy_context(version: str) -> ssl.SSLContext:
    """A client context that offers only ``version`` and accepts any certificate (only the
    protocol matters here). Built once per version."""
    with warnings.catch_warnings():  # the names themselves are deprecated, as they should be
        warnings.simplefilter("ignore", DeprecationWarning)
        pinned = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1}[version]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = pinned
        context.maximum_version = pinned
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def can_offer(version: str) -> bool:
    """Whether this OpenSSL can offer ``version`` at all (else the check says so)."""
    try:
        legacy_context(version)
    except (ssl.SSLError, ValueError):
        return False
    return bool(getattr(ssl, "HAS_" + version.replace(".", "_"), False))


@CHECKS.register("tls-version")
class LegacyTls:
    """Handshakes with TLS 1.0 and 1.1 on HTTPS sites."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """One issue naming every legacy version the server still agrees to."""
        if not site.https:
            return []
        accepted = []
        for version in LEGACY:
            if not can_offer(version):  # not tried: what the server would do is unknown
                site.unknown(f"this OpenSSL cannot offer {version}: not tried")
                continue
            try:
                agreed = await site.handshake(version)
            except OSError as exc:  # unreachable, refused by policy, too slow: unknown
                site.fetcher.failed = True
                site.fetcher.note(
                    f"{version} handshake: {clean(str(exc) or type(exc).__name__, 200)}"
                )
                continue
            if agreed is not None:
                accepted.append(agreed)
        if not accepted:
            return []
        return [
            SecurityIssue(
                "tls-version",
                "below TLS 1.2",
                Severity.MEDIUM,
                f"{' and '.join(accepted)} still accepted",
                "Allow only TLS 1.2 and 1.3 in the web server (e.g. SSLProtocol -all +TLSv1.2 "
                "+TLSv1.3, or ssl_protocols TLSv1.2 TLSv1.3).",
                f"handshakes offering only {', '.join(accepted)} succeeded",
            )
        ]
