"""Byte-exact output formats of AMS (spec sections 1.5 and 1.8).

Three JSON layouts exist: 3-space, 1-space and compact. Like Go's ``encoding/json`` the
emulator escapes ``<``, ``>``, ``&``, U+2028 and U+2029, prints other non-ASCII characters
as raw UTF-8, never appends a newline, and prints integral floats without a fraction.
Map-typed values (message attributes, schema documents) must be sorted by the caller with
:func:`sorted_map`; struct-like objects keep the insertion order of their ``dict``.
"""

from __future__ import annotations

import datetime as dt
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


def dumps(obj: Any, layout: Layout = "3") -> bytes:
    """Serialise ``obj`` in one of the AMS JSON layouts and return UTF-8 bytes."""
    if layout == "compact":
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=int(layout))
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
