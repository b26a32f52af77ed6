"""Version leaks: what the fingerprint's own readers find on the home page, and a
runtime version in ``X-Powered-By``.

The CMS readers are the fingerprint probe's (``CMS_SIGNALS``, run by the probe on the
home page it fetched): a release the page names is one a bot can match against
advisories without asking anything else. Hardening advice ("info").
"""

from __future__ import annotations

import re

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView

_RUNTIME_VERSION = re.compile(r"\b[A-Za-z][\w.-]{0,60}/\d+(?:\.\d+)+")


@CHECKS.register("version-leak")
class VersionLeaks:
    """One issue per CMS whose version the home page names, one for ``X-Powered-By``."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """Issues from what the probe already read (no request of its own)."""
        issues: dict[str, SecurityIssue] = {}
        for clue in site.clues:
            if clue.cms is None or clue.version is None or clue.cms in issues:
                continue
            issues[clue.cms] = SecurityIssue(
                "version-leak",
                clue.cms,
                Severity.INFO,
                f"The home page names the {clue.cms} version ({clean(clue.version, 40)})",
                "Remove the generator tag and version query strings (a security plugin does "
                "both); keep the site updated either way.",
                clean(clue.evidence[0], 200) if clue.evidence else "",
            )
        powered = site.home.headers.get("x-powered-by", "")
        if _RUNTIME_VERSION.search(powered):
            issues["x-powered-by"] = SecurityIssue(
                "version-leak",
                "X-Powered-By",
                Severity.INFO,
                "The server names its runtime version in X-Powered-By",
                "Turn the header off (expose_php = Off in php.ini).",
                clean(powered, 100),
            )
        return list(issues.values())
