"""Logs for people: one configuration for ``serve``, libraries kept quiet, conditions once.

``setup`` is the one place that decides what reaches the log: our loggers at the
operator's level, the chatty libraries (an INFO line per SSH channel from asyncssh,
Apprise's progress, uvicorn's access lines) at WARNING unless the level is DEBUG.
``Conditions`` logs a state that repeats every round (a site without SSH access, a
feed that does not answer) when it starts and when it changes, not every time.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Hashable
from typing import TextIO

from sitekeeper.domain.untrusted import visible

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log routine work at INFO; their warnings and errors still show.
NOISY = ("asyncssh", "apprise", "uvicorn.access", "uvicorn.error", "alembic", "httpx", "tuf")


def quiet_library_warnings() -> None:
    """Hide cryptography's DSA deprecation warnings that importing asyncssh prints.

    asyncssh still supports DSA keys (we never use them); the warnings say nothing an
    operator can act on, and they were printed by every command, even ``--help``.
    """
    warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\.|$)")


class OneLineFormatter(logging.Formatter):
    """Every message on one line, control characters shown as escapes (``\\x1b``, ``\\n``).

    The last line of defence: text from client servers is quoted where it enters a
    message, but a library's message (asyncssh, Apprise) may carry a server's words
    too; none of it may forge a log line or reach the terminal of whoever reads the
    log. A traceback keeps its lines (it is ours).
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The formatted line, with the message made visible."""
        record.message = visible(record.message, 4000)
        return super().formatMessage(record)


def setup(level: str, stream: TextIO | None = None) -> None:
    """Log to ``stream`` (stderr) at ``level``; libraries at WARNING unless it is DEBUG."""
    number = logging.getLevelNamesMapping()[level.upper()]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=number, handlers=[handler], force=True)
    libraries = logging.DEBUG if number <= logging.DEBUG else logging.WARNING
    for name in NOISY:
        logging.getLogger(name).setLevel(libraries)


class Conditions:
    """Logs each keyed condition once until its state changes (or it clears).

    ``report(key, state, ...)`` logs only when ``state`` differs from the last one
    reported for ``key``; ``clear(key, ...)`` forgets it (and may say it is over), so
    the next report logs again. Keys are few (one per site or feed): kept in memory.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._states: dict[Hashable, Hashable] = {}

    def report(
        self, key: Hashable, state: Hashable, level: int, message: str, *args: object
    ) -> bool:
        """Log ``message`` if ``key`` is new or its state changed; True if it was logged."""
        if key in self._states and self._states[key] == state:
            return False
        self._states[key] = state
        self._log.log(level, message, *args)
        return True

    def clear(self, key: Hashable, message: str | None = None, *args: object) -> bool:
        """The condition is over: log ``message`` at INFO if it had been reported."""
        if key not in self._states:
            return False
        del self._states[key]
        if message is not None:
            self._log.info(message, *args)
        return True
