"""Topic operations (spec 4): list, create, show, delete, publish, ACLs, schemas, metrics."""

from __future__ import annotations

from typing import Any, Optional

from starlette.responses import Response

from pymod.emulator import decoding as dec
from pymod.emulator import schemas
from pymod.emulator.api.context import (
    Ctx,
    ServiceBase,
    _decode,
    json_response,
    literal_response,
    metric,
)
from pymod.emulator.decoding import BodyError
from pymod.emulator.errors import (
    AmsError,
    bad_body,
    exists,
    invalid,
    invalid_args,
    not_found,
)
from pymod.emulator.formatting import ZERO_TIME, fmt_seconds
from pymod.emulator.roles import (
    PUBLISHER,
)
from pymod.emulator.store import (
    TOPIC,
    Project,
    Topic,
)


class TopicOps(ServiceBase):
    """Routes ``topics:*`` and ``subscriptions:listByTopic``."""

    def topic_json(self, topic: Topic, project: Project) -> dict[str, Any]:
        """The topic object of spec 4.1."""
        body: dict[str, Any] = {"name": f"/projects/{project.name}/topics/{topic.name}"}
        if topic.schema_id is not None:
            schema = self.store.schema_by_id(topic.schema_id)
            if schema is not None:
                body["schema"] = f"projects/{schema.project_name}/schemas/{schema.name}"
        body["created_on"] = fmt_seconds(topic.created_on)
        return body


    async def op_topics_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/topics`` (spec 4.1)."""
        topics = self._acl_visible(ctx, PUBLISHER, TOPIC, self.store.list_topics(ctx.proj.id))
        return self._paginate(ctx, [(t.id, self.topic_json(t, ctx.proj)) for t in topics],
                              "topics")

    def _schema_ref(self, ctx: Ctx, reference: str) -> int:
        """Resolve ``projects/<any>/schemas/<name>`` in the URL's project to a schema id."""
        parts = reference.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "schemas":
            raise invalid("wrong schema name declaration")
        schema = self.store.schema(ctx.proj.id, parts[3])
        if schema is None:
            raise not_found("Schema")
        return schema.id

    def _schema_map_body(self, ctx: Ctx) -> str:
        """The optional ``{"schema": ...}`` string-map body of topic create / attachSchema."""
        if not ctx.body:
            return ""
        mapping = _decode(bad_body(), lambda: dec.as_str_map(dec.parse_json(ctx.body)))
        return (mapping or {}).get("schema", "")

    async def op_topics_create(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}/topics/{topic}`` (spec 4.2)."""
        reference = self._schema_map_body(ctx)
        schema_id = self._schema_ref(ctx, reference) if reference else None
        if self.store.topic(ctx.proj.id, ctx.vars["topic"]) is not None:
            raise exists("Topic")
        topic = self.store.create_topic(ctx.proj.id, ctx.vars["topic"], schema_id)
        return json_response(self.topic_json(topic, ctx.proj))

    async def op_topics_show(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/topics/{topic}`` (spec 4.3)."""
        return json_response(self.topic_json(self._topic(ctx), ctx.proj))

    async def op_topics_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/projects/{project}/topics/{topic}`` (spec 4.4)."""
        self.store.delete_topic(self._topic(ctx).id)
        return literal_response()

    async def op_topics_publish(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/topics/{topic}:publish`` (spec 4.5)."""
        topic = self._topic(ctx)
        self._check_acl(ctx, PUBLISHER, TOPIC, topic.id)
        messages = _decode(invalid_args("Message"), lambda: _publish_body(ctx.body))
        if topic.schema_id is not None:
            schema = self.store.schema_by_id(topic.schema_id)
            if schema is not None:
                schemas.validate_messages(schema.type, schema.document, [m[1] for m in messages])
        result = self.store.publish(topic, messages, self.max_message_bytes)
        if result.offsets:
            self.notifier.notify()
        if result.too_large:
            raise AmsError(413, "INVALID_ARGUMENT", "Message size is too large")
        return json_response({"messageIds": [str(offset) for offset in result.offsets]})

    async def op_topics_acl(self, ctx: Ctx) -> Response:
        """``GET .../topics/{topic}:acl`` (spec 4.6)."""
        topic = self._topic(ctx)
        return json_response({"authorized_users": self.store.acl_users(TOPIC, topic.id)})

    async def op_topics_modifyAcl(self, ctx: Ctx) -> Response:
        """``POST .../topics/{topic}:modifyAcl`` (spec 4.6)."""
        topic = self.store.topic(ctx.proj.id, ctx.vars["topic"])
        return self._modify_acl(ctx, "Topic ACL", TOPIC, topic.id if topic else None)

    async def op_subscriptions_listByTopic(self, ctx: Ctx) -> Response:
        """``GET .../topics/{topic}/subscriptions`` (spec 4.8)."""
        topic = self._topic(ctx)
        subs = self.store.subscriptions_of_topic(ctx.proj.id, topic.name)
        return json_response({"subscriptions": [s.full_name for s in subs]}, "compact")

    # ------------------------------------------------------------------ schemas of topics

    async def op_topics_attachSchema(self, ctx: Ctx) -> Response:
        """``POST .../topics/{topic}:attachSchema`` (spec 4.7)."""
        topic = self._topic(ctx)
        reference = self._schema_map_body(ctx)
        self.store.set_topic_schema(topic.id, self._schema_ref(ctx, reference)
                                    if reference else None)
        return literal_response()

    async def op_topics_detachSchema(self, ctx: Ctx) -> Response:
        """``POST .../topics/{topic}:detachSchema`` (spec 4.7)."""
        self.store.set_topic_schema(self._topic(ctx).id, None)
        return literal_response()

    async def op_topics_metrics(self, ctx: Ctx) -> Response:
        """``GET .../topics/{topic}:metrics`` (spec 4.9)."""
        topic = self.store.topic(ctx.proj.id, ctx.vars["topic"])
        if ctx.has(PUBLISHER):
            self._check_acl(ctx, PUBLISHER, TOPIC, topic.id if topic else -1)
        if topic is None:
            raise not_found("Topic")
        now = fmt_seconds(self.store.now_s())
        name = topic.name
        subs = len(self.store.subscriptions_of_topic(ctx.proj.id, name))
        daily = self.store.daily_counts(ctx.proj.id, name)[:30]
        last = fmt_seconds(topic.last_publish_ns // 10**9) if topic.last_publish_ns else ZERO_TIME
        return json_response({"metrics": [
            metric("topic.number_of_subscriptions", "topic", name, [(now, subs)]),
            metric("topic.number_of_messages", "topic", name, [(now, topic.message_count)]),
            metric("topic.number_of_bytes", "topic", name, [(now, topic.bytes)]),
            metric("topic.number_of_daily_messages", "topic", name, daily),
            metric("topic.publishing_rate", "topic", name, [(last, topic.publish_rate)]),
        ]}, floats=True)



def _publish_body(body: bytes) -> list[tuple[Optional[dict[str, str]], str]]:
    """Decode a publish body into ``(attributes, data)`` pairs."""
    parsed = dec.parse_struct(body)
    messages: list[tuple[Optional[dict[str, str]], str]] = []
    for item in dec.get_list(parsed, "messages") or []:
        if item is None:
            messages.append((None, ""))
            continue
        if not isinstance(item, dict):
            raise BodyError("message is not an object")
        dec.get_str(item, "messageId")
        dec.get_str(item, "publishTime")
        messages.append((dec.as_str_map(dec.field(item, "attributes")), dec.get_str(item, "data")))
    return messages


