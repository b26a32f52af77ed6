"""The optional visual check of an update run: the home page before and after, compared.

A plan that sets ``update_visual_threshold`` (a percentage) asks for it. Just before the
CMS's upgrader runs, Chromium takes a screenshot of the home page; once the update is
applied and the site passed its health check, another; more than the threshold of their
pixels changed (``updates.visual``) marks the run "needs review": the update stays (the
site works, it only looks different — a theme's new design, or a banner a plugin adds)
and a person is told. It never rolls back and never fails an update: without Chromium,
or when a shot fails, the step says why it was skipped.

The two screenshots are kept for that person under the data directory, in a folder named
by the site's and the run's ids only (``update-screenshots/<site>/<run>/``), each capped
in size; the newest ``KEEP`` runs' folders per site are kept.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from sitekeeper.domain.updates import Check
from sitekeeper.store.backups import plan_options
from sitekeeper.store.tables import Site
from sitekeeper.updates import screenshot
from sitekeeper.updates.visual import compare

KEEP = 10  # runs per site whose screenshots are kept
NAME = "visual"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the visual check saw after the update (``review``: a person should look)."""

    check: Check
    review: bool = False


def visual_threshold(session: Session, site_id: int) -> float | None:
    """The site's plan's ``update_visual_threshold`` (None: no visual check)."""
    site = session.get(Site, site_id)
    options = plan_options(site) if site is not None else None
    return options.update_visual_threshold if options is not None else None


def folder_of(root: Path, site_id: int, run_id: int) -> Path:
    """Where a run's screenshots live: ids only, never a name the site supplied."""
    return root / str(int(site_id)) / str(int(run_id))


@dataclass
class VisualCheck:
    """One run's visual check (``threshold``: the share of pixels, in %, that may change)."""

    url: str
    threshold: float
    folder: Path
    chromium: str = screenshot.CHROMIUM
    run_as: str | None = None
    verify_tls: bool = True  # as the site's uptime check does (screenshot.chromium_argv)
    # other hosts Chromium may load from: where the health check's home page ended up (a
    # site redirecting to another host would otherwise be Chromium's error page twice)
    also: tuple[str, ...] = ()
    before: Path | None = None

    async def take_before(self) -> Check:
        """The screenshot before the update (a skipped check if there is none)."""
        await asyncio.to_thread(prune, self.folder.parent, keep=KEEP - 1)
        shot = await self._shoot("before.png")
        if shot.path is None:
            return Check(NAME, True, f"skipped: {shot.error}", shot.seconds)
        self.before = shot.path
        return Check(f"{NAME} before", True, f"home page screenshot: {shot.path}", shot.seconds)

    async def judge_after(self) -> Verdict | None:
        """The screenshot after the update compared with the one before (None: there was
        no screenshot before, and the step already said why)."""
        if self.before is None:
            return None
        shot = await self._shoot("after.png")
        if shot.path is None:
            why = f"skipped: the screenshot after the update failed: {shot.error}"
            return Verdict(Check(NAME, True, why, shot.seconds))
        started = time.monotonic()
        try:
            seen = await asyncio.to_thread(compare, self.before, shot.path)
        except ValueError as exc:
            return Verdict(Check(NAME, True, f"skipped: {exc}", shot.seconds))
        seconds = shot.seconds + time.monotonic() - started
        share = f"{seen.percent:.2f} % of the home page changed (threshold {self.threshold:g} %)"
        if seen.percent > self.threshold:
            detail = f"{share}: needs review; screenshots in {self.folder}"
            return Verdict(Check(NAME, False, detail, seconds), review=True)
        return Verdict(Check(NAME, True, share, seconds))

    async def _shoot(self, name: str) -> screenshot.Shot:
        return await screenshot.take(
            self.url,
            self.folder / name,
            chromium=self.chromium,
            run_as=self.run_as,
            verify_tls=self.verify_tls,
            also=self.also,
        )


def prune(site_folder: Path, *, keep: int) -> None:
    """Remove all but the newest ``keep`` run folders of one site (by run id)."""
    if not site_folder.is_dir():
        return
    runs = sorted(
        (p for p in site_folder.iterdir() if p.name.isdigit() and not p.is_symlink()),
        key=lambda p: int(p.name),
    )
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
