"""Refuse database dumps that would make the ``mysql`` client or the server do more than load data.

A dump is whatever the client's server printed when asked for ``mysqldump``;
on a hacked server that can be anything. The ``mysql`` client interprets
commands of its own inside its input (``\\!`` and ``system`` run a shell,
``tee`` writes files, ``source`` reads them, ``connect`` goes elsewhere), and
the SQL itself may reach beyond the site's tables (``GRANT``, ``DROP
DATABASE``, ``USE``). Loading always runs with client commands disabled
(``--binary-mode``) and with the least database rights; this scanner is the
first wall and gives the clear finding.

It reads the dump once, streaming, as the client reads it: line by line,
tracking strings, backtick identifiers, comments (``/*!…*/`` executable
comments are code to the client), the delimiter, and the statement buffer,
so a backslash command or a line-leading command word is found exactly where
the client would act on it. Statements (split where the server would split
them) are classified by their first words. MariaDB's own first line
``/*M!999999\\- enable the sandbox mode */`` (``\\-`` only restricts the client)
is accepted.

With ``rewrite``, a copy is written in which ``DEFINER=user@host`` clauses read
``DEFINER=CURRENT_USER``, so a scratch user with no right to act as others can
load triggers and views; only clauses made of balanced quotes without
backslashes are rewritten, so the copy reads the same to the client.

Over 400 lines because it is one scanner whose states (strings, comments, delimiters,
client commands) must read a dump exactly as the client does; split, they would drift.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sitekeeper.domain.untrusted import shown

LINE_LIMIT = 16 * 1024 * 1024  # a longer line is read in pieces (never loaded whole)
MAX_FINDINGS = 20
_HEAD = 512  # bytes of a statement kept to classify it
_NEVER = 900000  # /*!999999 … */ is ignored by every server version

# The mysql client's own commands (MariaDB and MySQL), in their long form.
_COMMANDS = frozenset(
    {
        "?",
        "charset",
        "clear",
        "connect",
        "delimiter",
        "edit",
        "ego",
        "exit",
        "go",
        "help",
        "nopager",
        "notee",
        "nowarning",
        "pager",
        "print",
        "prompt",
        "quit",
        "rehash",
        "resetconnection",
        "query_attributes",
        "sandbox",
        "source",
        "ssl_session_data_print",
        "status",
        "system",
        "tee",
        "use",
        "warnings",
    }
)
_HARMLESS = frozenset({"sandbox"})  # only restricts the client
_DELIMITERS = (b";", b";;", b"$$", b"//")

_SPACE = b" \t\r\n\x0b\x0c"
_STRING = {  # a whole string on this line (escapes as the client reads them)
    ord("'"): re.compile(rb"'[^'\\]*(?:\\.[^'\\]*)*'", re.DOTALL),
    ord('"'): re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL),
    ord("`"): re.compile(rb"`[^`]*`"),
}
_STRING_TAIL = {  # the rest of a string that began on an earlier line
    ord("'"): re.compile(rb"[^'\\]*(?:\\.[^'\\]*)*'", re.DOTALL),
    ord('"'): re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL),
    ord("`"): re.compile(rb"[^`]*`"),
}
# Whole lines of plain code and whole strings only (most lines of a dump): nothing to decide
# in them. Possessive, so a line that is not plain fails at once instead of backtracking.
_PLAIN_LINE = (
    rb"(?:[^\\'\"`#;/*\-\n]++|'[^'\\\n]*+(?:\\[^\n][^'\\\n]*+)*+'"
    rb"|\"[^\"\\\n]*+(?:\\[^\n][^\"\\\n]*+)*+\"|`[^`\n]*+`|-(?!-)|/(?!\*)|\*(?!/))*+\n"
)
_PLAIN_LINES = re.compile(rb"(?:" + _PLAIN_LINE + rb")*+")
_DEFINER_WORD = re.compile(rb"definer", re.IGNORECASE)
_BLOCK = 1024 * 1024
_EXEC = re.compile(rb"/\*M?!(\d*)")
_WORD = re.compile(rb"[ \t]*([A-Za-z_?]+)")
_DELIMITER_ARG = re.compile(rb"[ \t]*delimiter[ \t]+(\S+)", re.IGNORECASE)
_DEFINER = re.compile(
    rb"DEFINER\s*=\s*(?:`[^`\n]*`|'[^'\\\n]*'|[A-Za-z0-9_$.%-]+)"
    rb"\s*@\s*(?:`[^`\n]*`|'[^'\\\n]*'|[A-Za-z0-9_$.%-]+)",
    re.IGNORECASE,
)
_CURRENT_USER = b"DEFINER=CURRENT_USER"

# Statements a site's dump never holds: they reach beyond the site's own tables.
_FORBIDDEN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), why)
    for pattern, why in (
        (r"^(GRANT|REVOKE)\b", "changes privileges"),
        (
            r"^(CREATE|DROP|ALTER|RENAME)\s+(OR\s+REPLACE\s+)?(DATABASE|SCHEMA|USER|ROLE)\b",
            "acts on databases or accounts",
        ),
        (r"^USE\b", "switches to another database"),
        (r"^SET\s+(PASSWORD|ROLE|DEFAULT\s+ROLE)\b", "acts on accounts"),
        (r"^SET\b.*(\b(GLOBAL|PERSIST|PERSIST_ONLY)\s|@@(GLOBAL|PERSIST)\.)", "changes the server"),
        (r"^(INSTALL|UNINSTALL)\s+(PLUGIN|SONAME|COMPONENT)\b", "loads server code"),
        (r"^LOAD\s+(DATA|XML)\b", "reads files"),
        (r"^SELECT\b.*\bINTO\s+(OUTFILE|DUMPFILE)\b", "writes files"),
        (
            r"^(SHUTDOWN|KILL|FLUSH|RESET|PURGE|CHANGE\s+(MASTER|REPLICATION)|"
            r"(START|STOP)\s+(SLAVE|REPLICA|ALL\s+SLAVES))\b",
            "acts on the server",
        ),
    )
)
_SQL_MODE = re.compile(r"\bSQL_MODE\b")
_READ_MODES = re.compile(r"NO_BACKSLASH_ESCAPES|ANSI_QUOTES|\bANSI\b")
_CHARSET = re.compile(
    r"^SET\s+(?:NAMES|CHARACTER\s+SET|CHARSET)\s+'?(\w+)|"
    r"\bCHARACTER_SET_(?:CLIENT|CONNECTION)\s*=\s*'?(\w+)"
)
# Character sets in which a backslash or quote byte can be the second byte of a character:
# the client and the server would no longer agree where strings end.
_UNSAFE_CHARSETS = frozenset({"BIG5", "CP932", "GBK", "SJIS", "GB18030"})


@dataclass(frozen=True)
class Finding:
    """Something in a dump that sitekeeper will not load, and where."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


@dataclass
class _State:
    """Where the client's reader is: in a string, a comment, a statement."""

    quote: int = 0  # the open quote's byte, 0 outside strings
    comment: bool = False  # inside /* … */ (not executable)
    executable: bool = False  # inside /*! … */ (code to the client)
    hidden: bool = False  # inside /*!999999 … */: never executed, left out of the head
    delimiter: bytes = b";"
    empty: bool = True  # nothing in the client's statement buffer yet
    head: bytearray | None = None  # the first bytes of the current statement
    head_line: int = 1


class DumpScanner:
    """Feed lines in order; collects findings (at most ``MAX_FINDINGS``)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.line = 0
        self._state = _State(head=bytearray())
        self._line_start = True

    @property
    def full(self) -> bool:
        """Enough findings to refuse; scanning further would only repeat the point."""
        return len(self.findings) >= MAX_FINDINGS

    def _find(self, what: str) -> None:
        if not self.full:
            self.findings.append(Finding(self.line, what))

    def feed(self, chunk: bytes) -> bytes:
        """Scan one line (or a piece of a long one); returns it, DEFINER clauses rewritten."""
        starts = self._line_start
        if starts:
            self.line += 1
        self._line_start = chunk.endswith(b"\n")
        st = self._state
        comment_line = starts and not st.quote and chunk.startswith((b"#", b"--"))
        if comment_line and not st.comment:
            return chunk  # the client skips such a line whole
        if comment_line and b"*/" in chunk:
            # Clients differ on whether such a line can end a /* comment: never guess.
            self._find(f"a comment line that ends a /* comment: {shown(chunk, 80)}")
        if starts and not st.quote and not st.comment and st.empty:
            self._command_line(chunk)
        plain: list[tuple[int, int]] = []
        self._scan(chunk, plain)
        if plain and b"definer" in chunk.lower():
            return _rewrite_definers(chunk, plain)
        return chunk

    def skip_plain(self, block: bytes, pos: int) -> int:
        """Consume the whole lines of plain code and whole strings from ``pos`` on, at once.

        Most of a dump is rows of data; when nothing in them can change the
        reader's state (inside a statement, outside strings and comments, with
        the usual delimiter) one regex walks them. Returns where it stopped.
        """
        st = self._state
        if not (
            self._line_start
            and not st.quote
            and not st.comment
            and not st.empty
            and st.head is not None
            and st.delimiter in (b";", b";;")
        ):
            return pos
        matched = _PLAIN_LINES.match(block, pos)
        end = matched.end() if matched else pos
        if end > pos and (definer := _DEFINER_WORD.search(block, pos, end)):
            end = block.rfind(b"\n", pos, definer.start()) + 1  # that line goes the slow way
        if end > pos:
            self.line += block.count(b"\n", pos, end)
            self._code(block[pos : min(end, pos + _HEAD)])
        return max(end, pos)

    def finish(self) -> list[Finding]:
        """The findings, once the whole dump was fed."""
        self._end_statement()
        if self._state.quote:
            self._find("the dump ends inside a quoted string")
        return self.findings

    def _command_line(self, line: bytes) -> None:
        """A line the client reads as one of its commands (long form) when the buffer is empty."""
        word = _WORD.match(line)
        if word is None:
            return
        name = word.group(1).decode("ascii").lower()
        if name not in _COMMANDS or name in _HARMLESS:
            return
        if name == "delimiter":
            arg = _DELIMITER_ARG.match(line)
            value = arg.group(1) if arg else b""
            if value in _DELIMITERS:
                self._state.delimiter = value
                self._state.head = None  # the command line is not a statement
            else:
                self._find(f"unusual client DELIMITER {shown(value, 20)!r}")
            return
        self._find(f"client command {name!r}: {shown(line, 80)}")

    def _scan(self, line: bytes, plain: list[tuple[int, int]]) -> None:
        """Walk one line as the client does; ``plain`` gets the spans of plain code."""
        st = self._state
        if st.head is None:  # a DELIMITER line: nothing else on it counts
            st.head = bytearray()
            return
        pos, n = 0, len(line)
        while pos < n:
            if st.quote:
                match = _STRING_TAIL[st.quote].match(line, pos)
                end = match.end() if match else n
                self._keep(line[pos:end])
                st.quote = 0 if match else st.quote
            elif st.comment:
                found = line.find(b"*/", pos)
                st.comment, end = found < 0, (n if found < 0 else found + 2)
            else:
                end = self._code_step(line, pos, plain)
            pos = end

    def _code_step(self, line: bytes, pos: int, plain: list[tuple[int, int]]) -> int:
        """One token of code at ``pos``; where the next one starts."""
        st, char, n = self._state, line[pos], len(line)
        if char == 0x5C:  # a backslash outside strings: one of the client's commands
            return self._backslash(line, pos)
        if line.startswith(st.delimiter, pos):
            self._end_statement()
            st.empty = True
            return pos + len(st.delimiter)
        if char == 0x23 or (  # '#', or '-- ': a comment to the end of the line
            line.startswith(b"--", pos) and (pos + 2 >= n or line[pos + 2] in _SPACE)
        ):
            return n
        if line.startswith(b"/*", pos):
            executable = _EXEC.match(line, pos)
            if executable is None:
                st.comment = True
                return pos + 2
            st.executable, st.hidden = True, int(executable.group(1) or 0) >= _NEVER
            st.empty = False
            self._keep(b" ")
            return executable.end()
        if st.executable and line.startswith(b"*/", pos):
            st.executable = st.hidden = False
            self._keep(b" ")
            return pos + 2
        if char in _STRING:
            match = _STRING[char].match(line, pos)
            end = match.end() if match else n
            st.quote = 0 if match else char
            self._code(line[pos:end])
            if char == 0x60:  # identifiers are plain code for the DEFINER rewrite
                plain.append((pos, end))
            return end
        if char == 0x3B:  # ';': where the server splits a query of several statements
            self._end_statement()
            self._code(b";")
            return pos + 1
        found = _plain(st.delimiter).match(line, pos + 1)
        end = found.end() if found else pos + 1
        plain.append((pos, end))
        self._code(line[pos:end])
        return end

    def _backslash(self, line: bytes, pos: int) -> int:
        nxt = line[pos + 1 : pos + 2]
        if nxt in (b"", b"\n", b"\r"):
            return pos + 1
        if nxt == b"N":  # \N is NULL
            self._code(b"\\N")
        elif nxt != b"-":  # \- (sandbox mode) only restricts the client
            self._find(f"client command \\{shown(nxt, 4)}: {shown(line, 80)}")
        return pos + 2

    def _code(self, text: bytes) -> None:
        st = self._state
        if st.empty and text[:_HEAD].strip(_SPACE):
            st.empty = False
        self._keep(text)

    def _keep(self, text: bytes) -> None:
        head = self._state.head
        if head is None or self._state.hidden or len(head) >= _HEAD:
            return
        text = text[: _HEAD - len(head)]
        if not head.strip(_SPACE):
            self._state.head_line = self.line
        head += text

    def _end_statement(self) -> None:
        st = self._state
        head = bytes(st.head or b"")
        st.head = bytearray()
        words = " ".join(head.decode("latin-1").split()).upper().lstrip("; ")
        if not words:
            return
        line, self.line = self.line, st.head_line
        try:
            for pattern, why in _FORBIDDEN:
                if found := pattern.search(words):
                    lead = shown(" ".join(found.group(0).split()[:3]), 40)
                    self._find(f"{lead} statement ({why}; a site's dump never does)")
                    return
            if words.startswith("SET") and _SQL_MODE.search(words) and _READ_MODES.search(words):
                self._find("SET sql_mode that changes how quotes and backslashes are read")
            elif words.startswith("SET") or "CHARACTER_SET" in words:
                for match in _CHARSET.finditer(words):
                    charset = match.group(1) or match.group(2)
                    if charset in _UNSAFE_CHARSETS:
                        self._find(
                            f"character set {shown(charset, 30)} (its bytes can hide quotes)"
                        )
        finally:
            self.line = line


@functools.cache
def _plain(delimiter: bytes) -> re.Pattern[bytes]:
    """A run of code without quotes, comments, backslashes or statement ends."""
    return re.compile(rb"[^\\'\"`#;/*\-" + re.escape(delimiter[:1]) + rb"]*")


def _rewrite_definers(line: bytes, plain: list[tuple[int, int]]) -> bytes:
    """``DEFINER=user@host`` clauses that start in plain code become ``DEFINER=CURRENT_USER``."""
    out, last = bytearray(), 0
    for match in _DEFINER.finditer(line):
        start = match.start()
        if any(a <= start and start + 7 <= b for a, b in plain) and start >= last:
            out += line[last:start] + _CURRENT_USER
            last = match.end()
    return bytes(out + line[last:]) if last else line


class UnsafeDump(ValueError):
    """The dump holds what sitekeeper never loads; ``findings`` say what and where."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        listed = "; ".join(str(f) for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        super().__init__(f"the database dump was refused: {listed}{more}")


def scan(source: BinaryIO, rewrite: BinaryIO | None = None) -> list[Finding]:
    """Read ``source`` to the end (or to ``MAX_FINDINGS``); its findings, none if safe.

    With ``rewrite``, the dump is copied there as it is read (see the module doc).
    """
    scanner = DumpScanner()
    for block in _blocks(source):
        pos = 0
        while pos < len(block) and not scanner.full:
            end = scanner.skip_plain(block, pos)
            if end > pos:
                if rewrite is not None:
                    rewrite.write(block[pos:end])
                pos = end
                continue
            end = block.find(b"\n", pos) + 1 or len(block)
            out = scanner.feed(block[pos:end])
            if rewrite is not None:
                rewrite.write(out)
            pos = end
        if scanner.full:
            break
    return scanner.finish()


def _blocks(source: BinaryIO) -> Iterator[bytes]:
    """The dump in blocks of whole lines; a line longer than ``LINE_LIMIT`` comes in pieces,
    never split between a backslash and the byte it escapes."""
    rest = b""
    while data := source.read(_BLOCK):
        rest += data
        cut = rest.rfind(b"\n") + 1
        if not cut and len(rest) >= LINE_LIMIT:
            cut = len(rest.rstrip(b"\\")) or len(rest)  # keep escapes with what they escape
        if cut:
            yield rest[:cut]
            rest = rest[cut:]
    if rest:
        yield rest


def check(source: BinaryIO, rewrite: BinaryIO | None = None) -> None:
    """:func:`scan`, raising :class:`UnsafeDump` when anything was found."""
    findings = scan(source, rewrite)
    if findings:
        raise UnsafeDump(findings)
