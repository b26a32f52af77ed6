"""sitekeeper's own YARA rules: each finds its sample, leaves its look-alike alone, and
tells the technician how bad it is and what it means."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yara

from sitekeeper.domain.severity import Severity
from sitekeeper.scan.rules import BUILTIN_DIR, compile_rules
from sitekeeper.scan.scanner import Scanner
from tests.scan.conftest import BENIGN, SAMPLES, rule_of

RULES = compile_rules().rules()
MALICIOUS = sorted(SAMPLES.glob("*.txt"))


def test_the_rule_set_covers_the_well_known_patterns() -> None:
    assert len(RULES) >= 20
    assert {s.severity for s in RULES.values()} == set(Severity) - {Severity.INFO}


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_says_how_bad_and_what_it_means(name: str) -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in BUILTIN_DIR.glob("*.yar"))
    meta = re.search(rf"rule {name}\s*{{\s*meta:(.*?)strings:", source, re.S)
    assert meta, f"{name} has no meta block"
    assert re.search(r'severity = "(critical|high|medium|low)"', meta.group(1))
    description = RULES[name].description
    assert description != name
    assert 20 <= len(description) <= 160
    assert "\n" not in description


def test_the_rules_compile_without_a_warning_that_would_slow_every_scan() -> None:
    for path in BUILTIN_DIR.glob("*.yar"):
        yara.compile(filepath=str(path), error_on_warning=True)


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_has_a_sample_and_a_benign_look_alike(name: str) -> None:
    assert any(rule_of(p) == name for p in MALICIOUS), f"no tests/fixtures/malware/{name}.txt"
    assert (BENIGN / f"{name}.txt").is_file()


@pytest.mark.parametrize("sample", MALICIOUS, ids=lambda p: p.name)
def test_a_sample_is_found_by_its_rule_with_its_severity(scanner: Scanner, sample: Path) -> None:
    result = scanner.scan_file(sample)
    found = {m.rule: m for m in result.matches}
    name = rule_of(sample)
    assert name in found, [m.rule for m in result.matches]
    assert found[name].severity == RULES[name].severity
    assert found[name].hits
    assert result.not_scanned is None


def test_every_string_of_every_rule_is_exercised_by_a_sample(scanner: Scanner) -> None:
    """A rule's alternatives ($request, $body...) each need a sample, or a typo in one
    of them would go unseen (strings a rule only excludes on are the look-alikes' job)."""
    declared: dict[str, set[str]] = {}
    for path in BUILTIN_DIR.glob("*.yar"):
        for rule, body in re.findall(
            r"rule (\w+)\s*\{(.*?)\n\}", path.read_text(encoding="utf-8"), re.S
        ):
            strings, condition = body.split("strings:")[1].split("condition:")
            negated = re.findall(r"\$\w+", " ".join(re.findall(r"not \(([^)]*)\)", condition)))
            declared[rule] = set(re.findall(r"^\s*(\$\w+)\s*=", strings, re.M)) - set(negated)
    seen: dict[str, set[str]] = {}
    for sample in MALICIOUS:
        for match in scanner.rules.compiled.match(data=sample.read_bytes()):  # every hit
            seen.setdefault(match.rule, set()).update(s.identifier for s in match.strings)
    missing = {rule: names - seen.get(rule, set()) for rule, names in declared.items()}
    assert {rule: names for rule, names in missing.items() if names} == {}


@pytest.mark.parametrize("benign", sorted(BENIGN.glob("*.txt")), ids=lambda p: p.name)
def test_a_look_alike_matches_no_rule(scanner: Scanner, benign: Path) -> None:
    assert scanner.scan_file(benign).matches == ()


@pytest.mark.parametrize("sample", sorted(SAMPLES.rglob("*.txt")), ids=lambda p: p.name)
def test_the_samples_are_inert(sample: Path) -> None:
    """Plain text a web server serves as text: no PHP open tag, not executable."""
    text = sample.read_text(encoding="utf-8")
    assert text.startswith(("INERT TEST SAMPLE", "BENIGN LOOK-ALIKE"))
    assert "<?" not in text
    assert not sample.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
