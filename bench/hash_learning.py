"""Hash learning: peak disk, memory and time of learning release archives, streamed.

Builds release archives shaped and sized like the vendors' (Drupal: a ~20 MB tar.gz of
a few thousand public files plus incompressible assets; Joomla: a ~25 MB zip), serves
them from Python's http.server in another process on loopback (so this process measures
only the learner), learns them with the default four downloads at once, and prints:

- seconds, archives, MB downloaded;
- peak bytes spooled to disk (zip only: a tar.gz is parsed as it streams);
- peak Python memory (tracemalloc) and the process's peak RSS;
- the size of the learned knowledge per release on disk.

    .venv/bin/python bench/hash_learning.py [--drupal 8] [--joomla 8]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import multiprocessing
import random
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from _common import command_line

from sitekeeper.cms.drupal.hashes import learn_drupal
from sitekeeper.cms.joomla.hashes import learn_joomla
from sitekeeper.intel.hash_store import HashKnowledge
from sitekeeper.intel.hashes import HashSources, Learner

PUBLIC_FILES = 2500  # js/css/txt in a Drupal 10 core tarball, roughly
FILLER = 15 * 1024 * 1024  # incompressible assets (fonts, images, bundles)


def _files(version: str, rng: random.Random) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i in range(PUBLIC_FILES):
        changed = rng.random() < 0.05  # a release changes a few percent of its files
        body = f"/* file {i} {version if changed else 'stable'} */".encode() * 20
        files[f"core/modules/m{i % 80}/js/file{i}.js"] = body
    files["core/lib/Drupal.php"] = f"<?php const VERSION = '{version}';".encode()
    files["core/assets/vendor/big.bundle.js"] = rng.randbytes(FILLER)
    return files


def drupal_tarball(version: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in _files(version, random.Random(version)).items():
            info = tarfile.TarInfo(f"drupal-{version}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def joomla_zip(version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _files(version, random.Random(version)).items():
            archive.writestr(name.replace("core/", "media/"), data)
        archive.writestr("media/vendor/more.js", random.Random(1).randbytes(8 * 1024 * 1024))
    return buffer.getvalue()


def build(root: Path, base: str, drupal: int, joomla: int) -> int:
    """Write archives and feeds under ``root``; returns the bytes to download."""
    total = 0
    releases = []
    (root / "files").mkdir(parents=True)
    for i in range(drupal):
        version = f"10.1.{i}"
        data = drupal_tarball(version)
        total += len(data)
        (root / "files" / f"drupal-{version}.tar.gz").write_bytes(data)
        link = f"{base}/files/drupal-{version}.tar.gz"
        releases.append(
            f"<release><name>drupal {version}</name><version>{version}</version>"
            f"<status>published</status><download_link>{link}</download_link>"
            f"<date>1706745600</date><mdhash>{hashlib.md5(data).hexdigest()}</mdhash>"
            f"<filesize>{len(data)}</filesize></release>"
        )
    history = root / "release-history" / "drupal"
    history.mkdir(parents=True)
    (history / "current").write_text(
        "<?xml version='1.0'?><project><title>Drupal core</title><short_name>drupal"
        "</short_name><project_status>published</project_status><releases>"
        + "".join(releases)
        + "</releases></project>"
    )
    updates = []
    for i in range(joomla):
        version = f"4.4.{i}"
        data = joomla_zip(version)
        total += len(data)
        (root / "files" / f"joomla-{version}.zip").write_bytes(data)
        updates.append(
            f"<update><name>Joomla</name><element>joomla</element><type>file</type>"
            f"<version>{version}</version><downloads><downloadurl type='full' format='zip'>"
            f"{base}/files/joomla-{version}.zip</downloadurl></downloads>"
            f"<sha512>{hashlib.sha512(data).hexdigest()}</sha512>"
            "<targetplatform name='joomla' version='4.[01234]' /></update>"
        )
    (root / "list.xml").write_text("<updates>" + "".join(updates) + "</updates>")
    return total


def learn_in_child(home: Path, base: str, trace: bool) -> tuple[float, int, int, int, int]:
    """Learn in a fresh process, so its peak RSS is the learner's alone (KiB last)."""
    result = asyncio.run(learn(home, base, trace))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return (*result, hwm)


async def learn(home: Path, base: str, trace: bool) -> tuple[float, int, int, int]:
    knowledge = HashKnowledge.in_home(home)
    sources = HashSources(
        vendor={
            "drupal_updates_url": f"{base}/release-history",
            "joomla_update_url": f"{base}/list.xml",
        }
    )
    async with Learner(knowledge, sources) as learner:
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        learned = len(await learn_drupal(learner)) + len(await learn_joomla(learner))
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return seconds, learned, learner.spool.peak, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drupal", type=int, default=8)
    parser.add_argument("--joomla", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hash-bench-") as tmp:
        root = Path(tmp) / "vendor"
        root.mkdir()
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", root],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().split(" port ")[1].split()[0])
            base = f"http://127.0.0.1:{port}"
            total = build(root, base, args.drupal, args.joomla)
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                seconds, learned, spool, _, rss = pool.apply(
                    learn_in_child, (Path(tmp) / "home", base, False)
                )
            with multiprocessing.get_context("spawn").Pool(1) as pool:  # again, traced
                *_, peak, _ = pool.apply(learn_in_child, (Path(tmp) / "home2", base, True))
        finally:
            server.terminate()
            server.wait()
        kept = sum(p.stat().st_size for p in (Path(tmp) / "home").rglob("*.json.gz"))
    mib = 1024 * 1024
    print(f"command: {command_line()}")
    print(f"releases learned     {learned} ({args.drupal} tar.gz + {args.joomla} zip)")
    print(f"downloaded           {total / mib:.0f} MiB in {seconds:.1f} s")
    print(f"peak spooled to disk {spool / mib:.1f} MiB (zip only; tar.gz streams)")
    print(f"peak Python memory   {peak / mib:.1f} MiB (tracemalloc, in a second run)")
    print(f"peak RSS             {rss / 1024:.0f} MiB (the learning process, imports included)")
    print(f"knowledge on disk    {kept / 1024 / max(learned, 1):.0f} KiB per release")


if __name__ == "__main__":
    main()
