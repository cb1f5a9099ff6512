"""The Go-compatible error texts of the emulator: encoding/json's decoder and goavro.

Expected texts are the real server's (seen from the oracle; the conformance suite checks the
same against it when it can run)."""

from __future__ import annotations

import pytest

from pymod.emulator.goavro import AvroError, compile_schema
from pymod.emulator.gojson import GoJSONError, decode_first

USER = {"fields": [{"name": "username", "type": "string"}, {"name": "phone", "type": "int"}],
        "name": "User", "namespace": "user.avro", "type": "record"}


@pytest.mark.parametrize("data, message", [
    (b"not json", "invalid character 'o' in literal null (expecting 'u')"),
    (b"", "EOF"),
    (b"{", "unexpected EOF"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
    (b"{1:2}", "invalid character '1' looking for beginning of object key string"),
    (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
    (b'"\\q"', "invalid character 'q' in string escape code"),
    (b"\x01", "invalid character '\\x01' looking for beginning of value"),
])
def test_go_decoder_errors(data: bytes, message: str) -> None:
    with pytest.raises(GoJSONError) as caught:
        decode_first(data)
    assert str(caught.value) == message


def test_go_decoder_reads_the_first_value_only() -> None:
    assert decode_first(b' {"a": [1, 2.5, null]} trailing') == {"a": [1, 2.5, None]}
    assert decode_first(b"12 13") == 12


@pytest.mark.parametrize("data, message", [
    (b"\x00", 'cannot decode binary record "user.avro.User" field "phone": short buffer'),
    (b"\xff\xff\xff\xff", 'cannot decode binary record "user.avro.User" field "username": '
                          "cannot decode binary string: cannot decode binary bytes: short buffer"),
    (b"\x04u", 'cannot decode binary record "user.avro.User" field "username": '
               "cannot decode binary string: cannot decode binary bytes: short buffer"),
])
def test_goavro_decode_errors(data: bytes, message: str) -> None:
    codec = compile_schema(USER)
    with pytest.raises(AvroError) as caught:
        codec.check(data)
    assert str(caught.value) == message


def test_goavro_accepts_a_datum_and_ignores_what_follows() -> None:
    compile_schema(USER).check(b"\x02u\x02" + b"extra")


@pytest.mark.parametrize("schema, message", [
    ({"type": "record"}, "Record ought to have valid name: schema ought to have name key"),
    ({"type": "record", "name": "R", "fields": [{"name": "a", "type": "nonsense"}]},
     'Record "R" field 1 ought to be valid Avro named type: unknown type name: "nonsense"'),
    ({"type": "object", "properties": {}}, 'unknown type name: "object"'),
    ({"name": "x"}, "missing type: map[name:x]"),
    ({"type": "enum", "name": "E", "symbols": []},
     'Enum "E" symbols ought to be non-empty array of strings: []'),
    ({"type": "array"}, "Array ought to have items key"),
    (["int", "int"], "Union item 2 ought to be unique type: int"),
])
def test_goavro_schema_errors(schema: object, message: str) -> None:
    with pytest.raises(AvroError) as caught:
        compile_schema(schema)
    assert str(caught.value) == message


@pytest.mark.parametrize("value, json_text, g_text", [
    (4.18e-9, "4.18e-9", "4.18e-09"),
    (0.000001, "0.000001", "1e-06"),
    (1e21, "1e+21", "1e+21"),
    (123456789.0, "123456789", "1.23456789e+08"),
    (2.5, "2.5", "2.5"),
    (-1.5e-7, "-1.5e-7", "-1.5e-07"),
])
def test_go_float_printing(value: float, json_text: str, g_text: str) -> None:
    from pymod.emulator.formatting import dumps, go_g, go_number

    assert go_number(value) == json_text  # encoding/json
    assert go_g(value) == g_text  # strconv 'g', as gojsonschema's messages print bounds
    assert dumps({"v": value, "s": "1e-07"}, "compact", floats=True) == (
        b'{"v":' + json_text.encode() + b',"s":"1e-07"}')


def test_fast_path_agrees_with_the_byte_scanner() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pymod.emulator.gojson import _scan

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet='{}[],:"\\ 0123456789.-+eEtrufalsn\x01x', max_size=12))
    def agree(text: str) -> None:
        data = text.encode()
        try:
            expected: object = _scan(data)
        except GoJSONError as exc:
            expected = exc
        try:
            got: object = decode_first(data)
        except GoJSONError as exc:
            got = exc
        if isinstance(expected, GoJSONError):
            assert isinstance(got, GoJSONError) and str(got) == str(expected)
        else:
            assert got == expected

    agree()
