"""The ``format`` assertions the kit checks, each to its RFC; unknown formats are annotations.

Python's own parsers are lenient in ways the RFCs are not (``uuid.UUID`` takes braces,
``urn:uuid:`` and stray hyphens; ``re``'s ``$`` matches before a final newline), so every
check here is anchored with ``fullmatch``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

import regress
from rfc3986_validator import URI_RE, URI_REF_RE_COMP

__all__ = ["FORMATS"]

# RFC 4122 section 3: the hyphenated 8-4-4-4-12 form, hex digits case-insensitive on input.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 3986 "URI" (absolute: a scheme is required), and "URI-reference".
_URI = re.compile(f"(?:{URI_RE})", re.VERBOSE)
_URI_REF = re.compile(URI_REF_RE_COMP.pattern.removeprefix("^").removesuffix("$"), re.VERBOSE)
# RFC 3339 section 5.6.
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([zZ]|[+-]([0-9]{2}):([0-9]{2}))")
_DURATION = re.compile(
    r"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?"
    r"|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)|[0-9]+W)"
)
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_EMAIL_LOCAL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r'|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
)


def _uri(value: str) -> bool:
    return value.isascii() and _URI.fullmatch(value) is not None


def _uri_reference(value: str) -> bool:
    return value.isascii() and _URI_REF.fullmatch(value) is not None


def _uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def _date(value: str) -> bool:
    match = _DATE.fullmatch(value)
    if not match or not value.isascii():
        return False
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return day <= days


def _time(value: str) -> bool:
    match = _TIME.fullmatch(value)
    if not match or not value.isascii():
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    off_h = int(match[6]) if match[6] else 0
    off_m = int(match[7]) if match[7] else 0
    if hour > 23 or minute > 59 or second > 60 or off_h > 23 or off_m > 59:
        return False
    if second == 60:
        # A leap second exists only at 23:59:60 UTC.
        sign = -1 if match[5][:1] == "+" else 1
        utc = (hour * 60 + minute + sign * (off_h * 60 + off_m)) % (24 * 60)
        return utc == 23 * 60 + 59
    return True


def _date_time(value: str) -> bool:
    date, sep, time = value.partition("T") if "T" in value else value.partition("t")
    return bool(sep) and _date(date) and _time(time)


def _ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return value.isascii()


def _ipv6(value: str) -> bool:
    if not value.isascii() or "%" in value:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _hostname(value: str) -> bool:
    if not value.isascii() or not value or len(value) > 253:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    # "--" in the third and fourth places is reserved for A-labels (RFC 5891 4.2.3.1).
    return all(
        _HOST_LABEL.fullmatch(label) and (label[2:4] != "--" or label[:4].lower() == "xn--")
        for label in labels
    )


def _email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    if not at or not local or not _EMAIL_LOCAL.fullmatch(local):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        return _ipv6(inner[5:]) if inner.startswith("IPv6:") else _ipv4(inner)
    return _hostname(domain)


def _regex(value: str) -> bool:
    try:
        regress.Regex(value)
    except regress.RegressError:
        return False
    return True


def _duration(value: str) -> bool:
    return _DURATION.fullmatch(value) is not None


FORMATS: Mapping[str, Callable[[str], bool]] = {
    "date": _date,
    "date-time": _date_time,
    "duration": _duration,
    "email": _email,
    "hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "regex": _regex,
    "time": _time,
    "uri": _uri,
    "uri-reference": _uri_reference,
    "uuid": _uuid,
}
