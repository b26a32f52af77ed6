"""Read literal ``define()`` constants, ``$variable = ...;`` and class members from PHP files.

CMS config files (``wp-config.php``, ``configuration.php``, ``settings.php``)
are code, and we must never run a site's code to read them. A tiny lexer
skips comments and strings properly (a commented-out ``define`` must not win,
and ``//`` inside a password is not a comment), then only literal values are
taken. Anything computed (``getenv(...)``, concatenation) is reported as absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sitekeeper.errors import UsageError

MAX_SOURCE = 512 * 1024  # a config file is a few KB; more means hostile or not a config

TokenKind = Literal["string", "word", "variable", "punct"]
Scalar = str | int | float | bool | None

_SINGLE_ESCAPES = {"\\": "\\", "'": "'"}
_DOUBLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f",
    "\\": "\\", "$": "$", '"': '"', "0": "\0",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    """A lexical token; only what the matcher needs."""

    kind: TokenKind
    text: str
    literal: bool = True  # False for a double-quoted string with $interpolation


@dataclass
class PhpConfig:
    """Literal constants (first ``define`` wins, as in PHP) and variables (last wins)."""

    constants: dict[str, Scalar] = field(default_factory=dict)
    variables: dict[str, Scalar] = field(default_factory=dict)

    def constant(self, name: str) -> str | None:
        """A constant as text, or None if it is absent or not a literal."""
        value = self.constants.get(name)
        return None if value is None else _as_text(value)

    def variable(self, name: str) -> str | None:
        """A variable (without ``$``) as text, or None if absent or not a literal."""
        value = self.variables.get(name)
        return None if value is None else _as_text(value)


def parse_php_config(source: str | bytes) -> PhpConfig:
    """Literal constants and variables of a PHP config file; UsageError if it is too big."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if len(source) > MAX_SOURCE:
        raise UsageError(f"PHP config is larger than {MAX_SOURCE} bytes; not parsed")
    tokens = tokenize(source)
    config = PhpConfig()
    for i in range(len(tokens)):
        _match_define(tokens, i, config)
        _match_assignment(tokens, i, config)
    return config


def tokenize(source: str) -> list[Token]:
    """Tokens of PHP code; comments, whitespace and inline HTML are dropped."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    in_php = False
    while i < n:
        if not in_php:
            start = source.find("<?php", i)
            if start < 0:
                break
            i, in_php = start + 5, True
            continue
        char = source[i]
        if char.isspace():
            i += 1
        elif source.startswith("?>", i):
            i, in_php = i + 2, False
        elif char == "#" or source.startswith("//", i):
            i = _end_of_line_comment(source, i)
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char in "'\"":
            token, i = _string(source, i)
            tokens.append(token)
        elif char == "$" and i + 1 < n and (source[i + 1].isalpha() or source[i + 1] == "_"):
            j = _word_end(source, i + 1)
            tokens.append(Token("variable", source[i + 1 : j]))
            i = j
        elif char.isalnum() or char in "_.\\":
            j = _word_end(source, i)
            tokens.append(Token("word", source[i:j]))
            i = j
        else:
            tokens.append(Token("punct", char))
            i += 1
    return tokens


# Class members: the keyword, and the token kind its name must have.
_MEMBER_NAMES: dict[str, TokenKind] = {"const": "word", "public": "variable", "var": "variable"}


def class_values(source: bytes | str) -> dict[str, Scalar]:
    """``const NAME = literal;`` and ``public|var $name = literal;`` of PHP classes.

    Joomla keeps its version and configuration as class members, and Drupal its
    version as a class constant, which ``parse_php_config`` (statement-level
    ``$x = ...``) does not read. Only strings and whole numbers count as literals
    here; the first declaration of a name wins.
    """
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    tokens = tokenize(text[:MAX_SOURCE])
    values: dict[str, Scalar] = {}
    for i, token in enumerate(tokens[:-3]):
        name_kind = _MEMBER_NAMES.get(token.text.lower()) if token.kind == "word" else None
        if name_kind is None:
            continue
        name, eq, value, end = tokens[i + 1 : i + 5] if i + 4 < len(tokens) else (None,) * 4
        if name and name.kind == name_kind and eq and eq.text == "=" and end and end.text == ";":
            values.setdefault(name.text, _member_literal(value))
    return values


def _member_literal(token: Token | None) -> Scalar:
    if token is None:
        return None
    if token.kind == "string":
        return token.text if token.literal else None
    if token.kind == "word" and token.text.lstrip("-").isdigit():
        return int(token.text)
    return None


def _end_of_line_comment(source: str, i: int) -> int:
    """A line comment ends at the newline or at ``?>`` (PHP's rule)."""
    newline = source.find("\n", i)
    close = source.find("?>", i)
    ends = [p for p in (newline, close) if p >= 0]
    return min(ends) if ends else len(source)


def _word_end(source: str, i: int) -> int:
    while i < len(source) and (source[i].isalnum() or source[i] in "_.\\"):
        i += 1
    return i


def _string(source: str, i: int) -> tuple[Token, int]:
    quote = source[i]
    escapes = _SINGLE_ESCAPES if quote == "'" else _DOUBLE_ESCAPES
    out: list[str] = []
    literal = True
    j = i + 1
    while j < len(source):
        char = source[j]
        if char == "\\" and j + 1 < len(source) and source[j + 1] in escapes:
            out.append(escapes[source[j + 1]])
            j += 2
            continue
        if char == quote:
            return Token("string", "".join(out), literal), j + 1
        if quote == '"' and char == "$" and j + 1 < len(source):
            nxt = source[j + 1]
            literal = literal and not (nxt.isalpha() or nxt in "_{")
        if quote == '"' and char == "{" and source.startswith("{$", j):
            literal = False
        out.append(char)
        j += 1
    return Token("string", "".join(out), False), j  # unterminated: not trustworthy


def _value(token: Token) -> tuple[bool, Scalar]:
    """(is a literal, its value) for a token that could be a literal value."""
    if token.kind == "string":
        return token.literal, token.text
    if token.kind == "word":
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return True, lowered == "true"
        if lowered == "null":
            return True, None
        try:
            return True, int(token.text)
        except ValueError:
            pass
        try:
            return True, float(token.text)
        except ValueError:
            return False, None
    return False, None


def _match_define(tokens: list[Token], i: int, config: PhpConfig) -> None:
    """``define ( 'NAME' , literal [, ...] )`` -- the literal must be the whole argument."""
    if tokens[i].kind != "word" or tokens[i].text.lower().lstrip("\\") != "define":
        return
    window = tokens[i + 1 : i + 6]
    if len(window) < 5 or [t.text for t in window[0:1]] != ["("]:
        return
    name, comma, value, after = window[1], window[2], window[3], window[4]
    if name.kind != "string" or comma.text != "," or after.text not in (")", ","):
        return
    if name.text in config.constants:
        return  # PHP keeps the first definition and warns about the rest
    is_literal, literal = _value(value)
    if is_literal or value.kind == "string":
        config.constants[name.text] = literal if is_literal else None


def _match_assignment(tokens: list[Token], i: int, config: PhpConfig) -> None:
    """``$name = literal ;`` at statement level (anything computed is recorded as None)."""
    if tokens[i].kind != "variable":
        return
    if i > 0 and tokens[i - 1].text not in (";", "{", "}"):
        return
    window = tokens[i + 1 : i + 4]
    if len(window) < 2 or window[0].text != "=":
        return
    is_literal, literal = _value(window[1])
    complete = len(window) == 3 and window[2].text == ";"
    config.variables[tokens[i].text] = literal if is_literal and complete else None


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)
