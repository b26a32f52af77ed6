"""Change literal settings in a restored site's PHP config file, without running it.

A restore drill points the restored copy of a site at a scratch database. The
file came from the client's server, possibly hacked, so every edit here is
checked afterwards by reading the result back with the same lexer the
inventory uses (``php_config``): a value that did not become ours is refused
by the caller, never left pointing at the live database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sitekeeper.cms.php_config import tokenize

Value = str | bool | int

# A PHP literal as config files write them: a quoted string (escapes allowed), or a word.
_LITERAL = r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[\w.-]+)"


def php_string(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def php_literal(value: Value) -> str:
    """A PHP literal of a string, a boolean or a whole number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return php_string(value)


def set_defines(source: str, values: Mapping[str, Value]) -> str:
    """``define( 'NAME', literal )`` replaced for each of ``values``; a constant not
    defined by a literal is defined right after the first ``<?php`` (PHP keeps the
    first definition, so ours wins over any later one). ValueError without ``<?php``."""
    text = source
    added: list[str] = []
    for name, value in values.items():
        pattern = re.compile(
            r"define\s*\(\s*(['\"])" + re.escape(name) + r"\1\s*,\s*" + _LITERAL + r"\s*\)",
            re.IGNORECASE,
        )
        replacement = f"define( '{name}', {php_literal(value)} )"
        text, count = pattern.subn(_constant(replacement), text)
        if count == 0:
            added.append(f"{replacement};")
    if added:
        head, sep, tail = text.partition("<?php")
        if not sep:
            raise ValueError("no <?php opening tag")
        text = head + "<?php\n" + "\n".join(added) + "\n" + tail
    return text


def set_members(source: str, class_name: str, values: Mapping[str, Value]) -> str:
    """``public|var $name = literal;`` of ``class_name`` replaced for each of ``values``;
    a member that is not declared is added at the top of the class. ValueError if the
    class is not there."""
    opening = re.compile(r"\bclass\s+" + re.escape(class_name) + r"\b[^{;]*\{", re.IGNORECASE)
    text = source
    added: list[str] = []
    for name, value in values.items():
        pattern = re.compile(
            r"\b(public|var)(\s+\$" + re.escape(name) + r"\s*=\s*)" + _LITERAL + r"(\s*;)"
        )
        text, count = pattern.subn(_member(php_literal(value)), text)
        if count == 0 and not re.search(r"\$" + re.escape(name) + r"\b", text):
            added.append(f"\tpublic ${name} = {php_literal(value)};")
    if added:
        found = opening.search(text)
        if found is None:
            raise ValueError(f"no class {class_name}")
        text = text[: found.end()] + "\n" + "\n".join(added) + text[found.end() :]
    return text


def append_code(source: str, code: str) -> str:
    """``code`` (PHP statements) run at the end of the file: after its last statement,
    in PHP mode whether or not the file closes its ``<?php``."""
    closes, opens = source.rfind("?>"), source.rfind("<?php")
    reopen = "<?php\n" if closes > opens else ""
    return source.rstrip("\n") + "\n" + reopen + code.rstrip("\n") + "\n"


def words(source: str) -> set[str]:
    """The bare words of the file's PHP code, lower-cased (comments and strings left out):
    what tells a config file that only sets values from one that runs code."""
    return {t.text.lower() for t in tokenize(source) if t.kind == "word"}


def _member(literal: str) -> Callable[[re.Match[str]], str]:
    """Keeps the declaration, puts ``literal`` as its value."""
    return lambda match: match.group(1) + match.group(2) + literal + match.group(3)


def _constant(replacement: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement function (a string would have its backslashes interpreted)."""
    return lambda _match: replacement
