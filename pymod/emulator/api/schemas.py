"""Schema operations (spec 6): create, show, list, update, delete, validate."""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import Response

from pymod.emulator import decoding as dec
from pymod.emulator import schemas
from pymod.emulator.api.context import (
    Ctx,
    ServiceBase,
    _decode,
    json_response,
    literal_response,
)
from pymod.emulator.errors import (
    bad_body,
    exists,
    invalid,
    invalid_args,
    not_found,
)
from pymod.emulator.formatting import sorted_map
from pymod.emulator.store import (
    Schema,
)


class SchemaOps(ServiceBase):
    """Routes ``schemas:*``."""

    @staticmethod
    def schema_json(schema: Schema) -> dict[str, Any]:
        """The schema object of spec 6.1."""
        return {"uuid": schema.uuid,
                "name": f"projects/{schema.project_name}/schemas/{schema.name}",
                "type": schema.type,
                "schema": None if schema.document is None else sorted_map(schema.document)}

    def _schema(self, ctx: Ctx) -> Schema:
        schema = self.store.schema(ctx.proj.id, ctx.vars["schema"])
        if schema is None:
            raise not_found("Schema")
        return schema

    async def op_schemas_create(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/schemas/{schema}`` (spec 6.2)."""
        error = invalid_args("Schema")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        schema_type = _decode(error, lambda: dec.get_str(body, "type"))
        raw_document = _decode(error, lambda: dec.get_obj(body, "schema"))
        if self.store.schema(ctx.proj.id, ctx.vars["schema"]) is not None:
            raise exists("Schema")
        schema_type = schemas.check_type(schema_type)
        document = schemas.check_schema(schema_type, raw_document)
        schema = self.store.create_schema(ctx.proj.id, ctx.vars["schema"], schema_type, document)
        return json_response(self.schema_json(schema), "1", floats=True)

    async def op_schemas_show(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/schemas/{schema}`` (spec 6.3)."""
        return json_response(self.schema_json(self._schema(ctx)), "1", floats=True)

    async def op_schemas_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/schemas`` (spec 6.1)."""
        return json_response({"schemas": [self.schema_json(s) for s in
                                          self.store.list_schemas(ctx.proj.id)]}, "1", floats=True)

    async def op_schemas_update(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}/schemas/{schema}`` (spec 6.4)."""
        schema = self._schema(ctx)
        error = invalid_args("Schema")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        reference = _decode(error, lambda: dec.get_str(body, "name"))
        new_type = _decode(error, lambda: dec.get_str(body, "type"))
        new_document = _decode(error, lambda: dec.get_obj(body, "schema"))
        name = schema.name
        if reference:
            parts = reference.split("/")
            if len(parts) != 4 or parts[0] != "projects" or parts[2] != "schemas":
                raise invalid("wrong schema name declaration")
            if parts[3] != schema.name and self.store.schema(ctx.proj.id, parts[3]) is not None:
                raise exists("Schema")
            name = parts[3]
        schema_type = schemas.check_type(new_type) if new_type else schema.type
        # an empty "schema" is no new schema (the real server checks its length)
        document = new_document if new_document else schema.document
        if new_type or new_document:
            document = schemas.check_schema(schema_type, document)
        self.store.update_schema(schema.id, name, schema_type, document)
        updated = self.store.schema_by_id(schema.id)
        assert updated is not None
        return json_response(self.schema_json(updated), "1", floats=True)

    async def op_schemas_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/projects/{project}/schemas/{schema}`` (spec 6.3)."""
        self.store.delete_schema(self._schema(ctx).id)
        return literal_response()

    async def op_schemas_validateMessage(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/schemas/{schema}:validate`` (spec 6.5)."""
        schema = self._schema(ctx)
        if schema.type == "avro":
            mapping = _decode(bad_body(), lambda: dec.as_str_map(dec.parse_json(ctx.body)))
            if mapping is None or "data" not in mapping:
                raise invalid_args("Schema Payload")
            data = mapping["data"]
        else:  # the body as is: its JSON errors come from the validator, in Go's words
            data = base64.b64encode(ctx.body).decode("ascii")
        schemas.validate_messages(schema.type, schema.document, [data])
        return json_response({"message": "Message validated successfully"}, "1")




