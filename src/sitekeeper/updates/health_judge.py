"""Judging one fetched page against the CMS's markers and the page as it was before.

Pure: a ``Page`` (``updates.health_fetch``) in, ``Check`` rows out, each saying what was
seen, so the journal and the site page can tell an operator why an update was rolled
back. An HTTP status alone is not enough (ManageWP's rule): WordPress answers a fatal
plugin with 500 but a front page emptied by a broken theme with 200, and a page cache
answers 200 with yesterday's page; so the title, the plan's keyword, the CMS's own error
and maintenance texts and the size of the page count too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitekeeper.cms.health_markers import HealthMarkers
from sitekeeper.domain.untrusted import shown
from sitekeeper.domain.updates import Check
from sitekeeper.updates.health_fetch import Page

# What PHP itself prints with display_errors on, whatever the CMS.
PHP_FATAL_TEXTS = ("<b>Fatal error</b>:", "<b>Parse error</b>:", "PHP Fatal error:")
SLOWER = 3.0  # a page may take up to this many times its usual time...
SLACK = 0.5  # ...or this many seconds, whichever is more (a fast page's noise)
SHRUNK = 0.1  # a page under this share of its size before is "emptied"


@dataclass(frozen=True, slots=True)
class PageBaseline:
    """A page of the healthy site, before the update: what "as before" means."""

    status: int
    title: str
    seconds: float
    size: int


def status_class(status: int) -> int:
    """200 -> 2, 302 -> 3: a page may move within its class (a new redirect target)."""
    return status // 100


def allowed_seconds(usual: float) -> float:
    """How long a page may take after the update, given its usual time."""
    return max(usual * SLOWER, SLACK)


def reachable(name: str, page: Page) -> Check | None:
    """A failing check if the page gave no HTTP answer at all; None if it answered."""
    if page.status is not None:
        return None
    return Check(f"{name}.status", False, f"no answer: {page.error}", page.seconds)


def judge_page(
    name: str,
    page: Page,
    markers: HealthMarkers,
    before: PageBaseline | None,
    *,
    keyword: str | None = None,
) -> list[Check]:
    """The checks of one answered page (``name``: "home", "login"). Without ``before``
    (the site before an update) only what any healthy page must satisfy is judged."""
    assert page.status is not None, "judge only pages that answered (see reachable)"
    checks = [_status(name, page, before)]
    checks.append(_texts(f"{name}.fatal", page, (*markers.fatal_texts, *PHP_FATAL_TEXTS)))
    checks.append(_maintenance(name, page, markers))
    if before is not None:
        checks.append(_title(name, page, before))
        checks.append(_size(name, page, before))
    if keyword:
        found = page.contains(keyword)
        seen = "found" if found else "not found"
        checks.append(Check(f"{name}.keyword", found, f"keyword {keyword!r} {seen}"))
    return checks


def _status(name: str, page: Page, before: PageBaseline | None) -> Check:
    status = page.status
    assert status is not None
    if before is None:
        return Check(f"{name}.status", status < 400, f"answered {status}", page.seconds)
    same = status_class(status) == status_class(before.status)
    return Check(
        f"{name}.status", same, f"answered {status} (before: {before.status})", page.seconds
    )


def _texts(check: str, page: Page, texts: tuple[str, ...]) -> Check:
    seen = [t for t in texts if page.contains(t)]
    if seen:
        return Check(check, False, f"page says {shown(seen[0], 120)!r} (status {page.status})")
    return Check(check, True, "none of the error texts")


def _maintenance(name: str, page: Page, markers: HealthMarkers) -> Check:
    check = _texts(f"{name}.maintenance", page, markers.maintenance_texts)
    if not check.ok:
        return check
    if page.status == markers.maintenance_status:
        return Check(check.name, False, f"answered {page.status}, the maintenance status")
    return Check(check.name, True, "not in maintenance")


def _title(name: str, page: Page, before: PageBaseline) -> Check:
    title = page.title
    same = title == before.title
    detail = f"title {shown(title, 120)!r}"
    return Check(f"{name}.title", same, detail if same else f"{detail}, before {before.title!r}")


def _size(name: str, page: Page, before: PageBaseline) -> Check:
    size = len(page.body.strip())
    emptied = before.size > 0 and size < before.size * SHRUNK
    what = "empty page" if size == 0 else f"{size} bytes"
    return Check(f"{name}.content", not emptied, f"{what} (before: {before.size} bytes)")


def timing(name: str, page: Page, usual: float, source: str) -> Check:
    """Whether ``page`` answered within the allowance of its usual time (``source``:
    where the usual time comes from, in words)."""
    limit = allowed_seconds(usual)
    ok = page.seconds <= limit
    detail = f"{page.seconds * 1000:.0f} ms (usual {usual * 1000:.0f} ms from {source}, "
    return Check(f"{name}.time", ok, detail + f"limit {limit * 1000:.0f} ms)", page.seconds)
