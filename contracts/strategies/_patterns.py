"""Cheap strategies for the simple, anchored patterns that documents use most.

``st.from_regex`` draws each character of ``[a-z]+`` as a choice of its own plus a choice to
go on, then re-checks the whole string with Python's ``re``, and the kit re-checks it again
with ECMA-262 semantics (``regress``), since the two dialects differ. For a pattern made
only of literals and bracketed sets of plain characters, each optionally repeated, anchored
at both ends, none of that is needed: the pattern is read here by ECMA-262's own rules, each
repeated set becomes one ``st.text`` draw over exactly its characters, and every string
drawn matches by construction. Anything else (groups, ``|``, ``.``, negated sets, ``\\s``,
``\\p{…}``, surrogates, sets of thousands of characters, counts past 100,000) returns
``None``, and the caller falls back to ``from_regex`` with its filters.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

__all__ = ["simple_pattern"]

# Characters an ECMA-262 "u" pattern may escape as themselves (SyntaxCharacter and "/").
_SYNTAX = frozenset("^$\\.*+?()[]{}|/")
# Class escapes whose meaning is fixed ASCII under the "u" flag without "i".
_CLASS_ESCAPES = {
    "d": "0123456789",
    "w": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_",
}
# Unbounded repetitions (``+``, ``*``, ``{n,}``) draw at most this many beyond the minimum.
_SPREAD = 24
# Past these, a set or a count is left to from_regex: an alphabet is built eagerly, and a
# literal repeated ``{n}`` times is a constant of n characters.
_MAX_ALPHABET = 4096
_MAX_COUNT = 100_000
_COUNT = re.compile(r"[0-9]+")  # ECMA-262's DecimalDigits: ASCII only (str.isdigit is not)
# UTF-16 surrogates: no JSON text carries one alone, and regress cannot match one.
_SURROGATES = range(0xD800, 0xE000)


class _Unsupported(Exception):
    """The pattern uses something this reader leaves to ``from_regex``."""


def simple_pattern(
    pattern: str, *, min_length: int = 0, max_length: int | None = None
) -> st.SearchStrategy[str] | None:
    """Strings matching ``pattern`` (a JSON Schema ``pattern``) from one text draw per
    repeated set, or ``None`` when the pattern is outside the simple subset.

    ``min_length`` and ``max_length`` (the schema's ``minLength`` and ``maxLength``) steer
    the repetitions' sizes toward strings of that length; the caller still checks them.
    """
    if not pattern.startswith("^"):
        return None
    try:
        pieces = _read(pattern[1:])
    except _Unsupported:
        return None
    return _strategy(pieces, min_length=min_length, max_length=max_length)


def _read(body: str) -> list[tuple[str, int, int | None]]:
    """The pattern after its ``^`` as (characters, at least, at most) pieces, up to the
    closing ``$`` (a literal is one character repeated exactly once)."""
    pieces: list[tuple[str, int, int | None]] = []
    at = 0
    while at < len(body):
        if body[at] == "$" and at == len(body) - 1:
            return pieces
        chars, at = _atom(body, at)
        low, high, at = _quantifier(body, at)
        pieces.append((chars, low, high))
    raise _Unsupported("no closing $")  # unanchored at the end: any suffix may follow


def _atom(body: str, at: int) -> tuple[str, int]:
    char = body[at]
    if char == "[":
        return _set(body, at + 1)
    if char == "\\":
        return _escape(body, at + 1, in_set=False)
    if char in _SYNTAX:
        raise _Unsupported(char)  # ".", "(", "|", a stray quantifier or anchor, ...
    if ord(char) in _SURROGATES:
        raise _Unsupported("surrogate")
    return char, at + 1


def _escape(body: str, at: int, *, in_set: bool) -> tuple[str, int]:
    if at >= len(body):
        raise _Unsupported("\\")
    char = body[at]
    if char in _SYNTAX or (in_set and char == "-"):
        return char, at + 1
    if char in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[char], at + 1
    raise _Unsupported(f"\\{char}")


def _set(body: str, at: int) -> tuple[str, int]:
    """A bracketed set's characters (no negation, no nested classes), past its ``]``."""
    if at < len(body) and body[at] == "^":
        raise _Unsupported("[^")
    chars: list[str] = []
    while True:
        if at >= len(body):
            raise _Unsupported("[")
        char = body[at]
        if char == "]":
            break
        if char == "[":
            raise _Unsupported("[[")  # a literal in ECMA, but worth no special case
        first, at = _escape(body, at + 1, in_set=True) if char == "\\" else (char, at + 1)
        is_range = at + 1 < len(body) and body[at] == "-" and body[at + 1] != "]"
        if is_range and len(first) != 1:
            raise _Unsupported("range")  # a class escape as a bound: a syntax error
        if not is_range:
            chars.append(first)
            continue
        end_char = body[at + 1]
        last, at = _escape(body, at + 2, in_set=True) if end_char == "\\" else (end_char, at + 2)
        if len(last) != 1 or ord(last) < ord(first):
            raise _Unsupported("range")  # a class escape as a bound, or an empty range
        if ord(last) - ord(first) >= _MAX_ALPHABET:
            raise _Unsupported("wide range")
        chars.append("".join(map(chr, range(ord(first), ord(last) + 1))))
    alphabet = "".join(dict.fromkeys("".join(chars)))
    if any(ord(char) in _SURROGATES for char in alphabet):
        raise _Unsupported("surrogate")
    if not alphabet or len(alphabet) > _MAX_ALPHABET:
        raise _Unsupported("[]")  # matches nothing, or too much to list
    return alphabet, at + 1


def _quantifier(body: str, at: int) -> tuple[int, int | None, int]:
    """The repetition after an atom, as (at least, at most or None), and where it ends."""
    if at >= len(body):
        return 1, 1, at
    char = body[at]
    if char in "*+?":
        low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        end = at + 1
    elif char == "{":
        close = body.find("}", at)
        low_text, comma, high_text = body[at + 1 : close].partition(",")
        if (
            close < 0
            or not _COUNT.fullmatch(low_text)
            or not (not high_text or _COUNT.fullmatch(high_text))
        ):
            raise _Unsupported("{")
        low = int(low_text)
        high = int(high_text) if high_text else (None if comma else low)
        if max(low, high or 0) > _MAX_COUNT or (high is not None and high < low):
            raise _Unsupported("{m,n}")
        end = close + 1
    else:
        return 1, 1, at
    if end < len(body) and body[end] == "?":
        end += 1  # lazy: the same strings match
    if end < len(body) and body[end] in "*+?{":
        raise _Unsupported("quantified quantifier")
    return low, high, end


def _strategy(
    pieces: list[tuple[str, int, int | None]], *, min_length: int, max_length: int | None
) -> st.SearchStrategy[str]:
    """Literal runs joined as constants, each repeated set one ``st.text`` draw, sized so
    that the whole can reach ``min_length`` and stay within ``max_length``."""
    shortest = sum(low for _, low, _ in pieces)
    deficit = min_length - shortest
    sized: list[tuple[str, int, int]] = []
    for chars, low, high in pieces:
        top = low + _SPREAD if high is None else high
        if deficit > 0 and top > low:
            grow = deficit if high is None else min(deficit, top - low)
            low, deficit = low + grow, deficit - grow
            top = low + _SPREAD if high is None else top
        sized.append((chars, low, top))
    shortest = sum(low for _, low, _ in sized)
    parts: list[st.SearchStrategy[str] | str] = []
    for chars, low, top in sized:
        if max_length is not None:
            top = max(low, min(top, max_length - (shortest - low)))
        if len(chars) == 1 and low == top:
            literal = chars * low
            if parts and isinstance(parts[-1], str):
                parts[-1] += literal
            else:
                parts.append(literal)
            continue
        parts.append(st.text(alphabet=chars, min_size=low, max_size=top))
    drawn = [part for part in parts if not isinstance(part, str)]
    if not drawn:
        return st.just("".join(part for part in parts if isinstance(part, str)))
    if len(parts) == 1:
        return drawn[0]
    layout = tuple(part if isinstance(part, str) else None for part in parts)
    return st.tuples(*drawn).map(_Joiner(layout))


class _Joiner:
    """Puts drawn texts back between the pattern's literals; its repr, in the strategy's,
    shows the layout (``data:image/…;base64,…``) where a lambda would show its source."""

    def __init__(self, layout: tuple[str | None, ...]) -> None:
        self._layout = layout

    def __call__(self, drawn: tuple[str, ...]) -> str:
        texts = iter(drawn)
        return "".join(next(texts) if part is None else part for part in self._layout)

    def __repr__(self) -> str:
        return "".join("…" if part is None else part for part in self._layout)
