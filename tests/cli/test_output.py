"""What the CLI prints of text a hacked site chose: no escape reaches the terminal, no markup
is read, one value stays on one line -- on a terminal, piped and as JSON."""

from __future__ import annotations

import json
import re

import pytest

from sitekeeper.cli import output

HOSTILE = [
    "Evil \x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b[2J\x1b]0;owned\x07",
    "[link=file:///etc/passwd]x[/link] [bold red]red[/bold red]",
    "nl\nINJECTED\tcell",
    "\x9b2J \u202egnp.exe \u2028INJECTED",
]
SGR = re.compile(r"\x1b\[[0-9;]*m")  # Rich's own styling, the only escape it may write


def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "_terminal", lambda: True)
    monkeypatch.setenv("FORCE_COLOR", "1")  # Rich renders as for a colour terminal
    monkeypatch.setenv("COLUMNS", "400")


def _no_site_escape(text: str) -> None:
    rest = SGR.sub("", text)
    assert "\x1b" not in rest
    assert "\x9b" not in rest and "\u202e" not in rest and "\u2028" not in rest


def test_piped_table_keeps_one_row_per_line_and_no_escape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.print_table(["name", "version"], [[h, h] for h in HOSTILE])

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(HOSTILE)  # "nl\nINJECTED" did not split its row
    assert all(line.count("\t") == 1 for line in lines)
    for line in lines:
        _no_site_escape(line)
        assert "\x07" not in line
    assert "nl\\nINJECTED\\tcell" in lines[3]  # shown, not acted on
    assert "\\x1b]52;c;" in lines[1]


def test_terminal_table_prints_markup_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _terminal(monkeypatch)
    output.print_table(["name"], [[h] for h in HOSTILE])
    output.print_fields([("version", HOSTILE[1]), ("name", HOSTILE[0])])

    printed = capsys.readouterr().out
    _no_site_escape(printed)
    assert "\x1b]8;" not in printed  # no hyperlink was made of [link=...]
    plain = SGR.sub("", printed)
    assert plain.count("[link=file:///etc/passwd]x[/link] [bold red]red[/bold red]") == 2
    assert "\\x1b]0;owned\\x07" in plain


def test_notes_and_errors_are_one_visible_line(capsys: pytest.CaptureFixture[str]) -> None:
    output.error(f"reading the database failed: {HOSTILE[0]}\nINFO task 99: ok")
    output.note(f"installed: {HOSTILE[2]}")

    err = capsys.readouterr().err
    assert err.count("\n") == 2
    assert "\x1b" not in err
    assert "error: reading the database failed: Evil \\x1b]52;c;" in err
    assert "\\nINFO task 99: ok" in err


def test_json_escapes_what_a_terminal_acts_on_and_keeps_the_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.print_json({"names": HOSTILE})

    printed = capsys.readouterr().out
    for char in ("\x1b", "\x07", "\x9b", "\u202e", "\u2028", "\n\tcell"):
        assert char not in printed
    assert json.loads(printed) == {"names": HOSTILE}  # the same data, escaped, not changed
