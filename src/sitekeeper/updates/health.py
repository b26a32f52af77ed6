"""The health check around an update: the site from outside, past caches, and its flags
from inside.

Before an update (preflight) :func:`check_before` proves the site healthy — a site
already broken gives a rollback no good state to return to — and records the baseline:
each page's status, title, size and time. After the update (and after a rollback)
:func:`check_after` fetches the same pages and compares: status class as before, the
same title, the plan's keyword, none of the CMS's fatal-error or maintenance texts, no
pending database update, not slower than 3 × the usual time (the site's recent median
from its uptime checks when known, else the baseline), no maintenance flag left on disk,
and — where the CMS can (``cms.updater.LoadCheck``) — its code loaded from inside without
a fatal error (a plugin that fatals only in wp-admin leaves every page above healthy).
The CMS's facts come in as ``markers`` (``cms.health_markers``): this module names
no CMS. Every failure is a ``Check`` saying what was seen; nothing here raises for a
broken site.
"""

from __future__ import annotations

import asyncio
import posixpath
import time
from dataclasses import dataclass

from yarl import URL

from sitekeeper.cms.health_markers import HealthMarkers
from sitekeeper.cms.updater import LoadCheck
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.untrusted import shown
from sitekeeper.domain.updates import Check, HealthReport
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.updates.health_fetch import Page, PageFetcher
from sitekeeper.updates.health_judge import PageBaseline, judge_page, reachable, timing

# Pauses before asking a slow page again (seconds): a slowdown must outlast them.
SLOW_RETRY_PAUSES = (0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class Baseline:
    """The healthy site before an update: what the checks after it compare with."""

    url: str
    home: PageBaseline
    login: PageBaseline
    keyword: str | None = None  # the plan's keyword (the uptime check's), if any
    usual_ms: int | None = None  # the home page's recent median from the uptime checks
    home_at: str = ""  # where the home page ended up, after redirects (no query)


@dataclass(frozen=True, slots=True)
class Inside:
    """Where to look for the CMS's maintenance flags over SSH (and who loads its code)."""

    conn: SshConnection
    docroot: str
    loader: LoadCheck | None = None  # the CMS's load check, if it has one


def load_checker(updater: object) -> LoadCheck | None:
    """The CMS's load check, if its updater has one (``cms.updater.LoadCheck``)."""
    return updater if isinstance(updater, LoadCheck) else None


def page_url(base: str, path: str) -> str:
    """``path`` under the site's home URL."""
    home = URL(base if base.endswith("/") else base + "/")
    return str(home.join(URL(path))) if path else str(home)


async def check_before(
    fetcher: PageFetcher,
    url: str,
    markers: HealthMarkers,
    *,
    keyword: str | None = None,
    usual_ms: int | None = None,
    trust: CheckOptions | None = None,
    inside: Inside | None = None,
) -> tuple[HealthReport, Baseline | None]:
    """Whether the site is healthy now, and its baseline (None if a page gave no answer).

    Each page is fetched twice and the faster time kept: the first load may be a cold
    cache's, and the allowance after the update is a multiple of this time.
    """
    started = time.monotonic()
    home_url, login_url = page_url(url, ""), page_url(url, markers.login_path)
    home, login = await asyncio.gather(
        _twice(fetcher, home_url, trust), _twice(fetcher, login_url, trust)
    )
    checks: list[Check] = []
    for name, page, words in (("home", home, keyword), ("login", login, None)):
        missing = reachable(name, page)
        checks += [missing] if missing else judge_page(name, page, markers, None, keyword=words)
    checks += await _flags(fetcher, url, markers, trust, inside)
    report = HealthReport(all(c.ok for c in checks), tuple(checks), time.monotonic() - started)
    if home.status is None or login.status is None:
        return report, None
    landed = str(URL(home.url).with_query(None))
    baseline = Baseline(url, _baseline(home), _baseline(login), keyword, usual_ms, landed)
    return report, baseline


async def check_after(
    fetcher: PageFetcher,
    baseline: Baseline,
    markers: HealthMarkers,
    *,
    trust: CheckOptions | None = None,
    inside: Inside | None = None,
) -> HealthReport:
    """The site compared with its baseline (after an update, and after a rollback)."""
    started = time.monotonic()
    url = baseline.url
    home_url, login_url = page_url(url, ""), page_url(url, markers.login_path)
    home, login = await asyncio.gather(
        fetcher.get(home_url, trust=trust), fetcher.get(login_url, trust=trust)
    )
    usual_home = baseline.usual_ms / 1000 if baseline.usual_ms else baseline.home.seconds
    source = "the uptime checks' recent median" if baseline.usual_ms else "before the update"
    checks: list[Check] = []
    pages = (
        ("home", home, home_url, baseline.home, usual_home, baseline.keyword),
        ("login", login, login_url, baseline.login, baseline.login.seconds, None),
    )
    for name, page, page_at, before, usual, words in pages:
        missing = reachable(name, page)
        if missing:
            checks.append(missing)
            continue
        checks += judge_page(name, page, markers, before, keyword=words)
        checks.append(await _timed(fetcher, name, page, page_at, usual, source, trust))
    checks += await _flags(fetcher, url, markers, trust, inside)
    return HealthReport(all(c.ok for c in checks), tuple(checks), time.monotonic() - started)


async def _twice(fetcher: PageFetcher, url: str, trust: CheckOptions | None) -> Page:
    first = await fetcher.get(url, trust=trust)
    if first.status is None:
        return first
    second = await fetcher.get(url, trust=trust)
    return second if second.status == first.status and second.seconds < first.seconds else first


async def _timed(  # noqa: PLR0917 - private step of check_after
    fetcher: PageFetcher,
    name: str,
    page: Page,
    url: str,
    usual: float,
    source: str,
    trust: CheckOptions | None,
) -> Check:
    """The time check; a slow answer is asked again a few times, a little apart, and the
    fastest counts: the first loads after an update compile the new code, and a busy
    moment on the server passes. A slowdown that persists is what rolls an update back."""
    check = timing(name, page, usual, source)
    tries = [check]
    for pause in SLOW_RETRY_PAUSES:
        if tries[-1].ok:
            break
        await asyncio.sleep(pause)
        again = await fetcher.get(url, trust=trust)
        if again.status is None:
            break
        tries.append(timing(name, again, usual, source))
    if len(tries) == 1:
        return check
    best = min(tries, key=lambda c: c.seconds)
    slower = ", ".join(f"{c.seconds * 1000:.0f} ms" for c in tries if c is not best)
    return Check(best.name, best.ok, f"{best.detail}; other tries {slower}", best.seconds)


def _baseline(page: Page) -> PageBaseline:
    assert page.status is not None
    return PageBaseline(page.status, page.title, page.seconds, len(page.body.strip()))


async def _flags(
    fetcher: PageFetcher,
    url: str,
    markers: HealthMarkers,
    trust: CheckOptions | None,
    inside: Inside | None,
) -> list[Check]:
    checks = []
    if markers.db_update_path is not None:
        checks.append(await database_check(fetcher, url, markers, trust))
    if inside is not None:
        checks.append(await maintenance_flags(inside, markers))
        if inside.loader is not None:
            checks.append(await inside.loader.load_check(inside.conn, inside.docroot, url))
    return checks


async def database_check(
    fetcher: PageFetcher, url: str, markers: HealthMarkers, trust: CheckOptions | None = None
) -> Check:
    """Whether the CMS's anonymous page for it shows a pending database update."""
    path = markers.db_update_path or ""
    page = await fetcher.get(page_url(url, path), follow=False, trust=trust)
    if page.status is None:
        return Check("database", False, f"/{path}: no answer: {page.error}", page.seconds)
    where = page.location or ""
    for sign in markers.db_update_signs:
        if sign in where or page.contains(sign):
            detail = f"database update required: /{path} answered {page.status}"
            return Check("database", False, f"{detail} ({shown(sign, 80)!r})", page.seconds)
    return Check("database", True, f"no pending database update (/{path}: {page.status})")


async def maintenance_flags(inside: Inside, markers: HealthMarkers) -> Check:
    """Whether a maintenance flag file is left in the docroot (seen over SSH)."""
    try:
        left = [
            name
            for name in markers.maintenance_files
            if await inside.conn.lstat(posixpath.join(inside.docroot, name)) is not None
        ]
    except SitekeeperError as exc:
        return Check("inside.maintenance", False, f"cannot look at the docroot: {exc}")
    if left:
        return Check("inside.maintenance", False, f"maintenance flag left: {', '.join(left)}")
    return Check("inside.maintenance", True, "no maintenance flag on disk")
