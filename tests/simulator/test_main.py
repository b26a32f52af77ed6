"""``python -m sitekeeper.simulator``: ready line, manifest, CA file and the control API."""

from __future__ import annotations

import csv
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    """The simulator as a process; yields its ``ready`` announcement and a scratch dir."""
    cmd = [
        sys.executable, "-m", "sitekeeper.simulator", "--sites", "6", "--https-fraction", "0.5",
        "--manifest", str(tmp_path / "sites.csv"), "--ca", str(tmp_path / "ca.pem"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the line is there: no sleeping
    try:
        assert line.startswith("ready "), line
        yield json.loads(line[6:]), tmp_path
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.startswith("stats ")


async def test_process_serves_the_manifest_and_obeys_the_control_api(
    simulator: tuple[dict[str, Any], Path],
) -> None:
    ready, tmp = simulator
    with (tmp / "sites.csv").open(newline="") as f:
        urls = [row["url"] for row in csv.DictReader(f)]
    assert len(urls) == 6
    assert ready["sites"] == 6
    assert sum(u.startswith("https://") for u in urls) == 3
    context = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
    control = ready["control"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        for url in urls:
            async with s.get(url, ssl=context) as resp:
                assert resp.status == 200
        async with s.post(f"{control}/sites/2/down") as resp:
            assert resp.status == 200
        async with s.get(urls[2], ssl=context) as resp:
            assert resp.status == 503
        async with s.post(f"{control}/sites/2/down?mode=refuse") as resp:
            assert resp.status == 200
        with pytest.raises(aiohttp.ClientConnectorError):
            await s.get(urls[2], ssl=context)
        async with s.post(f"{control}/sites/2/up") as resp:
            assert resp.status == 200
        async with s.get(urls[2], ssl=context) as resp:
            assert resp.status == 200
        async with s.post(f"{control}/sites/99/up") as resp:
            assert resp.status == 404
        async with s.get(f"{control}/stats?per_site=1") as resp:
            stats = await resp.json()
    assert stats["requests"] == [1, 1, 3, 1, 1, 1]
    assert stats["outcomes"]["503"] == 1
