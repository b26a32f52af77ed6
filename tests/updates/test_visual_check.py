"""The visual check with Debian's real headless Chromium on a loopback page: the same page
passes, a page with a banner needs review, a missing Chromium or an unreachable page is a
skipped step (never a failure), and only the newest runs' screenshots are kept."""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sitekeeper.updates.screenshot import _keep, chromium_argv
from sitekeeper.updates.visual_check import VisualCheck, folder_of, prune

PAGE = """<!doctype html><html><head><title>Shop</title></head>
<body style="margin:0;font:16px sans-serif">{banner}<h1>Bäckerei</h1>
{text}</body></html>"""
BANNER = '<div style="height:700px;background:#c00;color:#fff">SALE</div>'
needs_chromium = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium"
)


class Site:
    """A loopback site whose home page a test changes between the two screenshots."""

    def __init__(self) -> None:
        self.banner = ""

    async def home(self, _request: web.Request) -> web.Response:
        text = "<p>Fresh bread every morning.</p>" * 40
        body = PAGE.format(banner=self.banner, text=text)
        return web.Response(text=body, content_type="text/html")


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, str]]:
    made = Site()
    app = web.Application()
    app.router.add_get("/", made.home)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    yield made, f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@needs_chromium
async def test_the_same_page_passes(site: tuple[Site, str], tmp_path: Path) -> None:
    _, url = site
    check = VisualCheck(url, 2.0, folder_of(tmp_path, 1, 7))
    before = await check.take_before()
    assert (before.name, before.ok) == ("visual before", True), before
    verdict = await check.judge_after()
    assert verdict is not None and not verdict.review
    assert verdict.check.ok
    assert verdict.check.detail.startswith("0.00 % of the home page changed (threshold 2 %)")
    assert sorted(p.name for p in (tmp_path / "1" / "7").iterdir()) == ["after.png", "before.png"]


@needs_chromium
async def test_a_banner_needs_review(site: tuple[Site, str], tmp_path: Path) -> None:
    page, url = site
    check = VisualCheck(url, 5.0, folder_of(tmp_path, 1, 8))
    await check.take_before()
    page.banner = BANNER
    verdict = await check.judge_after()
    assert verdict is not None and verdict.review
    assert not verdict.check.ok
    assert "needs review; screenshots in " in verdict.check.detail
    percent = float(verdict.check.detail.split(" %", 1)[0])
    assert percent > 5.0


async def test_without_chromium_the_step_is_skipped_with_why(tmp_path: Path) -> None:
    check = VisualCheck("http://127.0.0.1:9/", 5.0, tmp_path / "1" / "9", chromium="/nonexistent")
    before = await check.take_before()
    assert before.ok
    assert (
        before.detail
        == "skipped: Chromium is not installed (/nonexistent: Debian package chromium)"
    )
    assert await check.judge_after() is None  # nothing to compare with


@needs_chromium
async def test_a_page_that_goes_away_is_a_skipped_step_not_a_failure(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    _, url = site
    check = VisualCheck(url, 5.0, tmp_path / "1" / "10")
    await check.take_before()
    check.chromium = "/nonexistent"  # Chromium removed between the two shots
    verdict = await check.judge_after()
    assert verdict is not None and not verdict.review and verdict.check.ok
    assert verdict.check.detail.startswith("skipped: the screenshot after the update failed")


def test_only_the_newest_runs_screenshots_are_kept(tmp_path: Path) -> None:
    for run in (3, 12, 100, 7):
        (tmp_path / str(run)).mkdir()
        (tmp_path / str(run) / "before.png").write_bytes(b"x")
    (tmp_path / "notes").mkdir()  # not a run's: left alone
    prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["100", "12", "notes"]


def test_the_folder_is_made_of_ids_only(tmp_path: Path) -> None:
    assert folder_of(tmp_path, 4, 51) == tmp_path / "4" / "51"


def test_the_page_is_chromiums_last_argument_and_tls_is_checked_unless_the_site_says_not() -> None:
    argv = chromium_argv("/usr/bin/chromium", "https://x.example/?a=1", Path("o"), Path("p"))
    assert argv[-2:] == ["--", "https://x.example/?a=1"]  # a URL is never read as a flag
    assert "--ignore-certificate-errors" not in argv
    assert "--no-sandbox" not in argv  # Chromium never runs as root, so its sandbox stays
    own_ca = chromium_argv("c", "https://x.example/", Path("o"), Path("p"), verify_tls=False)
    assert "--ignore-certificate-errors" in own_ca


class Counted:
    """A loopback server that counts what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def any(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        return web.Response(body=b"", content_type="image/png")


async def _serve(handler: Counted | None, home: str | None = None) -> tuple[web.AppRunner, int]:
    app = web.Application()
    if home is not None:
        app.router.add_get("/", lambda _r: web.Response(text=home, content_type="text/html"))
    if handler is not None:
        app.router.add_get("/{tail:.*}", handler.any)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


@needs_chromium
async def test_a_hacked_page_cannot_make_chromium_reach_anything_but_the_site(
    tmp_path: Path,
) -> None:
    elsewhere = Counted()  # e.g. sitekeeper's own web UI, or a service on the LAN
    other, other_port = await _serve(elsewhere)
    own = Counted()
    page = (
        f'<img src="/own.png"><img src="http://127.0.0.1:{other_port}/img">'
        f'<iframe src="http://localhost:{other_port}/frame"></iframe>'
        f'<script>fetch("http://127.0.0.1:{other_port}/fetch")</script>'
    )
    site, site_port = await _serve(own, home=page)
    try:
        check = VisualCheck(f"http://127.0.0.1:{site_port}/", 5.0, folder_of(tmp_path, 1, 10))
        before = await check.take_before()
    finally:
        await site.cleanup()
        await other.cleanup()
    assert before.ok and "skipped" not in before.detail, before
    assert "/own.png" in own.paths  # the site's own assets load
    assert elsewhere.paths == []  # nothing else was reached


def test_chromium_may_reach_only_the_sites_host_and_port() -> None:
    argv = chromium_argv("c", "https://shop.example/?a=1", Path("o"), Path("p"))
    assert "--proxy-server=http://127.0.0.1:9" in argv
    assert "--proxy-bypass-list=<-loopback>;shop.example:80;shop.example:443" in argv
    on_port = chromium_argv("c", "http://127.0.0.1:8084/", Path("o"), Path("p"))
    assert "--proxy-bypass-list=<-loopback>;127.0.0.1:8084" in on_port


def test_a_shot_swapped_for_a_link_or_a_fifo_is_not_copied(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not the client's to read")
    link = tmp_path / "link.png"
    link.symlink_to(secret)
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    for out in (link, fifo):
        dest = tmp_path / "kept" / f"{out.name}"
        shot = _keep(out, dest, 0.0)
        assert (shot.path, shot.error) == (None, "Chromium wrote no screenshot")
        assert not dest.exists()
    assert _keep(secret, tmp_path / "kept" / "real.png", 0.0).path is not None


class Watched(Site):
    """A site that notes which Unix users run the Chromium loading it (from /proc, while the
    page is being served)."""

    def __init__(self, port_hint: str) -> None:
        super().__init__()
        self.port_hint = port_hint
        self.uids: set[int] = set()

    async def home(self, request: web.Request) -> web.Response:
        self.uids |= await asyncio.to_thread(self._chromium_uids)
        return await super().home(request)

    def _chromium_uids(self) -> set[int]:
        found = set()
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                uid = proc.stat().st_uid
            except OSError:
                continue
            if b"chromium" in cmdline and self.port_hint.encode() in cmdline:
                found.add(uid)
        return found


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@needs_chromium
@needs_root
async def test_chromium_runs_as_the_browser_user_not_the_drills(tmp_path: Path) -> None:
    """A page that owns the browser runs as sitekeeper-browser, whose rights are not the
    restore drills' (their scratch folders hold restored sites)."""
    browser = pwd.getpwnam("sitekeeper-browser")
    assert browser.pw_uid != pwd.getpwnam("sitekeeper-drill").pw_uid
    watched = Watched("")
    app = web.Application()
    app.router.add_get("/", watched.home)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    watched.port_hint = f"127.0.0.1:{port}"
    try:
        check = VisualCheck(f"http://127.0.0.1:{port}/", 5.0, folder_of(tmp_path, 1, 11))
        check.run_as = "sitekeeper-browser"
        before = await check.take_before()
    finally:
        await runner.cleanup()
    assert before.name == "visual before", before
    assert watched.uids == {browser.pw_uid}


@needs_chromium
@needs_root
async def test_a_missing_browser_user_skips_the_check_saying_how_to_create_it(
    tmp_path: Path,
) -> None:
    check = VisualCheck("http://127.0.0.1:9/", 5.0, tmp_path / "1" / "12")
    check.run_as = "sk-no-such-browser-user"
    before = await check.take_before()
    assert before.ok
    assert before.detail == (
        "skipped: the user 'sk-no-such-browser-user' does not exist on this host: nothing "
        "to run Chromium as (create it: useradd --system --user-group --no-create-home "
        "--shell /usr/sbin/nologin sk-no-such-browser-user)"
    )
    assert await check.judge_after() is None


def test_chromium_may_also_reach_the_host_the_home_page_redirects_to() -> None:
    argv = chromium_argv(
        "c", "http://shop.example/", Path("o"), Path("p"), also=("https://www.shop.example/",)
    )
    assert (
        "--proxy-bypass-list=<-loopback>;shop.example:80;shop.example:443;"
        "www.shop.example:80;www.shop.example:443"
    ) in argv


@needs_chromium
async def test_a_site_redirecting_to_another_host_is_compared_on_that_host(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    """The site's address redirects to another host (a www. or a shop. domain): Chromium
    may load the page where the health check's home page ended up, so the two shots are
    of the page, not twice Chromium's error page (which would always pass)."""
    page, landing = site
    port = int(landing.rsplit(":", 1)[1].strip("/"))

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{port}/")

    app = web.Application()
    app.router.add_get("/", redirect)
    moved = web.AppRunner(app)
    await moved.setup()
    await web.TCPSite(moved, "127.0.0.1", 0).start()
    moved_port = moved.addresses[0][1]
    try:
        address = f"http://127.0.0.1:{moved_port}/"
        check = VisualCheck(address, 5.0, folder_of(tmp_path, 1, 13))
        check.also = (f"http://localhost:{port}/",)
        before = await check.take_before()
        page.banner = BANNER
        verdict = await check.judge_after()
    finally:
        await moved.cleanup()
    assert before.name == "visual before", before
    assert verdict is not None and verdict.review, verdict
