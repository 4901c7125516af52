"""Strict, exact JSON parsing of raw request and response bodies.

``json.loads`` alone is neither strict nor exact: it accepts ``NaN``/``Infinity``, turns
``1e999`` into ``inf``, ``1e-999`` into ``0.0`` and ``0.57000000000000001`` into the float
``0.5700000000000001``, and refuses integers of more than 4300 digits. The strict parser
(``json`` with hooks) keeps every number the decimal it was written as and says what is
wrong in the kit's words; it costs more than a ``json.loads``.

Most bodies take orjson instead, at C speed. orjson refuses what the strict parser refuses
-- invalid UTF-8, a byte order mark, NaN/Infinity, lone surrogate escapes, syntax errors,
trailing data -- but not in the kit's words, so a body it refuses goes to the strict parser
for the reason. A body orjson accepts is written back with orjson: when that gives the body
again, whitespace aside (``_reads_back``), the value stands, with no key sent twice -- most
clients' bodies end there. Otherwise what orjson *accepts* but would not hand back as the
strict parser does is looked for in the bytes, and such a body is parsed strictly too:

- a number literal of 16 characters or more, or one below the smallest normal double
  (``1e-999``): orjson makes a float of it (of an integer beyond 64 bits too), where the
  strict parser may keep a decimal or an int;
- nesting deep enough that Python's parser, which recurses, could give out before orjson
  does (at 1024 levels).

orjson keeps the last of two values for one key without a word. With ``unique_keys`` (a
server's parse, and ``check_request``'s) a body that did not read back has the colons of the
body counted against those of orjson's serialisation of what it kept: they agree exactly
when no key was sent twice (``_may_repeat_a_key``), and otherwise the strict parser decides.

``tests/contracts/test_fast_parse.py`` holds the two ways to the same answer, value for
value and reason for reason, on arbitrary bodies.
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from openapi import KitError

__all__ = ["JSONProblem", "parse_json"]

# A \uD800-\uDFFF escape may leave a lone surrogate, which no UTF-8 text can carry.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONProblem(KitError, ValueError):
    """The body is not strict JSON. ``position`` is a character offset, ``reason`` the fix."""

    def __init__(self, reason: str, *, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        super().__init__(reason)


def _constant(name: str) -> Any:
    raise JSONProblem(
        f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity); send a finite number or null"
    )


def _exact_float(text: str) -> float | Decimal:
    # Up to 15 characters hold at most 15 significant digits, which a double always
    # round-trips; only longer literals or exponents (1e-999 underflows, 1e999 overflows)
    # need the exact comparison.
    if len(text) < 16 and "e" not in text and "E" not in text:
        return float(text)
    value = float(text)
    try:
        exact = Decimal(text)
    except InvalidOperation:  # an exponent past about 10**18
        raise JSONProblem(
            f"the number {text[:24]}{'...' if len(text) > 24 else ''} has an exponent "
            "beyond what a decimal holds (about 18 digits); send a smaller exponent"
        ) from None
    if value - value == 0 and Decimal(repr(value)) == exact:
        return value
    return exact


def _exact_int(text: str) -> int | Decimal:
    # Python refuses int() of more than 4300 digits (CVE-2020-10735); the value is still a
    # valid JSON integer, so keep it as an exact Decimal.
    return int(text) if len(text) < 4000 else Decimal(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise JSONProblem(
            f"the key {duplicate!r} appears twice in one object; JSON objects "
            "need unique names (RFC 8259 4, I-JSON): send it once"
        )
    return result


_DECODER = json.JSONDecoder(parse_float=_exact_float, parse_constant=_constant)
_STRICT_DECODER = json.JSONDecoder(
    parse_float=_exact_float, parse_constant=_constant, object_pairs_hook=_unique_keys
)
_BIG_INT_DECODER = json.JSONDecoder(
    parse_float=_exact_float, parse_int=_exact_int, parse_constant=_constant
)
_STRICT_BIG_INT_DECODER = json.JSONDecoder(
    parse_float=_exact_float,
    parse_int=_exact_int,
    parse_constant=_constant,
    object_pairs_hook=_unique_keys,
)


def parse_json(body: bytes | bytearray | memoryview | str, *, unique_keys: bool = False) -> Any:
    """Parse one JSON text strictly; raise :class:`JSONProblem` with an actionable reason.

    ``unique_keys``: refuse an object that names a key twice (which ``json`` would silently
    resolve to the last value). Servers want it; for a body that does not read back
    (``_reads_back``) it costs a search of the bytes and a count of the keys.
    """
    raw = body if body.__class__ is bytes else _as_bytes(body)
    if raw is not None:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # refused: the strict parser says why, in the kit's words
        else:
            try:
                written: bytes | None = orjson.dumps(value)
            except orjson.JSONEncodeError:  # nested past orjson's 255 levels
                written = None
            # (orjson writes at most 255 levels; with the default recursion limit, the
            # strict parser reads as deep, so the read-back needs no depth check.)
            if (
                written is not None
                and sys.getrecursionlimit() >= _DEFAULT_RECURSION_LIMIT
                and _reads_back(raw, written)
            ):
                return value
            if not _orjson_may_differ(raw) and (
                not unique_keys or (written is not None and not _may_repeat_a_key(raw, written))
            ):
                return value
    return _parse_strictly(body, unique_keys=unique_keys)


def _reads_back(raw: bytes | bytearray, written: bytes) -> bool:
    """Whether ``raw`` is orjson's serialisation of its parse, ``written``, but for where it
    puts whitespace (``json.dumps`` writes a space after each comma and colon by default).

    Then the strict parser reads the same value, and no key came twice. Outside its spaces
    (and the tabs and line breaks a JSON text may hold only between tokens) ``raw`` is
    ``written`` byte for byte, and the spaces inside the strings of ``written`` are those of
    the strings orjson read from ``raw``. So ``raw`` holds the same tokens: every number
    literal is the shortest one for orjson's value (an int, or a float the strict parser
    keeps: ``_exact_float`` of a shortest literal is that float), every escape is orjson's,
    and a key sent twice would have been written once. Most clients' bodies pass; any
    other goes to the scans (``_orjson_may_differ``, ``_may_repeat_a_key``).
    """
    return (
        written == raw
        # Deleting one byte value is a few vector searches, a third of translate()'s
        # byte-by-byte pass; it decides bodies with spaces only (a tab or a line break left
        # in ``raw`` fails it, as ``written`` has none, and takes the second test).
        or raw.replace(b" ", b"") == written.replace(b" ", b"")
        or raw.translate(None, _WHITESPACE) == written.translate(None, b" ")
    )


_WHITESPACE = b" \t\n\r"
_DEFAULT_RECURSION_LIMIT = 1000  # below it, a deep body takes the scans' depth check


def _may_repeat_a_key(raw: bytes | bytearray, written: bytes) -> bool:
    """Whether ``raw`` may name a key twice in one object, ``written`` being orjson's
    serialisation of its parse.

    orjson keeps the last of two values for a key, silently. So the colons are counted: the
    body has one after each key it sends, plus those inside its strings; orjson's own
    serialisation has one after each key kept, plus those inside the strings kept. Neither
    escapes a colon, unless the body wrote one as ``\\u003a``, so the counts agree exactly
    when every key and every string sent was kept: when no key came twice. A body that
    escaped a colon goes to the strict parser, which decides.
    """
    return _may_escape_a_colon(raw) or raw.count(b":") != written.count(b":")


_ESCAPES_READ = 8  # backslashes looked at one by one; past these, one search for "u003"


def _may_escape_a_colon(raw: bytes | bytearray) -> bool:
    """Whether ``raw`` may write a colon as ``\\u003a`` (or ``\\u003A``; another
    ``\\u003_`` escape, or a backslash before a ``\\``, only sends the body to the strict
    parser). Most bodies have no backslash or a few (``\\n``): each is looked at in
    place, which costs less than a search of the whole body for ``u003``."""
    at = raw.find(b"\\")
    for _ in range(_ESCAPES_READ):
        if at < 0:
            return False
        if raw.startswith(b"u003", at + 1):
            return True
        at = raw.find(b"\\", at + 1)
    return at >= 0 and raw.find(b"u003", at) >= 0


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes | bytearray | None:
    """The UTF-8 bytes orjson and the scan read (``None``: leave it to the strict parser)."""
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only the strict parser knows its rule
            return None
    if isinstance(body, memoryview):
        return body.tobytes()
    return body


# The scans read each byte of a body as one of these classes: "0" for a digit or ".", "e"
# for e or E, "-" itself, ":" itself, "," for "," and "[" (what else may come just before a
# number literal), " " for whitespace, '"' itself, "x" for anything else.
_CLASSES = bytes(
    ord(
        "0"
        if byte in b"0123456789."
        else "e"
        if byte in b"eE"
        else "-"
        if byte == ord("-")
        else ":"
        if byte == ord(":")
        else ","
        if byte in b",["
        else " "
        if byte in b" \t\n\r"
        else '"'
        if byte == ord('"')
        else "x"
    )
    for byte in range(256)
)
_MANTISSA = re.compile(rb"-?0+")


def _orjson_may_differ(raw: bytes | bytearray) -> bool:
    """Whether orjson's value for ``raw`` might not be the strict parser's.

    orjson reads every float the strict parser would keep a float as the same float (both
    round correctly), so only the literals it makes something else of are looked for: those
    of 16 characters or more (``_exact_float`` compares them with the float; past 64 bits an
    integer is a float in orjson) and those below the smallest normal double (from up to 15
    characters only a negative exponent of three digits gets there: 15 significant digits
    round-trip through a double). A literal too large for a double orjson refuses.
    """
    classes = raw.translate(_CLASSES)
    # 15: a literal of 16 may carry its sign. (rfind: here the fastest of find, rfind, in.)
    if classes.rfind(b"000000000000000") >= 0:
        return True
    # "e-123" is in a UUID now and then ("...3e-1234..."); it is a number only when no more
    # than a mantissa comes between it and the ":", "," "[" or space before (or the start).
    hit = classes.rfind(b"e-000")
    while hit >= 0:
        start = max(classes.rfind(mark, 0, hit) for mark in (b":", b",", b" "))
        if _MANTISSA.fullmatch(classes, start + 1, hit):
            return True
        hit = classes.rfind(b"e-000", 0, hit)
    # Python's parser recurses once a level and gives out near the recursion limit, less
    # the caller's depth; orjson goes to 1024 levels. A level takes two bytes: a body
    # shorter than the limit nests less than half as deep.
    limit = sys.getrecursionlimit()
    return len(raw) >= limit and raw.count(b"[") + raw.count(b"{") >= limit // 2


def _parse_strictly(body: bytes | bytearray | memoryview | str, *, unique_keys: bool) -> Any:
    if isinstance(body, memoryview):
        body = body.tobytes()  # str() takes no view with strides
    if isinstance(body, str):
        text = body
    else:
        try:
            text = str(body, "utf-8")
        except UnicodeDecodeError as exc:
            raw = bytes(body)
            raise JSONProblem(
                f"the body is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start}); send UTF-8 encoded JSON",
                position=exc.start,
            ) from exc
    if text.startswith("\ufeff"):
        raise JSONProblem(
            "the body starts with a byte order mark; send JSON without a BOM", position=0
        )
    try:
        try:
            value = (_STRICT_DECODER if unique_keys else _DECODER).decode(text)
        except ValueError as exc:
            # Only Python's own int limit (CVE-2020-10735) is worth a second parse; a
            # JSONProblem (a key named "digits" sent twice, say) stands.
            if exc.__class__ is not ValueError or not str(exc).startswith("Exceeds the limit"):
                raise
            value = (_STRICT_BIG_INT_DECODER if unique_keys else _BIG_INT_DECODER).decode(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise JSONProblem("the body is empty; send a JSON array of tasks", position=0) from exc
        raise JSONProblem(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            position=exc.pos,
        ) from exc
    except RecursionError as exc:
        raise JSONProblem(
            "the body nests too deeply to parse; a Runware request is only a few levels deep"
        ) from exc
    except ValueError as exc:
        if isinstance(exc, JSONProblem):
            raise
        raise JSONProblem(f"the body is not valid JSON: {exc}") from exc
    # A one-character search is a memchr; most bodies hold no backslash at all. A str may
    # also carry a lone surrogate itself, unescaped (UTF-8 bytes cannot).
    if ("\\" in text and _SURROGATE_ESCAPE.search(text)) or (
        body.__class__ is str and not _encodable(text)
    ):
        _refuse_lone_surrogates(value, "")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_lone_surrogates(value: Any, pointer: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JSONProblem(
                f"the string at {pointer or '/'} holds an unpaired surrogate "
                f"(\\u{ord(value[exc.start]):04x}); escape whole characters, "
                "as a \\uD83D\\uDE00 pair"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, pointer)
            _refuse_lone_surrogates(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_lone_surrogates(item, f"{pointer}/{index}")
