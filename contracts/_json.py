"""Strict, exact JSON parsing of raw request and response bodies.

``json.loads`` alone is neither strict nor exact: it accepts ``NaN``/``Infinity``, turns
``1e999`` into ``inf`` and ``1e-999`` into ``0.0``, rounds ``0.57000000000000001`` to
``0.57`` and refuses integers of more than 4300 digits. Bodies that could hold such a
literal (a long digit run or an exponent) are parsed a second, slower way that keeps every
number the decimal it was written as; all others take the C parser's fast path.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

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
    if value - value == 0 and Decimal(repr(value)) == Decimal(text):
        return value
    return Decimal(text)


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


def parse_json(body: bytes | bytearray | memoryview | str, *, unique_keys: bool = False) -> Any:
    """Parse one JSON text strictly; raise :class:`JSONProblem` with an actionable reason.

    ``unique_keys``: refuse an object that names a key twice (which ``json`` would silently
    resolve to the last value). Servers want it; it costs a little per object.
    """
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
            if "digits" not in str(exc) or isinstance(exc, json.JSONDecodeError):
                raise
            value = _BIG_INT_DECODER.decode(text)  # an integer of over 4300 digits
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
    # A one-character search is a memchr; most bodies hold no backslash at all.
    if "\\" in text and _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value, "")
    return value


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
