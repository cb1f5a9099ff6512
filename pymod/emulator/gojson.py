"""Go's ``encoding/json`` scanner, for the real server's texts about malformed JSON.

The real AMS validates message payloads against JSON schemas with gojsonschema, which reads
them with ``json.NewDecoder(...).Decode``: the first JSON value is read and anything after it
is ignored; a syntax error is reported in Go's words (``invalid character 'o' in literal null
(expecting 'u')``), input that stops inside a value as ``unexpected EOF`` and empty input as
``EOF``. :func:`decode_first` reproduces that, byte by byte as Go's scanner does.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

__all__ = ["GoJSONError", "decode_first", "quote_char"]


class GoJSONError(ValueError):
    """A JSON text Go's decoder refuses; ``str()`` is Go's message."""


def quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as a quoted character, e.g. ``'o'``, ``'\\n'``, ``'Ã'``."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    char = chr(c)
    if char.isprintable() and c != 0x5C:
        return f"'{char}'"
    escapes = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
               0x0B: "\\v", 0x5C: "\\\\"}
    if c in escapes:
        return f"'{escapes[c]}'"
    return f"'\\x{c:02x}'" if c < 0x80 else f"'\\u{c:04x}'"


_SPACE = b" \t\r\n"
_State = Callable[[int], None]


class _Scanner:
    """A transcription of Go's ``encoding/json/scanner.go`` state machine (errors only)."""

    def __init__(self) -> None:
        self.stack: list[str] = []  # "object-key", "object-value", "array-value"
        self.step: _State = self.begin_value
        self.done = False  # the top-level value is complete

    def fail(self, c: int, context: str) -> None:
        raise GoJSONError(f"invalid character {quote_char(c)} {context}")

    # -- values
    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("{"):
            self.stack.append("object-key")
            self.step = self.begin_key_or_empty
        elif c == ord("["):
            self.stack.append("array-value")
            self.step = self.begin_value_or_empty
        elif c == ord('"'):
            self.step = self.in_string
        elif c == ord("-"):
            self.step = self.neg
        elif c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.digits
        elif c in b"tfn":
            word = {ord("t"): "true", ord("f"): "false", ord("n"): "null"}[c]
            self.step = self.literal(word, 1)
        else:
            self.fail(c, "looking for beginning of value")

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_key_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = "object-value"
            self.end_value(c)
            return
        self.begin_key(c)

    def begin_key(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord('"'):
            self.step = self.in_string
            return
        self.fail(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.done = True
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        top = self.stack[-1]
        if top == "object-key":
            if c == ord(":"):
                self.stack[-1] = "object-value"
                self.step = self.begin_value
                return
            self.fail(c, "after object key")
        elif top == "object-value":
            if c == ord(","):
                self.stack[-1] = "object-key"
                self.step = self.begin_key
                return
            if c == ord("}"):
                self.pop()
                return
            self.fail(c, "after object key:value pair")
        else:
            if c == ord(","):
                self.step = self.begin_value
                return
            if c == ord("]"):
                self.pop()
                return
            self.fail(c, "after array element")

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.done = True  # Go invents the space byte that ends the value
        self.step = self.end_value

    # -- strings
    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_escape
        elif c < 0x20:
            self.fail(c, "in string literal")

    def in_escape(self, c: int) -> None:
        if c in b'bfnrt\\/"':
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self.in_unicode(0)
        else:
            self.fail(c, "in string escape code")

    def in_unicode(self, seen: int) -> _State:
        def step(c: int) -> None:
            if chr(c) not in "0123456789abcdefABCDEF":
                self.fail(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if seen == 3 else self.in_unicode(seen + 1)
        return step

    # -- numbers
    def neg(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.digits
        else:
            self.fail(c, "in numeric literal")

    def digits(self, c: int) -> None:
        if ord("0") <= c <= ord("9"):
            return
        self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.dot
        elif c in b"eE":
            self.step = self.exp_sign
        else:
            self.end_value_now(c)

    def dot(self, c: int) -> None:
        if ord("0") <= c <= ord("9"):
            self.step = self.dot_digits
            return
        self.fail(c, "after decimal point in numeric literal")

    def dot_digits(self, c: int) -> None:
        if ord("0") <= c <= ord("9"):
            return
        if c in b"eE":
            self.step = self.exp_sign
            return
        self.end_value_now(c)

    def exp_sign(self, c: int) -> None:
        if c in b"+-":
            self.step = self.exp_first
            return
        self.exp_first(c)

    def exp_first(self, c: int) -> None:
        if ord("0") <= c <= ord("9"):
            self.step = self.exp_digits
            return
        self.fail(c, "in exponent of numeric literal")

    def exp_digits(self, c: int) -> None:
        if ord("0") <= c <= ord("9"):
            return
        self.end_value_now(c)

    def end_value_now(self, c: int) -> None:
        """A number ends at the first byte that cannot continue it (that byte counts)."""
        if not self.stack:
            self.done = True
            return
        self.end_value(c)

    # -- literals
    def literal(self, word: str, index: int) -> _State:
        def step(c: int) -> None:
            if c != ord(word[index]):
                self.fail(c, f"in literal {word} (expecting {quote_char(ord(word[index]))})")
            self.step = self.end_value if index == len(word) - 1 else self.literal(word, index + 1)
        return step


_DECODER = json.JSONDecoder(parse_constant=lambda name: _refuse(name))


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_first(data: bytes) -> Any:
    """Decode the first JSON value of ``data`` like Go's ``json.Decoder.Decode`` (the rest is
    ignored). Raises :class:`GoJSONError` with Go's message (``EOF``, ``unexpected EOF`` or a
    syntax error)."""
    text = data.decode("utf-8", "replace").lstrip(" \t\r\n")
    try:  # fast path: Python's parser agrees with Go's on what it accepts, but for numbers
        value, end = _DECODER.raw_decode(text)  # that Go would read further ("1." or "1e")
        if not (isinstance(value, (int, float)) and text[end:end + 1] in (".", "e", "E")):
            return value
    except ValueError:
        pass
    return _scan(data)


def _scan(data: bytes) -> Any:
    """Go's scanner, byte by byte: the value, or Go's error for it."""
    scanner = _Scanner()
    start: Optional[int] = None
    end = len(data)
    for index, c in enumerate(data):
        if start is None and c not in _SPACE:
            start = index
        scanner.step(c)
        if scanner.done:
            # an object or array ends with its closing bracket; any other value ends before
            # the byte that told the scanner so
            end = index + 1 if data[start or 0] in b"{[" else index
            break
    else:
        if start is None:
            raise GoJSONError("EOF")
        if scanner.stack or scanner.step not in (scanner.end_value, scanner.digits,
                                                 scanner.zero, scanner.dot_digits,
                                                 scanner.exp_digits):
            raise GoJSONError("unexpected EOF")
    text = data[start or 0:end].decode("utf-8", "replace")
    return json.loads(text)

