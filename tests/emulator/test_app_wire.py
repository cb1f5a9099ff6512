"""Output formats (spec 1.5, 1.8) and Go-like body decoding (spec 1.4)."""

from __future__ import annotations

import pytest

from pymod.emulator import decoding as dec
from pymod.emulator.formatting import dumps, fmt_publish_time, fmt_seconds, go_float
from pymod.emulator.schemas import go_b64decode


def test_three_space_one_space_and_compact_layouts() -> None:
    value = {"b": [1, {"x": []}], "a": {}}
    assert dumps(value) == b'{\n   "b": [\n      1,\n      {\n         "x": []\n      }\n   ],\n   "a": {}\n}'
    assert dumps(value, "1") == b'{\n "b": [\n  1,\n  {\n   "x": []\n  }\n ],\n "a": {}\n}'
    assert dumps(value, "compact") == b'{"b":[1,{"x":[]}],"a":{}}'


def test_html_characters_are_escaped_and_unicode_is_raw() -> None:
    assert dumps({"m": "<a & b>\u2028\u2029 é ✓"}, "compact") == (
        '{"m":"\\u003ca \\u0026 b\\u003e\\u2028\\u2029 é ✓"}'.encode())
    assert dumps({"m": "\ud800"}, "compact") == '{"m":"\ufffd"}'.encode()


def test_floats_print_like_go() -> None:
    assert dumps([go_float(10.0), go_float(0.5), go_float(7.25)], "compact") == b"[10,0.5,7.25]"


@pytest.mark.parametrize(("ns", "text"), [
    (1_714_642_867_123_456_789, "2024-05-02T09:41:07.123456789Z"),
    (1_714_642_867_500_000_000, "2024-05-02T09:41:07.5Z"),
    (1_714_642_867_000_000_000, "2024-05-02T09:41:07Z"),
    (1_714_642_867_000_000_010, "2024-05-02T09:41:07.00000001Z"),
])
def test_publish_time_format(ns: int, text: str) -> None:
    assert fmt_publish_time(ns) == text


def test_resource_time_format() -> None:
    assert fmt_seconds(1_714_642_867) == "2024-05-02T09:41:07Z"


def test_keys_match_case_insensitively_and_types_are_strict() -> None:
    body = dec.parse_struct(b'{"MAXMESSAGES": "5", "returnimmediately": null}')
    assert dec.get_str(body, "maxMessages") == "5"
    assert dec.get_str(body, "returnImmediately") == ""
    assert dec.parse_struct(b"null") == {}
    with pytest.raises(dec.BodyError):
        dec.get_int(dec.parse_struct(b'{"offset": 1.0}'), "offset")
    with pytest.raises(dec.BodyError):
        dec.get_int(dec.parse_struct(b'{"offset": 9223372036854775808}'), "offset")
    with pytest.raises(dec.BodyError):
        dec.get_str(dec.parse_struct(b'{"name": true}'), "name")
    for raw in (b"", b"NaN", b"[1] x", b"1e999", b"[" * 100_000):
        with pytest.raises(dec.BodyError):
            dec.parse_json(raw)


def test_lone_surrogate_escapes_become_replacement_characters() -> None:
    parsed = dec.parse_json(b'{"k\\udfff": ["x\\ud800y", "\\ud83d\\ude00"]}')
    assert parsed == {"k\ufffd": ["x\ufffdy", "\U0001F600"]}


def test_go_base64() -> None:
    assert go_b64decode("aGk=\n") == b"hi"
    with pytest.raises(ValueError, match="illegal base64 data at input byte 2"):
        go_b64decode("aG!k")
    with pytest.raises(ValueError, match="illegal base64 data"):
        go_b64decode("aGk")
