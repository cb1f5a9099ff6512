"""Avro schemas and binary data checked as the real AMS does, with goavro's messages.

The real server compiles Avro schemas with ``github.com/linkedin/goavro`` (v2.1) and checks
each message with ``codec.NativeFromBinary`` (bytes left over after the datum are ignored). This
module follows goavro's ``buildCodec`` and binary decoders closely enough that a schema or a
datum is accepted or refused in the same cases and with the same text, e.g.
``Record "R" field 1 ought to be valid Avro named type: unknown type name: "x"`` or
``cannot decode binary record "user.avro.User" field "phone": short buffer``.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["AvroError", "Codec", "compile_schema"]

_MAX_BLOCK = 2**31 - 1
_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
_NAME_START = re.compile(r"[A-Za-z_]")
_NAME_REST = re.compile(r"[A-Za-z0-9_]*")

Decoder = Callable[[bytes, int], int]  # (buffer, position) -> new position


class AvroError(ValueError):
    """A schema goavro cannot compile or a datum it cannot decode; ``str()`` is its message."""


class Codec:
    """A compiled schema: ``name`` is goavro's type name, :meth:`check` decodes one datum."""

    def __init__(self, name: str, decode: Optional[Decoder] = None) -> None:
        self.name = name
        self.decode: Decoder = decode or (lambda buf, pos: pos)

    @property
    def namespace(self) -> str:
        return self.name.rpartition(".")[0]

    def check(self, data: bytes) -> None:
        """Raise :class:`AvroError` unless ``data`` starts with a valid datum."""
        self.decode(data, 0)


# ---------------------------------------------------------------------------- Go formatting


def go_type(value: Any) -> str:
    """Go's ``%T`` of a value decoded by ``encoding/json`` into ``interface{}``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "[]interface {}" if isinstance(value, list) else "map[string]interface {}"


def go_value(value: Any) -> str:
    """Go's ``%v`` of such a value (maps with sorted keys, as fmt prints them)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        if number.is_integer() and abs(number) < 1e21:
            return str(int(number))
        text = repr(number)
        mantissa, _, exponent = text.partition("e")
        return f"{mantissa}e{int(exponent):+03d}" if exponent else text
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"


def _q(text: str) -> str:
    """Go's ``%q`` of a (validated, ASCII) Avro name."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- names


def _check_component(component: str) -> None:
    if not component:
        raise AvroError("be non-empty string")
    if not _NAME_START.match(component):
        raise AvroError("start with [A-Za-z_]: " + component)
    if not _NAME_REST.fullmatch(component[1:]):
        raise AvroError("have second and remaining characters contain only [A-Za-z0-9_]: "
                        + component)


def _name(schema: Dict[str, Any], enclosing: str) -> str:
    """goavro's ``newNameFromSchemaMap``: the full name, or :class:`AvroError`."""
    if "name" not in schema:
        raise AvroError("schema ought to have name key")
    name = schema["name"]
    if not isinstance(name, str) or not name:
        raise AvroError(f"schema name ought to be non-empty string; received: {go_type(name)}")
    namespace = ""
    if "namespace" in schema:
        namespace = schema["namespace"]
        if not isinstance(namespace, str) or not namespace:
            raise AvroError("schema namespace, if provided, ought to be non-empty string; "
                            f"received: {go_type(namespace)}")
    if "." in name:
        full = name
    elif namespace:
        full = f"{namespace}.{name}"
    elif enclosing:
        full = f"{enclosing}.{name}"
    else:
        full = name
    for component in full.split("."):
        try:
            _check_component(component)
        except AvroError as exc:  # goavro's ErrInvalidName
            raise AvroError(f"schema name ought to {exc}") from None
    return full


# ---------------------------------------------------------------------------- decoders


def _varint(buf: bytes, pos: int, bits: int) -> Tuple[int, int]:
    value = shift = 0
    for index in range(pos, len(buf)):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            value &= (1 << bits) - 1 if bits == 64 else 0xFFFFFFFF
            return (value >> 1) ^ -(value & 1), index + 1
        shift += 7
    raise AvroError("short buffer")


def _long(buf: bytes, pos: int) -> Tuple[int, int]:
    return _varint(buf, pos, 64)


def _bytes(buf: bytes, pos: int) -> Tuple[bytes, int]:
    if pos >= len(buf):
        raise AvroError("cannot decode binary bytes: short buffer")
    try:
        size, pos = _long(buf, pos)
    except AvroError as exc:
        raise AvroError(f"cannot decode binary bytes: {exc}") from None
    if size < 0:
        raise AvroError(f"cannot decode binary bytes: negative size: {size}")
    if size > len(buf) - pos:
        raise AvroError("cannot decode binary bytes: short buffer")
    return buf[pos:pos + size], pos + size


def _string(buf: bytes, pos: int) -> Tuple[str, int]:
    try:
        raw, pos = _bytes(buf, pos)
    except AvroError as exc:
        raise AvroError(f"cannot decode binary string: {exc}") from None
    return raw.decode("utf-8", "replace"), pos


def _boolean(buf: bytes, pos: int) -> int:
    if pos >= len(buf):
        raise AvroError("short buffer")
    if buf[pos] > 1:
        raise AvroError("cannot decode binary boolean: expected: Go byte(0) or byte(1); "
                        f"received: byte({buf[pos]})")
    return pos + 1


def _floating(kind: str, size: int) -> Decoder:
    def decode(buf: bytes, pos: int) -> int:
        if len(buf) - pos < size:
            raise AvroError(f"cannot decode binary {kind}: short buffer")
        struct.unpack_from("<f" if size == 4 else "<d", buf, pos)
        return pos + size
    return decode


_PRIMITIVE_DECODERS: Dict[str, Decoder] = {
    "null": lambda buf, pos: pos,
    "boolean": _boolean,
    "int": lambda buf, pos: _varint(buf, pos, 32)[1],
    "long": lambda buf, pos: _long(buf, pos)[1],
    "float": _floating("float", 4),
    "double": _floating("double", 8),
    "bytes": lambda buf, pos: _bytes(buf, pos)[1],
    "string": lambda buf, pos: _string(buf, pos)[1],
}


def _blocks(kind: str, buf: bytes, pos: int, item: Callable[[int, bytes, int], int]) -> int:
    """Array/map blocks: counts (negative: followed by a byte size) until a zero count."""
    while True:
        try:
            count, pos = _long(buf, pos)
        except AvroError as exc:
            raise AvroError(f"cannot decode binary {kind} block count: {exc}") from None
        if count < 0:
            if count == -(2**63):
                raise AvroError(f"cannot decode binary {kind} with block count: {count}")
            count = -count
            try:
                _, pos = _long(buf, pos)
            except AvroError as exc:
                raise AvroError(f"cannot decode binary {kind} block size: {exc}") from None
        if count > _MAX_BLOCK:
            raise AvroError(f"cannot decode binary {kind} when block count exceeds "
                            f"MaxBlockCount: {count} > {_MAX_BLOCK}")
        if count == 0:
            return pos
        for index in range(count):
            pos = item(index, buf, pos)


# ---------------------------------------------------------------------------- compiling


class _Compiler:
    """goavro's ``buildCodec`` family over a symbol table of named types."""

    def __init__(self) -> None:
        self.table: Dict[str, Codec] = {name: Codec(name, _PRIMITIVE_DECODERS[name])
                                        for name in _PRIMITIVES}

    def build(self, schema: Any, enclosing: str) -> Codec:
        if isinstance(schema, dict):
            return self.by_map(schema, enclosing)
        if isinstance(schema, str):
            return self.by_string(schema, enclosing, None)
        if isinstance(schema, list):
            return self.union(schema, enclosing)
        raise AvroError(f"unknown schema type: {go_type(schema)}")

    def by_map(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        if "type" not in schema:
            raise AvroError(f"missing type: {go_value(schema)}")
        kind = schema["type"]
        if isinstance(kind, str):
            return self.by_string(kind, enclosing, schema)
        if isinstance(kind, dict):
            return self.by_map(kind, enclosing)
        if isinstance(kind, list):
            return self.union(kind, enclosing)
        raise AvroError("type ought to be either string, map[string]interface{}, or "
                        f"[]interface{{}}; received: {go_type(kind)}")

    def by_string(self, kind: str, enclosing: str, schema: Optional[Dict[str, Any]]) -> Codec:
        if kind in self.table:
            return self.table[kind]
        if enclosing and f"{enclosing}.{kind}" in self.table:
            return self.table[f"{enclosing}.{kind}"]
        makers = {"array": self.array, "enum": self.enum, "fixed": self.fixed, "map": self.map,
                  "record": self.record}
        if kind not in makers:
            raise AvroError(f"unknown type name: {_q(kind)}")
        return makers[kind](schema or {}, enclosing)

    def register(self, schema: Dict[str, Any], enclosing: str, what: str) -> Codec:
        try:
            full = _name(schema, enclosing)
        except AvroError as exc:
            raise AvroError(f"{what} ought to have valid name: {exc}") from None
        codec = Codec(full)
        self.table[full] = codec
        return codec

    def union(self, members: List[Any], enclosing: str) -> Codec:
        if not members:
            raise AvroError("Union ought to have one or more members")
        codecs: List[Codec] = []
        for index, member in enumerate(members, 1):
            try:
                codec = self.build(member, enclosing)
            except AvroError as exc:
                raise AvroError(f"Union item {index} ought to be valid Avro type: {exc}") from None
            if any(c.name == codec.name for c in codecs):
                raise AvroError(f"Union item {index} ought to be unique type: {codec.name}")
            codecs.append(codec)

        def decode(buf: bytes, pos: int) -> int:
            chosen, pos = _long(buf, pos)
            if not 0 <= chosen < len(codecs):
                raise AvroError("cannot decode binary union: index ought to be between 0 and "
                                f"{len(codecs) - 1}; read index: {chosen}")
            try:
                return codecs[chosen].decode(buf, pos)
            except AvroError as exc:
                raise AvroError(f"cannot decode binary union item {chosen + 1}: {exc}") from None
        return Codec("union", decode)

    def child(self, schema: Dict[str, Any], key: str, what: str, enclosing: str) -> Codec:
        """The ``items`` of an array or the ``values`` of a map."""
        if key not in schema:
            raise AvroError(f"{what} ought to have {key} key")
        try:
            return self.build(schema[key], enclosing)
        except AvroError as exc:
            raise AvroError(f"{what} {key} ought to be valid Avro type: {exc}") from None

    def array(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        items = self.child(schema, "items", "Array", enclosing)

        def item(index: int, buf: bytes, pos: int) -> int:
            try:
                return items.decode(buf, pos)
            except AvroError as exc:
                raise AvroError(f"cannot decode binary array item {index + 1}: {exc}") from None

        def decode(buf: bytes, pos: int) -> int:
            return _blocks("array", buf, pos, item)
        return Codec("array", decode)

    def map(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        values = self.child(schema, "values", "Map", enclosing)

        def decode(buf: bytes, pos: int) -> int:
            seen: set[str] = set()

            def entry(index: int, buf: bytes, at: int) -> int:
                try:
                    key, at = _string(buf, at)
                except AvroError as exc:
                    raise AvroError(f"cannot decode binary map key: {exc}") from None
                if key in seen:
                    raise AvroError(f"cannot decode binary map: duplicate key: {_q(key)}")
                seen.add(key)
                try:
                    return values.decode(buf, at)
                except AvroError as exc:
                    raise AvroError(f"cannot decode binary map value for key {_q(key)}: "
                                    f"{exc}") from None
            return _blocks("map", buf, pos, entry)
        return Codec("map", decode)

    def enum(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        codec = self.register(schema, enclosing, "Enum")
        name = _q(codec.name)
        if "symbols" not in schema:
            raise AvroError(f"Enum {name} ought to have symbols key")
        symbols = schema["symbols"]
        if not isinstance(symbols, list) or not symbols:
            raise AvroError(f"Enum {name} symbols ought to be non-empty array of strings: "
                            f"{go_value(symbols)}")
        for index, symbol in enumerate(symbols, 1):
            if not isinstance(symbol, str):  # goavro prints the type of its (string) variable
                raise AvroError(f"Enum {name} symbol {index} ought to be non-empty string; "
                                "received: string")
            try:
                _check_component(symbol)
            except AvroError as exc:
                raise AvroError(f"Enum {name} symbol {index} ought to {exc}") from None

        def decode(buf: bytes, pos: int) -> int:
            try:
                index, pos = _long(buf, pos)
            except AvroError as exc:
                raise AvroError(f"cannot decode binary enum {name} index: {exc}") from None
            if not 0 <= index < len(symbols):
                raise AvroError(f"cannot decode binary enum {name}: index ought to be between 0 "
                                f"and {len(symbols) - 1}; read index: {index}")
            return pos
        codec.decode = decode
        return codec

    def fixed(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        codec = self.register(schema, enclosing, "Fixed")
        name = _q(codec.name)
        if "size" not in schema:
            raise AvroError(f"Fixed {name} ought to have size key")
        size = schema["size"]
        if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
            raise AvroError(f"Fixed {name} size ought to be number greater than zero: "
                            f"{go_value(size)}")
        length = math.floor(size)

        def decode(buf: bytes, pos: int) -> int:
            if length > len(buf) - pos:
                raise AvroError(f"cannot decode binary fixed {name}: schema size exceeds "
                                f"remaining buffer size: {length} > {len(buf) - pos} (short buffer)")
            return pos + length
        codec.decode = decode
        return codec

    def record(self, schema: Dict[str, Any], enclosing: str) -> Codec:
        codec = self.register(schema, enclosing, "Record")
        name = _q(codec.name)
        if "fields" not in schema:
            raise AvroError(f"Record {name} ought to have fields key")
        fields = schema["fields"]
        if not isinstance(fields, list) or not fields:
            raise AvroError(f"Record {name} fields ought to be non-empty array: {go_value(fields)}")
        decoders: List[Tuple[str, Codec]] = []
        for index, field in enumerate(fields, 1):
            if not isinstance(field, dict):
                raise AvroError(f"Record {name} field {index} ought to be valid Avro named type; "
                                f"received: {go_value(field)}")
            try:
                field_codec = self.by_map(field, codec.namespace)
            except AvroError as exc:
                raise AvroError(f"Record {name} field {index} ought to be valid Avro named type: "
                                f"{exc}") from None
            try:
                field_name = _name(field, codec.namespace).rpartition(".")[2]
            except AvroError:
                raise AvroError(f"Record {name} field {index} ought to have valid name: "
                                f"{go_value(field)}") from None
            if any(existing == field_name for existing, _ in decoders):
                raise AvroError(f"Record {name} field {index} ought to have unique name: "
                                f"{_q(field_name)}")
            decoders.append((field_name, field_codec))

        def decode(buf: bytes, pos: int) -> int:
            for field_name, field_codec in decoders:
                try:
                    pos = field_codec.decode(buf, pos)
                except AvroError as exc:
                    raise AvroError(f"cannot decode binary record {name} field {_q(field_name)}: "
                                    f"{exc}") from None
            return pos
        codec.decode = decode
        return codec


def compile_schema(schema: Any) -> Codec:
    """Compile an Avro schema (a decoded JSON value) as ``goavro.NewCodec`` does, or raise
    :class:`AvroError` with goavro's message. ``None`` (JSON ``null``) is the null type, as
    goavro finds the specification text ``null`` among its primitive names."""
    compiler = _Compiler()
    return compiler.table["null"] if schema is None else compiler.build(schema, "")
