"""The content probe: a site's key pages as a visitor, a crawler and a phone see them,
compared with their baselines and with each other; new spam URLs in its sitemap.

Requests go through the security probe's bounded path (per-IP slot, capped bodies, the
egress policy, a budget and a deadline per site); redirects are followed only within the
site, so a redirect elsewhere is evidence, not a fetch of someone else's server. Parsing
runs in a worker thread: a 1 MB page is milliseconds for lxml, but never on the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from sitekeeper.domain.seo import (
    CLOAKING,
    PAGE_TYPES,
    SPAM_URL,
    SeoIssue,
    SeoReport,
)
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.content import compare
from sitekeeper.probes.content.cloaking import CRAWLER, PHONE, Variant, cloaked
from sitekeeper.probes.content.page_facts import PageFacts, host_of, read_page
from sitekeeper.probes.content.sitemap import (
    MAX_CHILDREN,
    MAX_URLS,
    PATHS,
    parse_sitemap,
    url_key,
)
from sitekeeper.probes.content.snapshot import Snapshot
from sitekeeper.probes.content.spam_words import spam_word
from sitekeeper.probes.security.fetch import REDIRECTS, Page, Request, SiteFetcher, Spent
from sitekeeper.probes.security.probe import SecurityProbe

PAGE_BYTES = 1024 * 1024
SITEMAP_BYTES = 2 * 1024 * 1024
UNREADABLE = "unreadable-page"
VISITOR_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
}
CRAWLER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Referer": "https://www.google.com/",
}
PHONE_HEADERS = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Referer": "https://www.google.com/",
}


class ContentOptions(BaseModel):
    """Per-site settings of the content probe (the plan's words and threshold included)."""

    model_config = ConfigDict(extra="forbid")

    pages: int = Field(default=5, ge=1, le=20, description="Key pages looked at.")
    key_pages: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Paths of the site's configured key pages (domain.key_pages): looked at "
        "with the home page instead of the baselines' or the sitemap's.",
    )
    max_requests: int = Field(default=60, ge=4, le=200)
    timeout: float | None = Field(default=None, gt=0, le=900)
    verify_tls: bool = True
    ca_bundle: str | None = None
    forbidden_words: list[str] = Field(default_factory=list)
    change_percent: float = Field(default=60.0, gt=0, le=100)


@dataclass(slots=True)
class Known:
    """What the store knows of a site: each page's baseline, and the keys (``url_key``) of
    the sitemap URLs it had (None: no sitemap baseline yet). ``accept``: take what is seen
    now as the new normal."""

    pages: Mapping[str, Snapshot] = field(default_factory=dict)
    sitemap: frozenset[str] | None = None
    accept: bool = False


@dataclass(slots=True)
class ContentResult:
    """The report, and what the store keeps: each page's snapshot now, the sitemap's URLs."""

    report: SeoReport
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    sitemap: list[str] | None = None

    def sitemap_keys(self, *, legit_only: bool) -> list[str] | None:
        """The sitemap URLs' keys as a baseline keeps them (``legit_only``: without the
        URLs that look like spam, so they stay new until accepted)."""
        if self.sitemap is None:
            return None
        return [url_key(u) for u in self.sitemap if not legit_only or spam_word(u) is None]

    def baselines(self) -> dict[str, dict[str, Any]]:
        """Each page's snapshot as a baseline row keeps it."""
        return {page: snap.to_json() for page, snap in self.snapshots.items()}


@dataclass(slots=True)
class _Seen:
    page: Page | None
    offsite: str | None = None


class ContentProbe(SecurityProbe):
    """Looks at sites' content; share one per run. Its requests are the security probe's."""

    default_user_agent = VISITOR_HEADERS["User-Agent"]

    async def probe_content(
        self, url: str, known: Known | None = None, options: ContentOptions | None = None
    ) -> ContentResult:
        """Every content check on the site at ``url``."""
        opts = options or ContentOptions()
        state = known or Known()
        result = ContentResult(SeoReport(url=url))
        base = URL(url if url.endswith("/") else url + "/")
        fetcher = SiteFetcher(
            base=base,
            send=lambda request: self._send(request, _trust(opts)),
            request_timeout=self._request_timeout,
            spent=Spent(opts.max_requests),
        )
        seconds = opts.timeout or self._timeout * 2
        try:
            async with asyncio.timeout(seconds):
                await self._look(result, fetcher, state, opts)
        except TimeoutError:
            result.report.notes.append(f"gave up after {seconds:g} s")
            result.report.complete.clear()
        result.report.requests = fetcher.spent.requests
        result.report.notes = [*fetcher.spent.notes, *result.report.notes][:50]
        return result

    async def _look(
        self, result: ContentResult, fetcher: SiteFetcher, known: Known, opts: ContentOptions
    ) -> None:
        report = result.report
        if fetcher.base.scheme not in ("http", "https") or not fetcher.base.host:
            report.error = f"not an http(s) URL: {clean(str(fetcher.base), 200)}"
            return
        home = await _get(fetcher, "/", VISITOR_HEADERS)
        if home.page is None or home.page.status != 200 or home.offsite is not None:
            why = home.offsite or (
                f"HTTP {home.page.status}" if home.page is not None else _last(fetcher)
            )
            report.error = f"home page not readable: {clean(why, 200)}"
            return
        fetcher.base = URL(home.page.url).with_path(fetcher.base.path)
        site_host = host_of(str(fetcher.base))
        sitemap_ok = await self._sitemap(result, fetcher, known, site_host)
        if opts.key_pages:
            pages = _configured(fetcher.base, opts.key_pages, site_host)
        else:
            pages = _choose(str(fetcher.base), known, result.sitemap or [], site_host, opts.pages)
        report.pages = pages
        rules = compare.Rules(opts.forbidden_words, opts.change_percent)
        outcome = await asyncio.gather(
            *(self._page(result, fetcher, known, page, site_host, rules) for page in pages)
        )
        if all(done for done, _ in outcome):
            report.complete.extend(PAGE_TYPES)
            report.complete.append(UNREADABLE)
        if all(variants for _, variants in outcome):
            report.complete.append(CLOAKING)
        if sitemap_ok:
            report.complete.append(SPAM_URL)
        report.issues = _unique(report.issues)

    async def _page(  # noqa: PLR0917 - one page's inputs, private
        self,
        result: ContentResult,
        fetcher: SiteFetcher,
        known: Known,
        page: str,
        site_host: str,
        rules: compare.Rules,
    ) -> tuple[bool, bool]:
        """One page's checks; (its own checks looked, its cloaking checks looked)."""
        path = _path(page)
        visitor, crawler, phone = await asyncio.gather(
            _get(fetcher, path, VISITOR_HEADERS),
            _get(fetcher, path, CRAWLER_HEADERS),
            _get(fetcher, path, PHONE_HEADERS),
        )
        report = result.report
        seen = await _read(visitor, site_host)
        if seen is None:
            return False, False
        facts, snapshot = seen
        result.snapshots[page] = snapshot
        baseline = None if known.accept else known.pages.get(page)
        if baseline is None:
            report.baselined.append(page)
        if facts.unreadable:
            report.issues.append(_unreadable(page, facts.unreadable))
        report.issues += compare.against_baseline(page, facts, snapshot, baseline, site_host)
        report.issues += compare.hidden_links(page, facts, site_host)
        report.issues += compare.forbidden_words(page, facts, rules)
        if (issue := compare.defaced(page, snapshot, baseline, rules)) is not None:
            report.issues.append(issue)
        looked = facts.unreadable is None
        # The domains the visitor's page names now or named when accepted are not cloaking.
        known_links = set(snapshot.links) | set(baseline.links if baseline else ())
        mine = Variant("visitor", snapshot)
        variants_ok = True
        for name, got in ((CRAWLER, crawler), (PHONE, phone)):
            if got.offsite is not None:
                other = Variant(name, offsite=got.offsite)
            else:
                read = await _read(got, site_host)
                if read is None:
                    variants_ok = False
                    continue
                other = Variant(name, read[1])
            if (issue := cloaked(page, mine, other, known_links)) is not None:
                report.issues.append(issue)
        return looked, variants_ok

    async def _sitemap(
        self, result: ContentResult, fetcher: SiteFetcher, known: Known, site_host: str
    ) -> bool:
        """Read the sitemap's URLs into ``result``; flag new ones with spam words. False
        when it could not be read (an answer other than a sitemap or a 404 counts as none)."""
        urls: list[str] = []
        found = False
        for path in PATHS:
            page = await fetcher.get(path, cap=SITEMAP_BYTES)  # a redirect: not read
            if page is None:
                return False
            entries = parse_sitemap(page.body) if page.status == 200 else None
            if entries is None:
                continue
            found = True
            urls += entries.urls
            for child in entries.children[:MAX_CHILDREN]:
                if host_of(child) != site_host:
                    continue
                sub = await fetcher.fetch(Request(URL(child), cap=SITEMAP_BYTES))
                if sub is None:
                    return False
                more = parse_sitemap(sub.body) if sub.status == 200 else None
                urls += more.urls if more is not None else []
            break
        if not found:
            result.sitemap = []
            return True
        result.sitemap = list(dict.fromkeys(urls))[:MAX_URLS]
        if known.sitemap is None or known.accept:
            return True
        for url in result.sitemap:
            if url_key(url) in known.sitemap:
                continue
            if (word := spam_word(url)) is not None:
                result.report.issues.append(
                    SeoIssue(
                        SPAM_URL,
                        clean(url, 200),
                        Severity.HIGH,
                        "A new URL in the sitemap looks like SEO spam",
                        "Spam pages were added (posts, files or rewrite rules): remove them "
                        "and find how they got in.",
                        f"matches {clean(word, 40)!r}",
                    )
                )
        return True


def _trust(opts: ContentOptions) -> Any:
    """The security probe's request options carry the site's TLS trust."""
    from sitekeeper.probes.security.probe import SecurityOptions  # noqa: PLC0415

    return SecurityOptions(verify_tls=opts.verify_tls, ca_bundle=opts.ca_bundle)


def _last(fetcher: SiteFetcher) -> str:
    return fetcher.spent.notes[-1] if fetcher.spent.notes else "no answer"


def _path(page: str) -> str:
    parsed = URL(page)
    return parsed.raw_path_qs or "/"


async def _get(fetcher: SiteFetcher, path: str, headers: Mapping[str, str]) -> _Seen:
    """GET ``path`` as one kind of client, following redirects within the site only."""
    request = Request(fetcher.url(path), headers=dict(headers), cap=PAGE_BYTES)
    site = host_of(str(fetcher.base))
    for _ in range(6):
        page = await fetcher.fetch(request)
        if page is None or page.status not in REDIRECTS or page.location is None:
            return _Seen(page)
        try:
            target = URL(page.url).join(URL(page.location))
        except ValueError:
            return _Seen(page)
        host = host_of(str(target))
        if host != site:
            return _Seen(page, offsite=host or clean(page.location, 100))
        request = Request(target, headers=dict(headers), cap=PAGE_BYTES)
    return _Seen(None)


async def _read(seen: _Seen, site_host: str) -> tuple[PageFacts, Snapshot] | None:
    """The page's facts and snapshot (None: it could not be read as an HTML page)."""
    page = seen.page
    if page is None or page.status != 200 or seen.offsite is not None:
        return None
    facts = await asyncio.to_thread(read_page, page.body, page.url)
    return facts, Snapshot.of(facts, site_host)


def _choose(
    home: str, known: Known, sitemap: Sequence[str], site_host: str, count: int
) -> list[str]:
    """The pages to look at: the baseline's (stable across runs), else the home page and
    the sitemap's first pages on the site's own host."""
    if known.pages and not known.accept:
        return sorted(known.pages, key=lambda p: (p != home, p))[:count]
    chosen = [home]
    for url in sitemap:
        if len(chosen) >= count:
            break
        if host_of(url) == site_host and url not in chosen and spam_word(url) is None:
            chosen.append(url)
    return chosen


def _configured(base: URL, paths: Sequence[str], site_host: str) -> list[str]:
    """The home page and the configured key pages, as URLs on the site's host (a page
    that would leave it is not looked at: validation already refuses those)."""
    chosen = [str(base)]
    for path in paths:
        if not path.startswith("/") or path.startswith("//"):
            continue
        try:
            url = str(base.join(URL(path, encoded=True)))
        except ValueError:
            continue
        if host_of(url) == site_host and url not in chosen:
            chosen.append(url)
    return chosen


def _unreadable(page: str, why: str) -> SeoIssue:
    return SeoIssue(
        UNREADABLE,
        clean(page, 200),
        Severity.MEDIUM,
        "A page's markup cannot be read to the end",
        "Look at the page's source: markup this deep is generated to hide content.",
        why,
    )


def _unique(issues: list[SeoIssue]) -> list[SeoIssue]:
    """One issue per (type, item), the same domain on five pages being one finding, each
    sealed with the digest of its evidence."""
    seen: dict[tuple[str, str], SeoIssue] = {}
    for issue in issues:
        seen.setdefault((issue.type, issue.item), issue)
    return [replace(i, digest=evidence_digest(i)) for i in seen.values()]


def evidence_digest(issue: SeoIssue) -> str:
    """What an acknowledgement holds ``issue`` to: its type and its proof (else its item)."""
    text = f"{issue.type}\x00{issue.proof or issue.item}"
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
