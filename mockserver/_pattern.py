"""The ``regex`` of fault rules and scripted replies: linear-time, and searched within a budget.

A ``regex`` is searched in the last user message, which the mock accepts as long as a body
may be (``max_body_bytes``, 10 MiB by default; the document sets no ``maxLength`` on it).
Python's ``re`` backtracks: ``^(a|a)+$`` doubles its work with every character, and one such
search froze the event loop, and so every client, for minutes. RE2 (google-re2) never
backtracks: a search costs time linear in the text. The constructs that need backtracking
(backreferences, lookarounds and the like) are refused when the pattern is defined, with the
list of what is not allowed.

Linear is not always small: a pattern whose automaton explodes (``a[ab]{999}c``) costs up
to (text length x program size) steps, seconds on a long message. So a search estimated at
more than :data:`INLINE_STEPS` runs in a thread of its own (RE2 releases the GIL) and is
waited for at most :data:`BUDGET_S`. Past that the pattern counts as not matching, a warning
is logged once per pattern, and while that search runs on, later searches of the same pattern
also count as not matching: at most one thread per pattern is ever busy.

>>> Pattern(r"^(a|a)+$").search("a" * 100_000 + "!")
False
>>> Pattern("(?=a)")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mockserver._pattern.PatternError: regex '(?=a)' uses what RE2 cannot run (invalid perl ...
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import re2

__all__ = ["BUDGET_S", "INLINE_STEPS", "Pattern", "PatternError"]

# A search costs at most ~40 ns per step (text character x program instruction) when the
# automaton explodes, ~1 ns otherwise: 2**18 steps stay within ~10 ms on the loop.
INLINE_STEPS = 1 << 18
BUDGET_S = 0.05  # the longest a search may hold the event loop
_UNSUPPORTED = (
    "backreferences (\\1, (?P=name)), lookahead and lookbehind ((?=...), (?!...), "
    "(?<=...), (?<!...)), atomic groups and possessive quantifiers ((?>...), a*+), "
    "conditionals, verbose mode (?x), and \\Z (write \\z); repeat counts go up to "
    "1000, and \\d, \\w, \\s, \\b are ASCII (use \\pL, \\pN for any script)"
)

_LOG = logging.getLogger("mockserver")


def _options() -> Any:
    options = re2.Options()
    # Only "does it match" is asked. Submatch positions would make RE2 run its NFA over the
    # whole text, ~100x slower than the DFA on patterns such as (.*a){20}.
    options.never_capture = True
    options.log_errors = False  # the error reaches the caller, with the fix
    return options


_OPTIONS = _options()


class PatternError(ValueError):
    """A regex the mock cannot run; the message names the field, the reason and the fix."""


def _reason(exc: Exception) -> str:
    message = exc.args[0] if exc.args else exc
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


class Pattern:
    """A compiled ``regex`` whose :meth:`search` answers within :data:`BUDGET_S`."""

    __slots__ = ("_busy", "_regexp", "_size", "_warned", "field", "source")

    def __init__(self, source: str, *, field: str = "regex") -> None:
        self.source, self.field = source, field
        try:
            self._regexp = re2.compile(source, _OPTIONS)
        except re2.error as exc:
            try:
                re.compile(source)  # only to tell a typo from a construct RE2 lacks
            except re.error as typo:
                raise PatternError(f"{field} {source!r} does not compile: {typo}") from exc
            raise PatternError(
                f"{field} {source!r} uses what RE2 cannot run ({_reason(exc)}). The mock "
                "searches with RE2 so that no pattern can freeze it: its time is linear in "
                f"the message. Not allowed: {_UNSUPPORTED}."
            ) from exc
        self._size = max(1, int(self._regexp.programsize))
        self._busy: threading.Thread | None = None
        self._warned = False

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Recompiled where it is unpickled (the --workers processes); no thread travels.
        return (_rebuild, (self.source, self.field))

    def search(self, text: str) -> bool:
        """Does the pattern occur in ``text``? False also when the search overran its
        budget (logged once per pattern)."""
        if len(text) * self._size <= INLINE_STEPS:
            return self._regexp.search(text) is not None
        busy = self._busy
        if busy is not None and busy.is_alive():
            return False
        found: list[bool] = []
        done = threading.Event()

        def run() -> None:
            found.append(self._regexp.search(text) is not None)
            done.set()

        # A thread per search, not a pool: an overrun search must not delay other patterns'
        # searches queued behind it. Not a daemon: one still inside RE2 when the interpreter
        # finalizes aborts the process (C++ terminate), so exit waits for it to end.
        thread = threading.Thread(target=run, name="mock-regex", daemon=False)
        thread.start()
        if done.wait(BUDGET_S):
            return found[0]
        self._busy = thread
        if not self._warned:
            self._warned = True
            _LOG.warning(
                "%s %r took longer than %d ms on a message of %d characters: counted "
                "as not matching (now and while that search runs on); a simpler "
                "pattern, without large counted repeats such as .{999}, avoids this "
                "(logged once per pattern)",
                self.field,
                self.source,
                round(BUDGET_S * 1000),
                len(text),
            )
        return False


def _rebuild(source: str, field: str) -> Pattern:
    return Pattern(source, field=field)
