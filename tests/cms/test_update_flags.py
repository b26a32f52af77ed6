"""Reading the maintenance flags Joomla and Drupal keep outside files (``$offline`` in
configuration.php; the state ``system.maintenance_mode`` as drush prints it)."""

from __future__ import annotations

import pytest

from sitekeeper.cms.drupal.drush import maintenance, maintenance_on
from sitekeeper.cms.joomla.offline import is_offline


@pytest.mark.parametrize(
    ("line", "offline"),
    [
        ("public $offline = false;", False),
        ("public $offline = true;", True),
        ("public $offline = '1';", True),
        ("public $offline = 0;", False),
        ("\tvar $offline = TRUE ;", True),
        ("public $offline_message = 'true';", False),
    ],
)
def test_joomlas_offline_flag(line: str, offline: bool) -> None:
    assert is_offline(f"<?php\nclass JConfig {{\n{line}\n}}\n".encode()) is offline


@pytest.mark.parametrize(
    ("printed", "on"),
    [("1\n", True), ("0\n", False), ("", False), ("true", True), ("null\n", False), ("x", None)],
)
def test_drupals_maintenance_state_as_drush_prints_it(printed: str, on: bool | None) -> None:
    assert maintenance_on(printed) is on


def test_maintenance_is_set_as_an_integer() -> None:
    assert maintenance(True)[-2:] == ["1", "--input-format=integer"]
