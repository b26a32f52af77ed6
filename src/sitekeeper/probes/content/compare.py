"""A page now against its baseline: new outbound domains, hidden links, new scripts and
frames from other domains, a large text change, the plan's forbidden words.

Pure: the probe hands in what it read and the stored baseline. Hidden links to other
domains and forbidden words are states, not changes: they are reported on the first run
too (a site hacked before it was onboarded must not pass as its own normal).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sitekeeper.domain.seo import (
    DEFACEMENT,
    FORBIDDEN_WORD,
    HIDDEN_LINK,
    IFRAME,
    NEW_SCRIPT,
    SPAM_LINK,
    SeoIssue,
)
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.content.page_facts import PageFacts, host_of
from sitekeeper.probes.content.snapshot import Snapshot, similarity
from sitekeeper.probes.content.spam_words import spam_word

MIN_WORDS = 20  # a page with fewer words has no text to deface (a splash page)
MAX_WORDS_LISTED = 100  # forbidden words checked


@dataclass(frozen=True, slots=True)
class Rules:
    """What a plan decides: its forbidden words and how much text may change (percent)."""

    forbidden_words: Sequence[str] = ()
    change_percent: float = 60.0


def _where(page: str) -> str:
    return clean(page, 120)


def against_baseline(
    page: str, facts: PageFacts, now: Snapshot, baseline: Snapshot | None, site_host: str
) -> list[SeoIssue]:
    """What changed on ``page`` since ``baseline`` (nothing without one)."""
    if baseline is None:
        return []
    issues: list[SeoIssue] = []
    known = set(baseline.links)
    texts = {link.host: link.text for link in facts.links if link.host and not link.hidden}
    for host in sorted(set(now.links) - known):
        if host not in texts:
            continue  # only hidden: the hidden-link check's
        word = spam_word(host)
        issues.append(
            SeoIssue(
                SPAM_LINK,
                host,
                Severity.HIGH if word else Severity.MEDIUM,
                f"New link to another domain: {clean(host, 100)}",
                "If the site's editors did not add it, look for injected code in the theme, "
                "mu-plugins and the posts; else accept it.",
                f"on {_where(page)}: {clean(texts[host], 100)!r}",
            )
        )
    script_hosts = baseline.script_hosts() | {site_host}
    for script in now.scripts:
        if host_of(script) not in script_hosts:
            issues.append(
                SeoIssue(
                    NEW_SCRIPT,
                    clean(script, 200),
                    Severity.HIGH,
                    f"New script from another domain: {clean(host_of(script), 100)}",
                    "Find what loads it (theme, plugin, database); remove it unless it is ours.",
                    f"on {_where(page)}",
                )
            )
    for frame in sorted(set(now.frames) - set(baseline.frames)):
        if host_of(frame) != site_host:
            issues.append(
                SeoIssue(
                    IFRAME,
                    clean(frame, 200),
                    Severity.MEDIUM,
                    f"New frame from another domain: {clean(host_of(frame), 100)}",
                    "Find what embeds it; remove it unless the site's editors added it.",
                    f"on {_where(page)}",
                )
            )
    return issues


def defaced(page: str, now: Snapshot, baseline: Snapshot | None, rules: Rules) -> SeoIssue | None:
    """A text change larger than the plan allows (None: small, or nothing to compare)."""
    if baseline is None or baseline.words < MIN_WORDS or now.text_digest == baseline.text_digest:
        return None
    changed = 100 * (1 - similarity(now.sample, baseline.sample))
    if changed <= rules.change_percent:
        return None
    return SeoIssue(
        DEFACEMENT,
        _where(page),
        Severity.HIGH,
        f"The page's text changed by about {changed:.0f}%",
        "Look at the page: after a legitimate redesign accept it (probe-content --accept); "
        "else restore it from a backup and find how it was changed.",
        f"{baseline.words} words before, {now.words} now",
        proof=now.text_digest,
    )


def hidden_links(page: str, facts: PageFacts, site_host: str) -> list[SeoIssue]:
    """Links to other domains that a visitor cannot see: the SEO-spam signature."""
    found: dict[str, str] = {}
    for link in facts.links:
        if link.hidden and link.host and link.host != site_host:
            found.setdefault(link.host, link.text)
    return [
        SeoIssue(
            HIDDEN_LINK,
            host,
            Severity.HIGH,
            f"Hidden link to another domain: {clean(host, 100)}",
            "Injected SEO spam: find and remove the code that prints it (theme, mu-plugins, "
            "database), then change the passwords.",
            f"on {_where(page)}: {clean(text, 100)!r}",
        )
        for host, text in sorted(found.items())
    ]


def forbidden_words(page: str, facts: PageFacts, rules: Rules) -> list[SeoIssue]:
    """The plan's forbidden words the page's text contains."""
    text = facts.text.lower()
    issues = []
    for word in list(rules.forbidden_words)[:MAX_WORDS_LISTED]:
        wanted = word.strip().lower()[:100]
        if not wanted:
            continue
        match = re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", text)
        if match is None:
            continue
        around = facts.text[max(0, match.start() - 40) : match.end() + 40]
        issues.append(
            SeoIssue(
                FORBIDDEN_WORD,
                wanted,
                Severity.MEDIUM,
                f"A forbidden word is on the site: {clean(wanted, 60)}",
                "Find where it is shown and remove it (injected content or a comment).",
                f"on {_where(page)}: {clean(around, 120)!r}",
            )
        )
    return issues
