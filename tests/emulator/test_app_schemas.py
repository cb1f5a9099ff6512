"""Schemas: CRUD, compile errors and validation messages (spec 6)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import fastavro
from ams_testkit import Ams, error_of

READING = {"type": "object", "properties": {"unit": {"type": "string"},
                                            "temp": {"type": "number"}},
           "required": ["temp"]}
AVRO = {"type": "record", "name": "Reading",
        "fields": [{"name": "temp", "type": "double"}, {"name": "unit", "type": "string"}]}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def publish_raw(ams: Ams, *datas: str) -> Any:
    return ams.call("POST", "/projects/DEMO/topics/alerts:publish",
                    body={"messages": [{"data": d} for d in datas]})


def test_schema_create_show_list_bytes(ams: Ams) -> None:
    created = ams.call("POST", "/projects/DEMO/schemas/reading",
                       body={"type": "JSON", "schema": READING})
    uuid = created.json()["uuid"]
    assert created.content == (
        '{\n "uuid": "' + uuid + '",\n "name": "projects/DEMO/schemas/reading",\n'
        ' "type": "json",\n "schema": {\n  "properties": {\n   "temp": {\n'
        '    "type": "number"\n   },\n   "unit": {\n    "type": "string"\n   }\n  },\n'
        '  "required": [\n   "temp"\n  ],\n  "type": "object"\n }\n}').encode()
    assert ams.call("GET", "/projects/DEMO/schemas/reading").content == created.content
    assert ams.call("GET", "/projects/DEMO/schemas").json()["schemas"][0]["uuid"] == uuid
    assert error_of(ams.call("POST", "/projects/DEMO/schemas/reading",
                             body={"type": "json", "schema": {}}))[2] == "Schema already exists"


def test_empty_schema_list_bytes(ams: Ams) -> None:
    assert ams.call("GET", "/projects/DEMO/schemas").content == b'{\n "schemas": []\n}'


def test_schema_create_errors(ams: Ams) -> None:
    path = "/projects/DEMO/schemas/s"
    assert error_of(ams.call("POST", path, body={"type": "json", "schema": "x"}))[2] == (
        "Invalid Schema Arguments")
    assert error_of(ams.call("POST", path, body={"type": "xml", "schema": {}}))[2] == (
        "Schema type can only be 'json' or 'avro'")
    reply = ams.call("POST", path, body={"type": "json", "schema": {"type": "unknown"}})
    assert error_of(reply)[2] == (
        "has a primitive type that is NOT VALID -- given: /unknown/ Expected valid values are:"
        "[array boolean integer number null object string]")
    reply = ams.call("POST", path, body={"type": "avro", "schema": {
        "type": "record", "name": "R", "fields": [{"name": "f", "type": "unknown"}]}})
    assert error_of(reply) == (400, "INVALID_ARGUMENT", 'Record "R" field 1 ought to be valid Avro '
                               'named type: unknown type name: "unknown"')  # goavro's words


def test_publish_validates_json_messages(ams: Ams) -> None:
    ams.call("POST", "/projects/DEMO/schemas/reading", body={"type": "json", "schema": READING})
    ams.call("PUT", "/projects/DEMO/topics/alerts",
             body={"schema": "projects/OTHER/schemas/reading"})
    assert ams.call("GET", "/projects/DEMO/topics/alerts").json()["schema"] == (
        "projects/DEMO/schemas/reading")
    good = b64(json.dumps({"temp": 3.5}).encode())
    assert publish_raw(ams, good).json() == {"messageIds": ["0"]}
    cases = [
        ((good, "%%%"), "Message 1 is not in valid base64 enocding,"
                        "illegal base64 data at input byte 0"),
        ((b64(b"{"),), "Message 0 data is not valid JSON format,"),
        ((b64(b"{}"),), "Message 0 data is not valid,(root): temp is required"),
        ((b64(b'{"temp": "hot", "unit": 5}'),),
         "Message 0 data is not valid.1)temp: Invalid type. Expected: number, given: string."
         "2)unit: Invalid type. Expected: string, given: integer."),
    ]
    for datas, message in cases:
        code, status, text = error_of(publish_raw(ams, *datas))
        assert (code, status) == (400, "INVALID_ARGUMENT")
        assert text.startswith(message), text
    assert ams.call("GET", "/projects/DEMO/subscriptions/x:offsets").status_code == 404
    metrics = ams.call("GET", "/projects/DEMO/topics/alerts:metrics").json()["metrics"]
    assert metrics[1]["timeseries"][0]["value"] == 1  # failed requests stored nothing


def test_validate_endpoint(ams: Ams) -> None:
    ams.call("POST", "/projects/DEMO/schemas/reading", body={"type": "json", "schema": READING})
    path = "/projects/DEMO/schemas/reading:validate"
    assert ams.call("POST", path, body={"temp": 1}).content == (
        b'{\n "message": "Message validated successfully"\n}')
    assert error_of(ams.call("POST", path, body={"unit": "C"}))[2] == (
        "Message 0 data is not valid,(root): temp is required")
    # the body goes to the validator as is: Go's decoder words for JSON that stops early
    assert error_of(ams.call("POST", path, raw=b"{")) == (
        400, "INVALID_ARGUMENT", "Message 0 data is not valid JSON format,unexpected EOF")
    assert error_of(ams.call("POST", "/projects/DEMO/schemas/nope:validate", body={}))[2] == (
        "Schema doesn't exist")


def test_avro_validation(ams: Ams) -> None:
    ams.call("POST", "/projects/DEMO/schemas/avro", body={"type": "avro", "schema": AVRO})
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(AVRO),
                               {"temp": 1.5, "unit": "C"})
    path = "/projects/DEMO/schemas/avro:validate"
    assert ams.call("POST", path, body={"data": b64(buffer.getvalue())}).status_code == 200
    assert error_of(ams.call("POST", path, body={"data": b64(b"\x01")}))[2].startswith(
        "Message 0 is not valid.")
    assert error_of(ams.call("POST", path, body={"x": "y"}))[2] == (
        "Invalid Schema Payload Arguments")
    assert error_of(ams.call("POST", path, body=[1]))[1] == "BAD_REQUEST"


def test_schema_update_rename_and_delete_detaches(ams: Ams) -> None:
    ams.call("POST", "/projects/DEMO/schemas/reading", body={"type": "json", "schema": READING})
    ams.call("POST", "/projects/DEMO/schemas/other", body={"type": "json", "schema": {}})
    ams.call("PUT", "/projects/DEMO/topics/alerts",
             body={"schema": "projects/DEMO/schemas/reading"})
    path = "/projects/DEMO/schemas/reading"
    assert error_of(ams.call("PUT", path, body={"name": "reading2"}))[2] == (
        "wrong schema name declaration")
    assert error_of(ams.call("PUT", path, body={"name": "projects/DEMO/schemas/other"}))[2] == (
        "Schema already exists")
    assert error_of(ams.call("PUT", path, body={"type": "avro"}))[0] == 400  # re-checked
    renamed = ams.call("PUT", path, body={"name": "projects/DEMO/schemas/renamed"}).json()
    assert renamed["name"] == "projects/DEMO/schemas/renamed"
    assert ams.call("GET", "/projects/DEMO/topics/alerts").json()["schema"] == (
        "projects/DEMO/schemas/renamed")
    assert ams.call("DELETE", "/projects/DEMO/schemas/renamed").content == b""
    assert "schema" not in ams.call("GET", "/projects/DEMO/topics/alerts").json()
    assert error_of(ams.call("DELETE", "/projects/DEMO/schemas/renamed"))[0] == 404


def test_attach_and_detach(ams: Ams) -> None:
    ams.topic()
    ams.call("POST", "/projects/DEMO/schemas/reading", body={"type": "json", "schema": READING})
    path = "/projects/DEMO/topics/alerts"
    assert ams.call("POST", f"{path}:attachSchema",
                    body={"schema": "projects/DEMO/schemas/reading"}).content == b""
    assert error_of(publish_raw(ams, b64(b"{}")))[0] == 400
    assert error_of(ams.call("POST", f"{path}:attachSchema", body={"schema": "bad"}))[2] == (
        "wrong schema name declaration")
    assert ams.call("POST", f"{path}:detachSchema").status_code == 200
    assert publish_raw(ams, "not base64 at all").status_code == 200
    ams.call("POST", f"{path}:attachSchema", body={"schema": "projects/DEMO/schemas/reading"})
    assert ams.call("POST", f"{path}:attachSchema", raw=b"").status_code == 200  # detaches
    assert "schema" not in ams.call("GET", path).json()
