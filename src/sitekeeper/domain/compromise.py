"""Which open findings say a site is already hacked, not merely exposed: the rule behind
the fleet's "compromised" state (``site_summary.compromised``).

A modified core file, spam links or cloaking at high severity or worse, and any web shell
or malware match from medium up, are signs that someone is inside. Exposures (an open
``.git/``), updates and vulnerabilities are doors left open: they keep their own columns.
Malware counts from medium because a YARA rule's "medium" is still code that should not be
there; an integrity or SEO finding at medium (a file newer than the last update, a new
outbound domain) is worth a look but is often the site's own change.
"""

from __future__ import annotations

from sitekeeper.domain.exposure import EXPOSURE
from sitekeeper.domain.integrity import INTEGRITY, MALWARE
from sitekeeper.domain.seo import SEO
from sitekeeper.domain.severity import Severity

# The lowest severity at which an open finding of each kind marks the site compromised.
SIGN_FROM: dict[str, Severity] = {
    INTEGRITY: Severity.HIGH,
    MALWARE: Severity.MEDIUM,
    SEO: Severity.HIGH,
}

# The finding kinds the site page's Security panel lists (and the CLI's default): the
# hack-detection kinds and what the outside probe sees.
SECURITY_KINDS = (MALWARE, INTEGRITY, SEO, EXPOSURE)


def severities_from(kind: str) -> tuple[str, ...]:
    """The stored severity words that make an open finding of ``kind`` a sign of a hack
    (none for a kind that never is)."""
    lowest = SIGN_FROM.get(kind)
    if lowest is None:
        return ()
    return tuple(str(s) for s in Severity if s.rank >= lowest.rank)


def is_sign(kind: str, severity: object) -> bool:
    """Whether an open finding of ``kind`` at ``severity`` (a stored word) marks the site
    compromised; an unknown or missing severity never does (as info)."""
    return Severity.parse(severity, Severity.INFO).value in severities_from(kind)
