"""Scan fixtures: the built-in rule set, compiled once, and the inert samples' folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitekeeper.scan.rules import compile_rules
from sitekeeper.scan.scanner import Scanner

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "malware"
BENIGN = SAMPLES / "benign"


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    return Scanner(compile_rules())


def rule_of(sample: Path) -> str:
    """``php_eval_decoded_input--variant.txt`` -> ``php_eval_decoded_input``."""
    return sample.stem.split("--")[0]
