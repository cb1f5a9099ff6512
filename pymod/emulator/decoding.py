"""Request-body decoding with the semantics of Go's ``encoding/json`` (spec section 1.4).

* Object keys match struct fields case-insensitively; unknown keys are ignored.
* Types are strict: a number where a string is expected (or vice versa) invalidates the body.
* ``null`` for a field leaves it at its zero value; a top-level ``null`` decodes to an empty
  struct.
* Integers must be JSON integers within the int64 range.

Every decoding failure raises :class:`BodyError`; each route turns it into its own
"invalid body" error.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class BodyError(ValueError):
    """The request body (or one of its fields) does not decode into the expected shape."""


def _no_constant(name: str) -> Any:
    raise BodyError(f"invalid JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BodyError(f"number {text} overflows float64")
    return value


def _replace_surrogates(value: Any) -> Any:
    """Replace lone UTF-16 surrogates (from ``\\ud800``-style escapes) by U+FFFD, like Go."""
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def parse_json(body: bytes) -> Any:
    """Parse a request body as JSON; invalid UTF-8 and lone surrogate escapes become U+FFFD
    like in Go."""
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise BodyError(str(exc)) from exc
    if _SURROGATE_ESCAPE_RE.search(text):
        value = _replace_surrogates(value)
    return value


def parse_struct(body: bytes) -> dict[str, Any]:
    """Parse a body that must decode into a Go struct: a JSON object, or ``null`` (= ``{}``)."""
    value = parse_json(body)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BodyError("body is not a JSON object")
    return value


def _fold_equal(left: str, right: str) -> bool:
    """Compare two keys the way Go matches JSON keys to field names (simple case folding)."""
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        if a == b:
            continue
        lowered = (a.lower(), b.lower())
        uppered = (a.upper(), b.upper())
        if not (lowered[0] == lowered[1] or uppered[0] == uppered[1]):
            return False
    return True


def field(obj: dict[str, Any], name: str) -> Any:
    """Return the value for struct field ``name`` (last case-insensitive match), or ``None``."""
    if name in obj:
        found = obj[name]
        # A later key differing only in case overrides an earlier exact one in Go.
        for key, value in obj.items():
            if key != name and _fold_equal(key, name):
                found = value
        return found
    result = None
    for key, value in obj.items():
        if _fold_equal(key, name):
            result = value
    return result


def get_str(obj: dict[str, Any], name: str) -> str:
    """A string field; missing or ``null`` → ``""``."""
    value = field(obj, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BodyError(f"field {name} is not a string")
    return value


def get_int(obj: dict[str, Any], name: str) -> int:
    """An int64 field; missing or ``null`` → 0."""
    value = field(obj, name)
    if value is None:
        return 0
    if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
        raise BodyError(f"field {name} is not an int64")
    return value


def get_bool(obj: dict[str, Any], name: str) -> bool:
    """A boolean field; missing or ``null`` → ``False``."""
    value = field(obj, name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BodyError(f"field {name} is not a boolean")
    return value


def get_obj(obj: dict[str, Any], name: str) -> Optional[dict[str, Any]]:
    """A nested struct field; missing or ``null`` → ``None``."""
    value = field(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BodyError(f"field {name} is not an object")
    return value


def get_list(obj: dict[str, Any], name: str) -> Optional[list[Any]]:
    """An array field; missing or ``null`` → ``None``."""
    value = field(obj, name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise BodyError(f"field {name} is not an array")
    return value


def get_str_list(obj: dict[str, Any], name: str) -> Optional[list[str]]:
    """A ``[]string`` field; ``null`` items decode to ``""``; missing or ``null`` → ``None``."""
    items = get_list(obj, name)
    if items is None:
        return None
    return [as_str(item) for item in items]


def as_str(value: Any) -> str:
    """Decode one value into a Go ``string`` (``null`` → ``""``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BodyError("value is not a string")
    return value


def as_str_map(value: Any) -> Optional[dict[str, str]]:
    """Decode one value into a Go ``map[string]string`` (``null`` → ``None``)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BodyError("value is not an object")
    return {key: as_str(item) for key, item in value.items()}
