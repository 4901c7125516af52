"""Exact JSON number semantics: a number is the decimal its JSON text wrote.

A Python ``float`` stands for the shortest decimal that round-trips to it (``repr``), which
is what ``json.dumps`` writes and, for every literal of at most 15 significant digits, what
the JSON text said. Longer or extreme literals are parsed to ``Decimal`` (see ``_json``), so
no value is judged on a binary approximation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = [
    "SCALED_PLACES",
    "as_decimal",
    "is_integer",
    "is_number",
    "make_multiple_of",
    "needs_decimal",
    "scaled_multiple",
]


def is_number(value: Any) -> bool:
    """True for a JSON number: int (not bool), finite float, finite Decimal."""
    cls = value.__class__
    if cls is int or cls is Decimal:
        return cls is int or value.is_finite()
    if cls is float:
        return math.isfinite(value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return False


def is_integer(value: Any) -> bool:
    """True for a JSON number with no fractional part (``1.0`` is an integer)."""
    if value.__class__ is int:
        return True
    if not is_number(value):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return bool(value == value.to_integral_value())


def as_decimal(value: Any) -> Decimal:
    """The exact decimal a JSON number stands for."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(int(value))


def _parts(value: Any) -> tuple[int, int]:
    """(mantissa, exponent) with value == mantissa * 10**exponent."""
    if value.__class__ is int:
        return value, 0
    sign, digits, exponent = as_decimal(value).as_tuple()
    mantissa = int("".join(map(str, digits)) or "0")
    assert isinstance(exponent, int)
    return (-mantissa if sign else mantissa), exponent


def _divisible(a: int, e1: int, b: int, e2: int) -> bool:
    """Is a*10**e1 an integer multiple of b*10**e2 (b > 0)? Exact, even for huge exponents."""
    if a == 0:
        return True
    shift = e1 - e2
    if shift >= 0:
        return (a * pow(10, shift, b)) % b == 0
    # a must hold b * 10**-shift; it cannot if 10**-shift alone outgrows it.
    if -shift > len(str(abs(a))):
        return False
    return bool(a % (b * 10 ** (-shift)) == 0)


def make_multiple_of(divisor: Any) -> Callable[[Any], bool]:
    """A predicate ``value is a multiple of divisor``, judged on decimals, never on floats."""
    b, e2 = _parts(divisor)
    while b % 10 == 0 and b:
        b //= 10
        e2 += 1
    b = abs(b)
    if b == 1 and e2 < 0:
        places = -e2

        def power_of_ten(value: Any) -> bool:
            # For a float, round() works on its shortest decimal: it gives the value back
            # exactly when that decimal has at most `places` places.
            if value.__class__ is float:
                return round(value, places) == value
            if value.__class__ is int:
                return True
            return _divisible(*_parts(value), 1, e2)

        power_of_ten.places = places  # type: ignore[attr-defined]  # lets _compile inline it
        return power_of_ten

    def general(value: Any) -> bool:
        if value.__class__ is int and e2 >= 0:
            return bool(value % (b * 10**e2) == 0)
        return _divisible(*_parts(value), b, e2)

    return general


SCALED_PLACES = 22  # 10**22 is the largest power of ten a double holds exactly


def scaled_multiple(v: str, places: int) -> str:
    """Source for a quick, sufficient test that the float ``v`` is a multiple of
    ``10**-places`` (``places <= SCALED_PLACES``): when it says True, ``round(v, places) ==
    v`` holds; when it says False, that test decides. Half the cost of ``round(v, places)``,
    which formats the float as a decimal string.

    Why it is sound: with ``|v| < 2**40 / 10**places``, if ``v`` is the double nearest to some
    ``k / 10**places`` then ``v * 10**places`` is within ``2**-12`` of ``k``, so ``round``
    gives ``k``; and ``k / 10**places`` (Python divides ints correctly rounded, whatever
    their size) is the double nearest ``k / 10**places``. So the test holds exactly when ``v``
    is the double of a decimal with at most ``places`` places, which is when ``round(v,
    places)`` (correctly rounded, on the shortest decimal) gives ``v`` back.
    """
    scale = 10**places
    limit = 2**40 / scale
    return (
        f"({v}.__class__ is float and {-limit!r} < {v} < {limit!r} "
        f"and round({v} * {float(scale)!r}) / {scale} == {v})"
    )


def needs_decimal(bound: Any) -> bool:
    """Must comparisons with this bound go through decimals?

    Python compares int, float and Decimal exactly on their binary values. That is the
    decimal comparison whenever the bound's binary value is its decimal (ints, 0.5, 2.25).
    A bound such as 0.1 is not 0.1 in binary, so both sides are turned into decimals.
    """
    return isinstance(bound, float) and Decimal(bound) != Decimal(repr(bound))
