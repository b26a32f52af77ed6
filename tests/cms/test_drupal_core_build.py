"""The Drupal core build sources without a site: Composer on this host driven against a
stand-in ``composer`` that replays what Composer 2 prints and exits with (no Composer or
packagist here), the confinement of a hostile site's composer.json, and the build check.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from sitekeeper.cms.drupal import composer_build, core_build
from sitekeeper.errors import InvalidFeed
from tests.updates.drupal_core_builds import lock

SITE_JSON = {
    "name": "drupal/legacy-project",
    "require": {"drupal/core-recommended": "^10.1", "drush/drush": "^12"},
    "repositories": [{"type": "composer", "url": "https://packages.drupal.org/8"}],
    "config": {"sort-packages": True, "allow-plugins": {"evil/plugin": True}},
    "extra": {"installer-paths": {"core": ["type:drupal-core"]}},
}
# Composer 2's words when the constraints allow no such release (exit 2)
UNRESOLVABLE = """Loading composer repositories with package information
Updating dependencies
Your requirements could not be resolved to an installable set of packages.

  Problem 1
    - Root composer.json requires drupal/core-recommended ^10.1 -> satisfiable by drupal/core-recommended[10.1.0, ..., 10.1.6].
"""  # noqa: E501
# A stand-in composer: records its arguments and composer.json, then either writes a
# built tree (core/, vendor/ with an executable drush, the lock) or fails as Composer does.
FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "$RECORD/argv"
cp composer.json "$RECORD/composer.json"
env > "$RECORD/env"
if [ "$MODE" = fail ]; then cat "$RECORD/said"; exit 2; fi
mkdir -p core/lib vendor/bin
printf "<?php\\nclass Drupal {\\n  const VERSION = '%s';\\n}\\n" "$VERSION" > core/lib/Drupal.php
printf '#!/usr/bin/env php\\n<?php echo "drush";\\n' > vendor/bin/drush
chmod 755 vendor/bin/drush
cp "$RECORD/lock" composer.lock
echo "Writing lock file"
"""


def fake_composer(tmp_path: Path, mode: str, version: str = "10.1.7") -> Path:
    """A composer script in ``tmp_path`` (its environment is fixed by the build, so its
    settings are baked into the script)."""
    record = tmp_path / "record"
    record.mkdir()
    (record / "said").write_text(UNRESOLVABLE)
    (record / "lock").write_bytes(lock(version))
    script = tmp_path / "composer"
    script.write_text(
        FAKE.replace("#!/bin/sh\n", f"#!/bin/sh\nRECORD={record}\nMODE={mode}\nVERSION={version}\n")
    )
    script.chmod(0o755)
    return script


def inputs() -> composer_build.Inputs:
    return composer_build.Inputs(json.dumps(SITE_JSON).encode(), lock("10.1.6"))


async def test_composer_builds_core_vendor_and_the_lock_confined_and_without_scripts(
    tmp_path: Path,
) -> None:
    composer = fake_composer(tmp_path, "ok")
    dest = tmp_path / "build.zip"
    said = await composer_build.build(str(composer), inputs(), "10.1.7", dest)
    assert "built by Composer" in said
    assert core_build.check_build("10.1.7", dest) == (
        "a core build: core/lib/Drupal.php and composer.lock say drupal/core 10.1.7"
    )
    with zipfile.ZipFile(dest) as built:
        names = set(built.namelist())
        drush = built.getinfo("vendor/bin/drush")
    assert {"core/lib/Drupal.php", "vendor/bin/drush", "composer.lock"} <= names
    assert not any(n.startswith(("composer.json", ".sk")) for n in names)
    assert (drush.external_attr >> 16) & 0o111  # stays executable
    record = tmp_path / "record"
    argv = (record / "argv").read_text().split("\n")
    assert argv[:3] == ["update", "drupal/core-*", "--with-all-dependencies"]
    assert "--no-scripts" in argv
    used = json.loads((record / "composer.json").read_text())
    assert used["config"]["allow-plugins"] == composer_build.PLUGINS  # not evil/plugin
    assert used["require"] == SITE_JSON["require"]
    env = dict(
        line.split("=", 1) for line in (record / "env").read_text().splitlines() if "=" in line
    )
    assert env["COMPOSER_HOME"].startswith(env["HOME"]) and "sk-composer-" in env["HOME"]
    assert env["PATH"] == composer_build.PATH


async def test_composer_failing_is_a_refusal_with_what_it_said(tmp_path: Path) -> None:
    composer = fake_composer(tmp_path, "fail")
    with pytest.raises(InvalidFeed) as caught:
        await composer_build.build(str(composer), inputs(), "10.1.7", tmp_path / "build.zip")
    assert "failed (exit 2)" in str(caught.value)
    assert "could not be resolved to an installable set of packages" in str(caught.value)


async def test_a_composer_build_of_another_release_fails_the_build_check(tmp_path: Path) -> None:
    """The site's constraints stopped Composer at 10.1.6: not the 10.1.7 asked for."""
    composer = fake_composer(tmp_path, "ok", version="10.1.6")
    dest = tmp_path / "build.zip"
    await composer_build.build(str(composer), inputs(), "10.1.7", dest)
    with pytest.raises(InvalidFeed, match=r"not Drupal 10\.1\.7"):
        core_build.check_build("10.1.7", dest)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"repositories": [{"type": "path", "url": "/etc"}]}, "not a Composer one over https"),
        ({"repositories": [{"type": "composer", "url": "http://x"}]}, "over https"),
        ({"repositories": [{"type": "vcs", "url": "https://x/y.git"}]}, "not a Composer one"),
        ({"config": {"vendor-dir": "/home/sitekeeper"}}, "sets config vendor-dir"),
        ({"config": {"bin-dir": "../../bin"}}, "sets config bin-dir"),
        ({"extra": {"installer-paths": {"../../x/{$name}": ["type:drupal-module"]}}}, "leaves"),
        ({"extra": {"installer-paths": {"/tmp/{$name}": ["type:drupal-module"]}}}, "leaves"),
    ],
)
def test_a_site_composer_json_that_could_reach_this_host_is_refused(
    change: dict[str, object], why: str
) -> None:
    with pytest.raises(InvalidFeed, match=why):
        composer_build.confined(json.dumps({**SITE_JSON, **change}).encode())


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'{"config": 3}'])
def test_a_composer_json_that_is_not_one_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidFeed):
        composer_build.confined(data)


def build_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    return path


GOOD = {
    "core/lib/Drupal.php": b"<?php\nclass Drupal {\n  const VERSION = '10.1.7';\n}\n",
    "vendor/autoload.php": b"<?php\n",
    "composer.lock": lock("10.1.7"),
}


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"sites/default/settings.php": b"<?php $databases = [];"}, "sites/default/settings.php"),
        ({"index.php": b"<?php"}, "index.php"),
        ({"composer.lock": lock("10.1.7", core="10.1.6")}, "locks drupal/core 10.1.6"),
        ({"composer.lock": b"{not json"}, "not JSON"),
    ],
)
def test_a_core_build_with_anything_but_core_vendor_and_the_lock_is_refused(
    tmp_path: Path, extra: dict[str, bytes], why: str
) -> None:
    archive = build_zip(tmp_path / "b.zip", {**GOOD, **extra})
    with pytest.raises(InvalidFeed, match=why):
        core_build.check_build("10.1.7", archive)


def test_a_core_build_without_a_lock_is_refused(tmp_path: Path) -> None:
    members = {k: v for k, v in GOOD.items() if k != "composer.lock"}
    with pytest.raises(InvalidFeed, match=r"no composer\.lock"):
        core_build.check_build("10.1.7", build_zip(tmp_path / "b.zip", members))


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b"ab" * 32 + b"  drupal-core-10.1.7.zip\n", True),
        (b"AB" * 32, True),
        (b"not a digest", False),
        (b"", False),
    ],
)
def test_the_published_sha256_is_read_as_sha256sum_prints_it(body: bytes, ok: bool) -> None:
    if ok:
        assert core_build.sha256_line("u", body).digests == {"sha256": "ab" * 32}
    else:
        with pytest.raises(InvalidFeed):
            core_build.sha256_line("u", body)


def test_without_a_build_url_the_plan_names_composer_and_what_it_is_checked_against() -> None:
    from sitekeeper.domain.updates import UpdateItem

    item = UpdateItem("core", "drupal", "10.1.6", "10.1.7", "drupal")
    source = core_build.package_source(item, {})
    assert source.where.startswith("built on this host: composer update drupal/core-*")
    assert "composer.lock" in source.checked_against
    prebuilt = core_build.package_source(
        item, {"drupal_core_build_url": "https://b.example/core-{version}.zip"}
    )
    assert prebuilt.where == "as named by the build's published sha256 " \
        "(https://b.example/core-10.1.7.zip.sha256)"  # fmt: skip
