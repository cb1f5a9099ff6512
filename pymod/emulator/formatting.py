"""Byte-exact output formats of AMS (spec sections 1.5 and 1.8).

Three JSON layouts exist: 3-space, 1-space and compact. Like Go's ``encoding/json`` the
emulator escapes ``<``, ``>``, ``&``, U+2028 and U+2029, prints other non-ASCII characters
as raw UTF-8, never appends a newline, and prints integral floats without a fraction.
Map-typed values (message attributes, schema documents) must be sorted by the caller with
:func:`sorted_map`; struct-like objects keep the insertion order of their ``dict``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any, Literal

Layout = Literal["3", "1", "compact"]

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


_FLOAT_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d+\.\d+')


def go_number(value: float) -> str:
    """A float64 as Go's ``encoding/json`` prints it: shortest digits, plain notation between
    1e-6 and 1e21 (``0.000001``), else an exponent without a leading zero (``4.18e-9``)."""
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    if 1e-6 <= abs(value) < 1e21:
        text = format(decimal.Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(value).partition("e")
    power = int(exponent)
    return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}".replace("e-0", "e-", 1)


def go_g(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 64)``: shortest digits, an exponent (at least
    two digits) when it is below -4 or at least 6, e.g. ``1.23456789e+08``, ``1e-07``, ``2.5``."""
    value = float(value)
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return go_number(value)
    sign, mantissa = ("-", repr(-value)) if value < 0 else ("", repr(value))
    shortest = decimal.Decimal(mantissa).normalize()
    power = shortest.adjusted()
    if -4 <= power < 6:
        return sign + go_number(float(mantissa))
    coefficient = str(shortest.scaleb(-power).normalize())
    return f"{sign}{coefficient}e{'-' if power < 0 else '+'}{abs(power):02d}"


def _go_float_token(match: re.Match[str]) -> str:
    token = match.group(0)
    return token if token.startswith('"') else go_number(float(token))


def dumps(obj: Any, layout: Layout = "3", *, floats: bool = False) -> bytes:
    """Serialise ``obj`` in one of the AMS JSON layouts and return UTF-8 bytes. ``floats``:
    the output may hold fractional numbers, to be printed as Go does (:func:`go_number`;
    off for the large all-string answers such as pulls)."""
    if layout == "compact":
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=int(layout))
    if floats:
        text = _FLOAT_TOKEN_RE.sub(_go_float_token, text)
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (from "\ud800" escapes in request bodies) become U+FFFD, like Go.
        return _SURROGATE_RE.sub("\ufffd", text).encode("utf-8")


def sorted_map(mapping: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a map-typed value with its keys sorted, recursively (Go map order)."""
    return {key: _sorted_value(mapping[key]) for key in sorted(mapping)}


def _sorted_value(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted_map(value)
    if isinstance(value, list):
        return [_sorted_value(item) for item in value]
    return value


def go_float(value: float) -> float | int:
    """Return ``value`` so that :func:`dumps` prints it like Go (``10`` rather than ``10.0``)."""
    if value == int(value) and abs(value) < 1e21:
        return int(value)
    return value


ZERO_TIME = "0001-01-01T00:00:00Z"


def fmt_seconds(epoch_seconds: int) -> str:
    """Format a resource timestamp: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, second precision)."""
    moment = dt.datetime.fromtimestamp(epoch_seconds, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_day(epoch_seconds: int) -> str:
    """Format a daily-counter key: ``YYYY-MM-DD`` (UTC)."""
    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def fmt_publish_time(epoch_ns: int) -> str:
    """Format a message ``publishTime``: up to nine fractional digits, trailing zeros removed."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    base = fmt_seconds(seconds)[:-1]
    if nanos == 0:
        return base + "Z"
    return f"{base}.{nanos:09d}".rstrip("0") + "Z"
