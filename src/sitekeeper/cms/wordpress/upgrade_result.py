"""The upgrader program's one JSON line, read as what it is: text a client's server printed.

Plugins print during WordPress's load, a hacked site can print anything, and a fatal
error may cut the program short: the result is the last line after a marker only this
run knows, parsed defensively (bounded, typed, every string cleaned), and a missing or
malformed result is a failure that says what the program's output ended with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sitekeeper.domain.untrusted import clean, shown
from sitekeeper.remote.ssh import CommandResult

MAX_LINE = 256 * 1024
MAX_MESSAGES = 50
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class ProgramResult:
    """What the upgrader program said about its run."""

    ok: bool
    error: str
    stage: str
    messages: tuple[str, ...]
    values: dict[str, int | bool | str]  # the mode's own facts (db_after, active_after...)


def parse(result: CommandResult, marker: str) -> ProgramResult:
    """The program's result; a failure in our words when there is none."""
    at = result.stdout.rfind(marker.encode())
    if at < 0:
        said = shown(result.stderr or result.stdout, 300)
        return ProgramResult(
            False, f"the upgrader printed no result (exit {result.exit_status}): {said}", "", (), {}
        )
    line = result.stdout[at + len(marker) :].split(b"\n", 1)[0][:MAX_LINE]
    try:
        data: Any = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return ProgramResult(False, "the upgrader's result is not a JSON object", "", (), {})
    messages = data.get("messages")
    kept = [m for m in messages if isinstance(m, str)] if isinstance(messages, list) else []
    values: dict[str, int | bool | str] = {}
    for key, value in data.items():
        if key in ("ok", "error", "stage", "messages") or not isinstance(key, str):
            continue
        if isinstance(value, bool | int):
            values[clean(key, 40)] = value
        elif isinstance(value, str):
            values[clean(key, 40)] = clean(value, MAX_TEXT)
    return ProgramResult(
        ok=data.get("ok") is True and result.exit_status == 0,
        error=clean(str(data.get("error") or ""), MAX_TEXT),
        stage=clean(str(data.get("stage") or ""), 40),
        messages=tuple(clean(m, MAX_TEXT) for m in kept[-MAX_MESSAGES:] if clean(m, MAX_TEXT)),
        values=values,
    )
