"""Schema support of the emulator (spec section 6): JSON Schema via ``jsonschema``, Avro via
:mod:`pymod.emulator.goavro` (goavro's rules and messages, as the real server uses goavro).

Error texts follow the real service where the spec gives them (6.2, 6.6); violations are
phrased like the Go validator the service uses (``(root): temp is required``,
``temp: Invalid type. Expected: number, given: string``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Optional

import jsonschema

from pymod.emulator import goavro
from pymod.emulator.errors import invalid
from pymod.emulator.formatting import go_float, go_g, sorted_map
from pymod.emulator.gojson import GoJSONError, decode_first

_PRIMITIVES = ("array", "boolean", "integer", "number", "null", "object", "string")
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def check_type(schema_type: str) -> str:
    """Normalise a schema type (case-insensitive ``json``/``avro``) or raise 400."""
    lowered = schema_type.lower()
    if lowered not in ("json", "avro"):
        raise invalid("Schema type can only be 'json' or 'avro'")
    return lowered


def _normalise(value: Any) -> Any:
    """Numbers as Go re-serialises a decoded document (``10.0`` → ``10``)."""
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, float):
        return go_float(value)
    return value


def _invalid_primitive(document: Any) -> str:
    """The first ``type`` keyword naming an unknown primitive type, or ``""``."""
    if isinstance(document, list):
        for item in document:
            found = _invalid_primitive(item)
            if found:
                return found
        return ""
    if not isinstance(document, dict):
        return ""
    declared = document.get("type")
    names = declared if isinstance(declared, list) else [declared]
    for name in names:
        if isinstance(name, str) and name not in _PRIMITIVES:
            return name
    for item in document.values():
        found = _invalid_primitive(item)
        if found:
            return found
    return ""


def check_schema(schema_type: str, document: Optional[dict[str, Any]]
                 ) -> Optional[dict[str, Any]]:
    """Check that ``document`` compiles for ``schema_type``; return it normalised (keys sorted
    at every level, as the service re-serialises it, which also fixes the violation order).
    ``None`` (no schema given) is "schema is invalid" for JSON and the null type for Avro.

    A failure raises ``E(400, INVALID_ARGUMENT, <compiler message>)`` (spec 6.2).
    """
    if document is None:
        if schema_type == "json":
            raise invalid("schema is invalid")  # gojsonschema on a nil schema
        _parse_avro(None)
        return None
    document = sorted_map(_normalise(document))
    if schema_type == "json":
        bad = _invalid_primitive(document)
        if bad:
            raise invalid(f"has a primitive type that is NOT VALID -- given: /{bad}/ Expected "
                          f"valid values are:[{' '.join(_PRIMITIVES)}]")
        validator = jsonschema.validators.validator_for(document, jsonschema.Draft7Validator)
        try:
            validator.check_schema(document)
        except jsonschema.SchemaError as exc:
            raise invalid(_compiler_message(exc)) from exc
    else:
        _parse_avro(document)
    return document


_OBJECT_KEYWORDS = ("properties", "patternProperties", "definitions", "dependencies")
_COUNT_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties",
                   "maxProperties")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _compiler_message(error: jsonschema.SchemaError) -> str:
    """gojsonschema's words for a schema it cannot compile, for the common keywords; else
    jsonschema's."""
    key = error.path[-1] if error.path else ""
    value = error.instance
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == "type" and not isinstance(value, str):
        return "Invalid type. Expected: string/array of strings, given: type"
    if key in _OBJECT_KEYWORDS and not isinstance(value, dict):
        return f"{key} must be of type object"
    if key in ("required", "enum") and not isinstance(value, list):
        return f"{key} must be of an array"
    if key in _COUNT_KEYWORDS:
        if not number or (isinstance(value, float) and not value.is_integer()):
            return f"{key} must be of an integer"
        if value < 0:
            return f"{key} must be greater than or equal to 0"
    if key in _NUMBER_KEYWORDS:
        if not number:
            return f"{key} must be of a number"
        if key == "multipleOf" and value <= 0:
            return "multipleOf must be strictly greater than 0"
    if key == "pattern":
        return ("pattern must be a valid regex" if isinstance(value, str)
                else "pattern must be of type string")
    if key == "items":
        return "Invalid type. Expected: valid schema/array of schemas, given: items"
    if key in ("additionalProperties", "additionalItems"):
        return f"Invalid type. Expected: boolean/valid schema, given: {key}"
    return str(error.message)


def _parse_avro(document: Optional[dict[str, Any]]) -> goavro.Codec:
    try:
        return goavro.compile_schema(document)
    except goavro.AvroError as exc:
        raise invalid(str(exc)) from exc


def go_b64decode(text: str) -> bytes:
    """Decode standard Base64 like Go's ``StdEncoding`` (padding required, CR/LF ignored).

    Raises ``ValueError("illegal base64 data at input byte N")``.
    """
    cleaned = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        position = next((i for i, ch in enumerate(cleaned) if ch not in _B64_ALPHABET),
                        len(cleaned))
        raise ValueError(f"illegal base64 data at input byte {position}") from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _violation(error: jsonschema.ValidationError) -> str:
    """Phrase a violation like the Go validator: ``<field>: <description>``."""
    field = ".".join(str(part) for part in error.path) or "(root)"
    kind, expected = error.validator, error.validator_value
    descriptions: dict[str, Callable[[], str]] = {
        "type": lambda: "Invalid type. Expected: "
        f"{'/'.join(expected) if isinstance(expected, list) else expected}, "
        f"given: {_json_type(error.instance)}",
        "enum": lambda: f"{field} must be one of the following: "
        + ", ".join(f'"{item}"' for item in expected),
        "multipleOf": lambda: f"Must be a multiple of {go_g(expected)}",
        "minProperties": lambda: f"Must have at least {expected} properties",
        "maxProperties": lambda: f"Must have at most {expected} properties",
        "anyOf": lambda: "Must validate at least one schema (anyOf)",
        "oneOf": lambda: "Must validate one and only one schema (oneOf)",
        "allOf": lambda: "Must validate all the schemas (allOf)",
        "not": lambda: "Must not validate the schema (not)",
        "minimum": lambda: f"Must be greater than or equal to {go_g(expected)}",
        "maximum": lambda: f"Must be less than or equal to {go_g(expected)}",
        "exclusiveMinimum": lambda: f"Must be greater than {go_g(expected)}",
        "exclusiveMaximum": lambda: f"Must be less than {go_g(expected)}",
        "minLength": lambda: f"String length must be greater than or equal to {expected}",
        "maxLength": lambda: f"String length must be less than or equal to {expected}",
        "pattern": lambda: f"Does not match pattern '{expected}'",
        "minItems": lambda: f"Array must have at least {expected} items",
        "maxItems": lambda: f"Array must have at most {expected} items",
    }
    if kind == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else ""
        return f"{field}: {missing} is required"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{field}: Additional property {extra[0] if extra else ''} is not allowed"
    describe = descriptions.get(str(kind))
    return f"{field}: {describe() if describe else error.message}"


#: gojsonschema checks a node in this order: its type, the combinators, the object / array /
#: number / string keywords, then const and enum; the node's children come after all of them.
_KEYWORD_ORDER = {name: rank for rank, names in enumerate((
    ("type",), ("allOf", "anyOf", "oneOf", "not"),
    ("maxProperties", "minProperties"), ("required",), ("additionalProperties",),
    ("patternProperties", "propertyNames", "dependencies"),
    ("minItems", "maxItems", "uniqueItems", "contains", "additionalItems"),
    ("multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    ("minLength", "maxLength", "pattern", "format"), ("const", "enum"))) for name in names}


def _go_order(error: jsonschema.ValidationError) -> list[tuple[int, Any]]:
    """Sort key putting violations in gojsonschema's order. (It visits an object's properties
    in Go's random map order; here they are taken by name.)"""
    key: list[tuple[int, Any]] = [(1, part) for part in error.absolute_path]
    return key + [(0, _KEYWORD_ORDER.get(str(error.validator), len(_KEYWORD_ORDER)))]


def validate_messages(schema_type: str, document: Optional[dict[str, Any]],
                      datas: Sequence[str]) -> None:
    """Validate Base64 ``data`` strings against a schema (spec 6.6).

    The first failing message raises ``E(400, INVALID_ARGUMENT, ...)`` naming its index.
    """
    parsed_avro: Any = _parse_avro(document) if schema_type == "avro" else None
    validator = None
    if schema_type == "json":
        cls = jsonschema.validators.validator_for(document, jsonschema.Draft7Validator)
        validator = cls(document)
    for index, data in enumerate(datas):
        try:
            payload = go_b64decode(data)
        except ValueError as exc:
            raise invalid(f"Message {index} is not in valid base64 enocding,{exc}") from exc
        if validator is not None:
            try:
                instance = decode_first(payload)
            except GoJSONError as exc:
                raise invalid(f"Message {index} data is not valid JSON format,{exc}") from exc
            violations = [_violation(e) for e in
                          sorted(validator.iter_errors(instance), key=_go_order)]
            if len(violations) == 1:
                raise invalid(f"Message {index} data is not valid,{violations[0]}")
            if violations:
                listed = "".join(f"{n}){v}." for n, v in enumerate(violations, 1))
                raise invalid(f"Message {index} data is not valid.{listed}")
        else:
            try:
                parsed_avro.check(payload)
            except goavro.AvroError as exc:
                raise invalid(f"Message {index} is not valid.{exc}") from exc
