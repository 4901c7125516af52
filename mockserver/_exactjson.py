"""JSON out of what the strict parser read in, numbers exactly as they were written.

``contracts.parse_json`` keeps a number a double cannot hold (``0.57000000000000001``,
``1e-999``) as an exact ``Decimal``; the journal shows and stores such a request as it was
sent — the number is often why it was refused, and a float would hide that.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(value: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    option = (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, default=_exact_number, option=option or None)


def _exact_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON")
