"""The AMS emulator's ASGI application: all 64 routes of spec section 3.

:func:`create_app` returns a Starlette application that implements the AMS v1 wire protocol
(``/work/shared/spec/ams-v1.md``) on top of a :class:`~pymod.emulator.store.Store`. It is written
from the spec alone and shares no code with the client.

Routing follows the real service's router: routes are tried in the order of the spec's table,
path variables match any run of characters except ``/`` (so ``GET .../topics/t:unknownVerb``
reaches "show topic" and fails name validation), an unknown path gets the plain-text
``404 page not found`` and a known path with the wrong method an empty 405. Every request then
goes through the steps of spec 1.3 (name validation, token presence, project existence, token
lookup, route authorization) before its operation runs.

Deviations and choices
----------------------
* No "service token" is configured: every caller is a user with a token.
* Only ``x-api-key`` and then ``?key=`` are read (the ``both`` setting).
* The route→roles table is the default of spec 13.1 (:mod:`pymod.emulator.roles`); creating
  registrations (``registrations:newUser``) needs ``service_admin``.
* Per-resource authorization is enabled.
* Push support is enabled by default; the push worker account (``push_worker_name``, service
  role ``push_worker``) is created when the app is built. Delivery is done by a separate worker
  using the store's push API; ``/status`` reports the push server as
  ``app.state.service.push_server_endpoint`` with status ``app.state.service.push_server_status``
  (both may be reassigned by whoever runs the worker).
* ``modifyOffset`` out of bounds is rejected without storing the offset.
* ``modifyAcl`` on an unknown topic or subscription answers the intended 404; unknown users on
  update/refreshToken/delete answer ``404:User``.
* Topic logs have no retention: ``min`` is always 0.
* Messages whose attribute keys or values contain ``"``, ``\\`` or control characters are stored,
  but pulling them fails with 500 "Message retrieved from broker network has invalid JSON
  Structure", as on the real service.
* Daily publish counters survive topic deletion (they are history used by the VA report) and
  are removed with the project. Membership entries are removed with their project.
* ``publishing_rate``/``consumption_rate`` use the elapsed time since the previous request,
  or 1 s for the first one.
* The ``golang``/``compiler``/``build_time`` values of ``/version`` are fixed plausible values.
* Paths are not cleaned (no 301 redirects for ``//`` or ``..``): they simply do not match.
  ``HEAD`` is not routed (405), like every method without a route.
* Request bodies are decoded like Go does: invalid UTF-8 and lone ``\\ud800``-style escapes
  become U+FFFD; a top-level ``null`` counts as ``{}`` for struct bodies.
* Violations of JSON schemas are phrased like the Go validator for the common keywords
  (required, type, enum, min/max, lengths, pattern, additionalProperties) and listed in the
  order of the (sorted) schema; Avro and JSON-Schema compiler messages other than the two
  quoted in the spec are those of ``fastavro`` / ``jsonschema``.
* The push worker joins a project as a member without project roles when one of the
  project's endpoints is verified.
* CPU/memory in ``/v1/metrics`` are the load average per core and the process's peak RSS.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import datetime as dt
import http.client
import logging
import os
import platform
import re
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Sequence
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from pymod.emulator import decoding as dec
from pymod.emulator import schemas
from pymod.emulator.decoding import BodyError
from pymod.emulator.errors import (
    AmsError,
    bad_body,
    conflict,
    exists,
    forbidden,
    internal,
    invalid,
    invalid_args,
    not_found,
    unauthorized,
)
from pymod.emulator.formatting import ZERO_TIME, Layout, dumps, fmt_seconds, go_float, sorted_map
from pymod.emulator.roles import (
    ADMIN_VIEWER,
    CONSUMER,
    PROJECT_ADMIN,
    PUBLISHER,
    PUSH_WORKER,
    SERVICE_ADMIN,
    VALID_ROLES,
    route_allows,
)
from pymod.emulator.store import (
    SUBSCRIPTION,
    TOPIC,
    Project,
    PushConfig,
    Registration,
    Schema,
    Store,
    StoredMessage,
    Subscription,
    Topic,
    User,
    new_token,
)

logger = logging.getLogger(__name__)

#: Longest wait of a ``returnImmediately: "false"`` pull, in seconds (spec 12.2).
PULL_WAIT_SECONDS = 300.0

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_ZULU_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})\.(\d{3})Z")
_UNREADABLE_ATTR_RE = re.compile(r'["\\\x00-\x1f]')
_INT64_MAX = 2**63 - 1


# ---------------------------------------------------------------------------- routing table


@dataclasses.dataclass(frozen=True)
class RouteSpec:
    """One row of the spec's route table."""

    route_id: str
    method: str
    template: str
    authenticated: bool
    regex: re.Pattern[str]


def _route(route_id: str, method: str, template: str, authenticated: bool = True) -> RouteSpec:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)"
                      for i, p in enumerate(parts))
    return RouteSpec(route_id, method, template, authenticated, re.compile(pattern))


_P = "/projects/{project}"
_S = f"{_P}/subscriptions/{{subscription}}"
_T = f"{_P}/topics/{{topic}}"
_SC = f"{_P}/schemas/{{schema}}"

#: All 64 routes, in the router's matching order (spec section 3).
ROUTES: tuple[RouteSpec, ...] = (
    _route("ams:metrics", "GET", "/metrics"),
    _route("ams:healthStatus", "GET", "/status", authenticated=False),
    _route("ams:vaMetrics", "GET", "/metrics/va_metrics"),
    _route("users:byToken", "GET", "/users:byToken/{token}"),
    _route("users:byUUID", "GET", "/users:byUUID/{uuid}"),
    _route("users:list", "GET", "/users"),
    _route("users:profile", "GET", "/users/profile", authenticated=False),
    _route("users:usageReport", "GET", "/users/usageReport", authenticated=False),
    _route("users:show", "GET", "/users/{user}"),
    _route("users:refreshToken", "POST", "/users/{user}:refreshToken"),
    _route("users:create", "POST", "/users/{user}"),
    _route("users:update", "PUT", "/users/{user}"),
    _route("users:delete", "DELETE", "/users/{user}"),
    _route("registrations:newUser", "POST", "/registrations"),
    _route("registrations:acceptNewUser", "POST", "/registrations/{uuid}:accept"),
    _route("registrations:declineNewUser", "POST", "/registrations/{uuid}:decline"),
    _route("registrations:delete", "DELETE", "/registrations/{uuid}"),
    _route("registrations:show", "GET", "/registrations/{uuid}"),
    _route("registrations:list", "GET", "/registrations"),
    _route("projects:list", "GET", "/projects"),
    _route("projects:metrics", "GET", f"{_P}:metrics"),
    _route("projects:addUser", "POST", f"{_P}/members/{{user}}:add"),
    _route("projects:removeUser", "POST", f"{_P}/members/{{user}}:remove"),
    _route("projects:showUser", "GET", f"{_P}/members/{{user}}"),
    _route("projects:createUser", "POST", f"{_P}/members/{{user}}"),
    _route("projects:updateUser", "PUT", f"{_P}/members/{{user}}"),
    _route("projects:listUsers", "GET", f"{_P}/members"),
    _route("projects:show", "GET", _P),
    _route("projects:create", "POST", _P),
    _route("projects:update", "PUT", _P),
    _route("projects:delete", "DELETE", _P),
    _route("subscriptions:list", "GET", f"{_P}/subscriptions"),
    _route("subscriptions:listByTopic", "GET", f"{_T}/subscriptions"),
    _route("subscriptions:offsets", "GET", f"{_S}:offsets"),
    _route("subscriptions:timeToOffset", "GET", f"{_S}:timeToOffset"),
    _route("subscriptions:acl", "GET", f"{_S}:acl"),
    _route("subscriptions:metrics", "GET", f"{_S}:metrics"),
    _route("subscriptions:show", "GET", _S),
    _route("subscriptions:create", "PUT", _S),
    _route("subscriptions:delete", "DELETE", _S),
    _route("subscriptions:pull", "POST", f"{_S}:pull"),
    _route("subscriptions:acknowledge", "POST", f"{_S}:acknowledge"),
    _route("subscriptions:verifyPushEndpoint", "POST", f"{_S}:verifyPushEndpoint"),
    _route("subscriptions:modifyAckDeadline", "POST", f"{_S}:modifyAckDeadline"),
    _route("subscriptions:modifyPushConfig", "POST", f"{_S}:modifyPushConfig"),
    _route("subscriptions:modifyOffset", "POST", f"{_S}:modifyOffset"),
    _route("subscriptions:modifyAcl", "POST", f"{_S}:modifyAcl"),
    _route("topics:list", "GET", f"{_P}/topics"),
    _route("topics:acl", "GET", f"{_T}:acl"),
    _route("topics:metrics", "GET", f"{_T}:metrics"),
    _route("topics:show", "GET", _T),
    _route("topics:create", "PUT", _T),
    _route("topics:delete", "DELETE", _T),
    _route("topics:publish", "POST", f"{_T}:publish"),
    _route("topics:modifyAcl", "POST", f"{_T}:modifyAcl"),
    _route("topics:attachSchema", "POST", f"{_T}:attachSchema"),
    _route("topics:detachSchema", "POST", f"{_T}:detachSchema"),
    _route("schemas:validateMessage", "POST", f"{_SC}:validate"),
    _route("schemas:create", "POST", _SC),
    _route("schemas:show", "GET", _SC),
    _route("schemas:list", "GET", f"{_P}/schemas"),
    _route("schemas:update", "PUT", _SC),
    _route("schemas:delete", "DELETE", _SC),
    _route("version:list", "GET", "/version", authenticated=False),
)


# ---------------------------------------------------------------------------- responses


def json_response(obj: Any, layout: Layout = "3") -> Response:
    """A 200 response with ``obj`` in the given JSON layout."""
    return Response(dumps(obj, layout), 200, media_type=JSON_TYPE)


def literal_response(body: bytes = b"") -> Response:
    """A 200 JSON response with a literal body (``b""`` or ``b"{}"``)."""
    return Response(body, 200, media_type=JSON_TYPE)


def error_response(error: AmsError) -> Response:
    """The error envelope of spec 1.6 (``text/plain`` for the pre-operation steps of 1.3)."""
    body = {"error": {"code": error.code, "message": error.message, "status": error.status}}
    return Response(dumps(body), error.code, media_type=TEXT_TYPE if error.plain else JSON_TYPE)


def _router_404() -> Response:
    return Response(b"404 page not found\n", 404, media_type=TEXT_TYPE,
                    headers={"X-Content-Type-Options": "nosniff"})


_CORS_HEADERS = {
    "Access-Control-Allow-Methods": "OPTIONS, POST, GET, PUT, DELETE, HEAD",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, x-api-key",
}


# ---------------------------------------------------------------------------- request context


@dataclasses.dataclass
class Ctx:
    """Everything a route operation needs about the request and its caller."""

    route: RouteSpec
    vars: dict[str, str]
    query: dict[str, str]
    token: str
    body: bytes = b""
    project: Optional[Project] = None
    caller: Optional[User] = None
    roles: frozenset[str] = frozenset()

    @property
    def proj(self) -> Project:
        """The URL's project (routes with ``{project}``; checked by the auth steps)."""
        assert self.project is not None
        return self.project

    def has(self, role: str) -> bool:
        """True when the caller holds ``role``."""
        return role in self.roles


def _first_values(query_string: str) -> dict[str, str]:
    """Query parameters, first value wins (like Go's ``url.Values.Get``)."""
    values: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        values.setdefault(key, value)
    return values


_T_Body = TypeVar("_T_Body")


def _decode(error: AmsError, parse: Callable[[], _T_Body]) -> _T_Body:
    """Run a body decoder, turning any decoding failure into the route's ``error``."""
    try:
        return parse()
    except BodyError as exc:
        raise error from exc


class PublishNotifier:
    """Wakes long-polling pulls when messages are published (thread-safe ``notify``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        """Wake every waiting pull (they re-read their topic)."""
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        for future in waiters:
            future.get_loop().call_soon_threadsafe(_resolve, future)

    async def wait(self, timeout: float) -> None:
        """Wait until the next :meth:`notify` or until ``timeout`` seconds have passed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiters.add(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# ---------------------------------------------------------------------------- the service


Handler = Callable[[Ctx], Awaitable[Response]]


class AmsService:
    """The AMS operations over a :class:`Store`; one method per route id."""

    def __init__(
        self,
        store: Store,
        *,
        push_enabled: bool,
        push_worker_name: str,
        max_message_bytes: int,
        push_verify_ca: Optional[str],
    ) -> None:
        self.store = store
        self.push_enabled = push_enabled
        self.push_worker_name = push_worker_name
        self.max_message_bytes = max_message_bytes
        self.push_verify_ca = push_verify_ca
        self.notifier = PublishNotifier()
        self.push_server_endpoint = "localhost:5555"
        self.push_server_status = "SERVING"
        self.handlers: dict[str, Handler] = {
            route.route_id: getattr(self, "op_" + re.sub(r"\W", "_", route.route_id))
            for route in ROUTES
        }

    # ------------------------------------------------------------------ ASGI entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except AmsError as error:
            response = error_response(error)
        except Exception:
            logger.exception("unexpected error in %s %s", request.method, scope.get("path"))
            response = error_response(internal("Internal Error"))
        if "origin" in request.headers:
            response.headers["Access-Control-Allow-Origin"] = "*"
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        """Route a request (spec 1.1/1.7) and run it through the steps of spec 1.3."""
        path: str = request.scope["path"]
        if (request.method == "OPTIONS" and "origin" in request.headers
                and "access-control-request-method" in request.headers):
            return Response(b"", 200, headers=_CORS_HEADERS)
        if not path.startswith("/v1/"):
            return _router_404()
        path = path[3:]
        path_known = False
        for route in ROUTES:
            match = route.regex.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if route.method == request.method:
                return await self.run(route, match.groupdict(), request)
        return Response(b"", 405) if path_known else _router_404()

    async def run(self, route: RouteSpec, path_vars: dict[str, str], request: Request
                  ) -> Response:
        """Apply the authentication/authorization steps of spec 1.3, then the operation."""
        for name in sorted(path_vars):
            if NAME_RE.fullmatch(path_vars[name]) is None:
                raise AmsError(400, "INVALID_ARGUMENT", f"Invalid {name} name", plain=True)
        query = _first_values(request.url.query)
        token = request.headers.get("x-api-key", "") or query.get("key", "")
        ctx = Ctx(route, path_vars, query, token)
        if route.authenticated:
            self._authenticate(ctx)
        ctx.body = await request.body()
        return await self.handlers[route.route_id](ctx)

    def _authenticate(self, ctx: Ctx) -> None:
        if not ctx.token:
            raise AmsError(401, "UNAUTHORIZED", "Unauthorized", plain=True)
        project_name = ctx.vars.get("project")
        if project_name is not None:
            ctx.project = self.store.project_by_name(project_name)
            if ctx.project is None and ctx.route.route_id != "projects:create":
                raise AmsError(404, "NOT_FOUND", "project doesn't exist", plain=True)
        ctx.caller = self.store.user_by_token(ctx.token)
        if ctx.caller is None:
            raise AmsError(401, "UNAUTHORIZED", "Unauthorized", plain=True)
        ctx.roles = self._roles_of(ctx.caller, ctx.project)
        if not ctx.roles:
            raise AmsError(401, "UNAUTHORIZED", "Unauthorized", plain=True)
        if not route_allows(ctx.route.route_id, ctx.roles):
            raise AmsError(403, "FORBIDDEN", "Access to this resource is forbidden", plain=True)

    def _roles_of(self, user: User, project: Optional[Project]) -> frozenset[str]:
        roles = set(user.service_roles or [])
        if project is not None:
            entry = self.store.membership(user.id, project.id)
            if entry is not None:
                roles.update(entry.roles or [])
        return frozenset(roles)

    # ------------------------------------------------------------------ shared lookups

    def _topic(self, ctx: Ctx) -> Topic:
        topic = self.store.topic(ctx.proj.id, ctx.vars["topic"])
        if topic is None:
            raise not_found("Topic")
        return topic

    def _sub(self, ctx: Ctx) -> Subscription:
        sub = self.store.subscription(ctx.proj.id, ctx.vars["subscription"])
        if sub is None:
            raise not_found("Subscription")
        return sub

    def _check_acl(self, ctx: Ctx, role: str, kind: str, resource_id: int) -> None:
        """Per-resource authorization (spec 13.2): holders of ``role`` must be in the ACL."""
        assert ctx.caller is not None
        if ctx.has(role) and not self.store.acl_contains(kind, resource_id, ctx.caller.id):
            raise forbidden()

    def _paginate(self, ctx: Ctx, items: Sequence[tuple[int, Any]], key: str) -> Response:
        """Paginated listing (spec 1.9) of ``(id, json)`` pairs sorted newest first."""
        size_text = ctx.query.get("pageSize", "")
        page_size = 0
        if size_text:
            if _INT_RE.fullmatch(size_text) is None or abs(int(size_text)) > _INT64_MAX:
                raise invalid("Invalid page size")
            page_size = int(size_text)
        token = ctx.query.get("pageToken", "")
        selected = list(items)
        if token:
            try:
                decoded = base64.b64decode(token, validate=True).decode("ascii")
            except (binascii.Error, ValueError) as exc:
                raise invalid("Invalid page token") from exc
            if re.fullmatch(r"[0-9a-fA-F]{24}", decoded) is None:
                raise invalid("Invalid page token")
            start = int(decoded, 16)
            selected = [item for item in selected if item[0] <= start]
        next_token = ""
        if 0 < page_size < len(selected):
            next_token = base64.b64encode(f"{selected[page_size][0]:024x}".encode()).decode()
            selected = selected[:page_size]
        return json_response({key: [item[1] for item in selected],
                              "nextPageToken": next_token, "totalSize": len(items)})

    def _users_exist_in_project(self, ctx: Ctx, names: Sequence[str]) -> list[int]:
        """User ids for ACL modification; all must exist and be members (else 404)."""
        ids: list[int] = []
        missing: list[str] = []
        for name in names:
            user = self.store.user_by_name(name)
            if user is None or self.store.membership(user.id, ctx.proj.id) is None:
                if name not in missing:
                    missing.append(name)
            else:
                ids.append(user.id)
        if missing:
            raise AmsError(404, "NOT_FOUND", f"User(s): {', '.join(missing)} do not exist")
        return ids

    def _acl_body(self, ctx: Ctx, thing: str) -> list[str]:
        error = invalid_args(thing)
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        names = _decode(error, lambda: dec.get_str_list(body, "authorized_users"))
        if names is None:
            raise error
        return names

    # ------------------------------------------------------------------ JSON views

    def topic_json(self, topic: Topic, project: Project) -> dict[str, Any]:
        """The topic object of spec 4.1."""
        body: dict[str, Any] = {"name": f"/projects/{project.name}/topics/{topic.name}"}
        if topic.schema_id is not None:
            schema = self.store.schema_by_id(topic.schema_id)
            if schema is not None:
                body["schema"] = f"projects/{schema.project_name}/schemas/{schema.name}"
        body["created_on"] = fmt_seconds(topic.created_on)
        return body

    @staticmethod
    def sub_json(sub: Subscription) -> dict[str, Any]:
        """The subscription object of spec 5.1."""
        push = sub.push
        auth: dict[str, Any] = {}
        if push.auth_type:
            auth["type"] = push.auth_type
        if push.auth_value:
            auth["value"] = push.auth_value
        retry: dict[str, Any] = {}
        if push.retry_type:
            retry["type"] = push.retry_type
        if push.retry_period:
            retry["period"] = push.retry_period
        body: dict[str, Any] = {
            "name": sub.full_name,
            "topic": f"/projects/{sub.project_name}/topics/{sub.topic_name}",
            "pushConfig": {
                "type": push.type,
                "pushEndpoint": push.endpoint,
                "maxMessages": push.max_messages,
                "authorizationHeader": auth,
                "retryPolicy": retry,
                "verificationHash": push.verification_hash,
                "verified": push.verified,
                "mattermostUrl": push.mattermost_url,
                "mattermostUsername": push.mattermost_username,
                "mattermostChannel": push.mattermost_channel,
                "base64Decode": push.base64_decode,
            },
            "ackDeadlineSeconds": sub.ack_deadline,
        }
        if push.type and push.verified and sub.push_status:
            body["pushStatus"] = sub.push_status
        body["createdOn"] = fmt_seconds(sub.created_on)
        return body

    # ------------------------------------------------------------------ topics

    async def op_topics_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/topics`` (spec 4.1)."""
        topics = self.store.list_topics(ctx.proj.id)
        if ctx.has(PUBLISHER) and not (ctx.has(PROJECT_ADMIN) or ctx.has(SERVICE_ADMIN)):
            assert ctx.caller is not None
            caller_id = ctx.caller.id
            topics = [t for t in topics if self.store.acl_contains(TOPIC, t.id, caller_id)]
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
        names = self._acl_body(ctx, "Topic ACL")
        user_ids = self._users_exist_in_project(ctx, names)
        self.store.set_acl(TOPIC, self._topic(ctx).id, user_ids)
        return literal_response()

    # ------------------------------------------------------------------ subscriptions

    async def op_subscriptions_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/subscriptions`` (spec 5.4)."""
        subs = self.store.list_subscriptions(ctx.proj.id)
        if ctx.has(CONSUMER) and not (ctx.has(PROJECT_ADMIN) or ctx.has(SERVICE_ADMIN)):
            assert ctx.caller is not None
            caller_id = ctx.caller.id
            subs = [s for s in subs if self.store.acl_contains(SUBSCRIPTION, s.id, caller_id)]
        return self._paginate(ctx, [(s.id, self.sub_json(s)) for s in subs], "subscriptions")

    async def op_subscriptions_show(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}`` (spec 5.5)."""
        return json_response(self.sub_json(self._sub(ctx)))

    async def op_subscriptions_create(self, ctx: Ctx) -> Response:
        """``PUT .../subscriptions/{subscription}`` (spec 5.2)."""
        error = invalid_args("Subscription")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        reference = _decode(error, lambda: dec.get_str(body, "topic"))
        ack_deadline = _decode(error, lambda: dec.get_int(body, "ackDeadlineSeconds"))
        raw_push = _decode(error, lambda: _push_body(dec.get_obj(body, "pushConfig")))
        parts = reference.split("/")
        if len(parts) != 4 or (parts[0] != "projects" and parts[2] != "topics"):
            raise invalid("Invalid Topic name")
        topic = self.store.topic(ctx.proj.id, parts[3])
        if topic is None:
            raise not_found("Topic")
        push = PushConfig()
        if raw_push != PushConfig():
            push = self._push_config(raw_push, None)
        if self.store.subscription(ctx.proj.id, ctx.vars["subscription"]) is not None:
            raise exists("Subscription")
        sub = self.store.create_subscription(ctx.proj.id, ctx.vars["subscription"], topic,
                                             ack_deadline or 10, push)
        return json_response(self.sub_json(sub))

    async def op_subscriptions_delete(self, ctx: Ctx) -> Response:
        """``DELETE .../subscriptions/{subscription}`` (spec 5.6)."""
        sub = self._sub(ctx)
        self.store.delete_subscription(sub.id)
        if sub.push.type and sub.push.verified:
            return json_response({"message": f"Subscription {sub.full_name} deactivated"},
                                 "compact")
        return literal_response()

    async def op_subscriptions_pull(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:pull`` (spec 5.9 and 12.2)."""
        sub = self._sub(ctx)
        if sub.push.type:
            if ctx.has(PUSH_WORKER) and not self.push_enabled:
                raise conflict("Push functionality is currently disabled")
            if not (ctx.has(PUSH_WORKER) or ctx.has(SERVICE_ADMIN)):
                raise forbidden()
        self._check_acl(ctx, CONSUMER, SUBSCRIPTION, sub.id)
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        if topic is None:
            raise conflict("Subscription's topic doesn't exist")
        error = invalid_args("Pull Parameters")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        max_text = _decode(error, lambda: dec.get_str(body, "maxMessages"))
        immediately = _decode(error, lambda: dec.get_str(body, "returnImmediately")) != "false"
        max_messages = 1
        if _INT_RE.fullmatch(max_text) and 0 < int(max_text) <= _INT64_MAX:
            max_messages = int(max_text)
        messages = self.store.read_messages(topic.id, sub.offset, max_messages)
        if messages and not immediately:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + PULL_WAIT_SECONDS
            while len(messages) < max_messages and loop.time() < deadline:
                await self.notifier.wait(deadline - loop.time())
                messages += self.store.read_messages(
                    topic.id, sub.offset + len(messages), max_messages - len(messages))
        if any(_unreadable(m) for m in messages):
            raise internal("Message retrieved from broker network has invalid JSON Structure")
        self.store.record_pull(sub, messages)
        project = ctx.proj.name
        return json_response({"receivedMessages": [
            {"ackId": f"projects/{project}/subscriptions/{sub.name}:{m.offset}",
             "message": m.to_json()} for m in messages]})

    async def op_subscriptions_acknowledge(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:acknowledge`` (spec 5.10 and 12.3)."""
        error = invalid("Invalid ack parameter")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        ack_ids = _decode(error, lambda: dec.get_str_list(body, "ackIds"))
        sub = self._sub(ctx)
        prefix = f"projects/{ctx.proj.name}/subscriptions/{sub.name}:"
        offsets: list[int] = []
        for ack_id in ack_ids or []:
            number = ack_id[len(prefix):]
            if (not ack_id.startswith(prefix) or _INT_RE.fullmatch(number) is None
                    or abs(int(number)) > _INT64_MAX):
                raise invalid("Invalid ack id")
            offsets.append(int(number))
        if not offsets:
            raise invalid("Invalid ack id")
        self.store.acknowledge(ctx.proj.name, sub.name, max(offsets))
        return literal_response(b"{}")

    def _max_offset(self, ctx: Ctx, sub: Subscription) -> int:
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        return 0 if topic is None else topic.end_offset

    async def op_subscriptions_offsets(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:offsets`` (spec 5.11)."""
        sub = self._sub(ctx)
        return json_response({"max": self._max_offset(ctx, sub), "min": 0,
                              "current": sub.offset})

    async def op_subscriptions_modifyOffset(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyOffset`` (spec 5.12)."""
        error = invalid_args("Offset")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        offset = _decode(error, lambda: dec.get_int(body, "offset"))
        sub = self._sub(ctx)
        if offset < 0 or offset > self._max_offset(ctx, sub):
            raise invalid("Offset out of bounds")
        self.store.set_offset(sub.id, offset)
        return literal_response()

    async def op_subscriptions_timeToOffset(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:timeToOffset?time=...`` (spec 5.13)."""
        sub = self._sub(ctx)
        epoch_ms = _parse_zulu(ctx.query.get("time", ""))
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        offset = None if topic is None else self.store.offset_at_time(topic.id, epoch_ms)
        if offset is None:
            raise conflict("Timestamp is out of bounds for the subscription's topic/partition")
        return json_response({"offset": offset}, "compact")

    async def op_subscriptions_acl(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:acl`` (spec 5.14)."""
        sub = self._sub(ctx)
        return json_response({"authorized_users": self.store.acl_users(SUBSCRIPTION, sub.id)})

    async def op_subscriptions_modifyAcl(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyAcl`` (spec 5.14)."""
        names = self._acl_body(ctx, "Subscription ACL")
        user_ids = self._users_exist_in_project(ctx, names)
        self.store.set_acl(SUBSCRIPTION, self._sub(ctx).id, user_ids)
        return literal_response()

    async def op_subscriptions_modifyAckDeadline(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyAckDeadline`` (spec 5.7)."""
        error = invalid_args("ackDeadlineSeconds(needs value between 0 and 600)")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        seconds = _decode(error, lambda: dec.get_int(body, "ackDeadlineSeconds"))
        if not 0 <= seconds <= 600:
            raise error
        self.store.set_ack_deadline(self._sub(ctx).id, seconds)
        return literal_response()

    async def op_subscriptions_modifyPushConfig(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyPushConfig`` (spec 5.8)."""
        error = invalid_args("Subscription")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        raw = _decode(error, lambda: _push_body(dec.get_obj(body, "pushConfig")))
        sub = self._sub(ctx)
        if raw == PushConfig():
            self.store.set_push_config(sub.id, PushConfig())
            worker = self.store.user_by_name(self.push_worker_name)
            if worker is not None and sub.push.type and sub.push.verified:
                self.store.remove_from_acl(SUBSCRIPTION, sub.id, worker.id)
            return literal_response()
        push = self._push_config(raw, sub.push)
        self.store.set_push_config(sub.id, push)
        return literal_response()

    def _push_config(self, raw: PushConfig, previous: Optional[PushConfig]) -> PushConfig:
        """Validate a non-empty push configuration (spec 5.3); ``previous`` on modify."""
        if not self.push_enabled:
            raise conflict("Push functionality is currently disabled")
        if self.store.user_by_name(self.push_worker_name) is None:
            raise internal("Push functionality is currently unavailable")
        creating = previous is None
        if not creating:
            retry_type, retry_period = _retry_policy(raw)
        if raw.type == "http_endpoint":
            if not _is_https_url(raw.endpoint):
                raise invalid("Push endpoint should be addressed by a valid https url")
            if raw.auth_type not in ("", "autogen", "disabled"):
                raise invalid("Authorization header type can only be of 'autogen' or "
                              "'disabled' type")
        elif raw.type == "mattermost":
            if not raw.mattermost_url:
                raise invalid("Field mattermostUrl cannot be empty")
        else:
            raise invalid("Push configuration type can only be of 'http_endpoint' or "
                          "'mattermost'")
        if creating:
            retry_type, retry_period = _retry_policy(raw)
        max_messages = raw.max_messages
        if max_messages <= 0:
            max_messages = previous.max_messages if previous and previous.max_messages > 0 else 1
        base = PushConfig(max_messages=max_messages, retry_type=retry_type,
                          retry_period=retry_period,
                          base64_decode=creating and raw.base64_decode)
        if raw.type == "mattermost":
            return dataclasses.replace(
                base, type="mattermost", verified=True, mattermost_url=raw.mattermost_url,
                mattermost_username=raw.mattermost_username,
                mattermost_channel=raw.mattermost_channel)
        auth_type, auth_value = raw.auth_type, ""
        if not auth_type:
            if previous is not None and previous.type == "http_endpoint" and previous.auth_type:
                auth_type, auth_value = previous.auth_type, previous.auth_value
            else:
                auth_type = "autogen"
        if auth_type == "autogen" and not auth_value:
            auth_value = new_token()
        if auth_type == "disabled":
            auth_value = ""
        keep = (previous is not None and previous.type == "http_endpoint"
                and previous.endpoint == raw.endpoint)
        return dataclasses.replace(
            base,
            type="http_endpoint",
            endpoint=raw.endpoint,
            auth_type=auth_type,
            auth_value=auth_value,
            verification_hash=previous.verification_hash if keep and previous else new_token(),
            verified=bool(keep and previous and previous.verified),
        )

    async def op_subscriptions_verifyPushEndpoint(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:verifyPushEndpoint`` (spec 5.16)."""
        if not self.push_enabled:
            raise conflict("Push functionality is currently disabled")
        worker = self.store.user_by_name(self.push_worker_name)
        if worker is None:
            raise internal("Push functionality is currently unavailable")
        sub = self._sub(ctx)
        if sub.push.type != "http_endpoint":
            raise conflict("Subscription is not in http push mode")
        if sub.push.verified:
            raise conflict("Push endpoint is already verified")
        failure = await run_in_threadpool(_verify_endpoint, sub.push.endpoint,
                                          sub.push.verification_hash, self.push_verify_ca)
        if failure:
            raise unauthorized(f"Endpoint verification failed.{failure}")
        self.store.set_push_config(
            sub.id, dataclasses.replace(sub.push, verified=True, base64_decode=False))
        self.store.add_to_acl(SUBSCRIPTION, sub.id, worker.id)
        if self.store.membership(worker.id, ctx.proj.id) is None:
            self.store.set_member_roles(worker.id, ctx.proj.id, [])
        return literal_response()

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

    # ------------------------------------------------------------------ metrics

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
            _metric("topic.number_of_subscriptions", "topic", name, [(now, subs)]),
            _metric("topic.number_of_messages", "topic", name, [(now, topic.message_count)]),
            _metric("topic.number_of_bytes", "topic", name, [(now, topic.bytes)]),
            _metric("topic.number_of_daily_messages", "topic", name, daily),
            _metric("topic.publishing_rate", "topic", name, [(last, topic.publish_rate)]),
        ]})

    async def op_subscriptions_metrics(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:metrics`` (spec 5.15)."""
        sub = self.store.subscription(ctx.proj.id, ctx.vars["subscription"])
        if ctx.has(CONSUMER):
            self._check_acl(ctx, CONSUMER, SUBSCRIPTION, sub.id if sub else -1)
        if sub is None:
            raise not_found("Subscription")
        now = fmt_seconds(self.store.now_s())
        last = fmt_seconds(sub.last_consume_ns // 10**9) if sub.last_consume_ns else ZERO_TIME
        return json_response({"metrics": [
            _metric("subscription.number_of_messages", "subscription", sub.name,
                    [(now, sub.message_count)]),
            _metric("subscription.number_of_bytes", "subscription", sub.name,
                    [(now, sub.bytes)]),
            _metric("subscription.consumption_rate", "subscription", sub.name,
                    [(last, sub.consume_rate)]),
        ]})

    async def op_projects_metrics(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}:metrics`` (spec 7.7)."""
        project = ctx.proj
        now = fmt_seconds(self.store.now_s())
        topics = self.store.list_topics(project.id)
        subs = self.store.list_subscriptions(project.id)
        metrics = [
            _metric("project.number_of_topics", "project", project.name, [(now, len(topics))]),
            _metric("project.number_of_subscriptions", "project", project.name,
                    [(now, len(subs))]),
        ]
        members = list(reversed(self.store.list_users(project.id)))
        access = {u.name: self.store.user_acl_resources(u.id, project.id) for u in members}
        for index, metric in ((0, "project.user.number_of_topics"),
                              (1, "project.user.number_of_subscriptions")):
            for user_name, resources in access.items():
                if resources[index]:
                    metrics.append(_metric(metric, "project.user", f"{project.name}.{user_name}",
                                           [(now, len(resources[index]))]))
        metrics.append(_metric("project.number_of_daily_messages", "project", project.name,
                               self.store.daily_counts(project.id)[:30]))
        return json_response({"metrics": metrics})

    async def op_ams_metrics(self, ctx: Ctx) -> Response:
        """``GET /v1/metrics`` (spec 10.1)."""
        return json_response({"metrics": self._node_metrics()})

    def _node_metrics(self) -> list[dict[str, Any]]:
        now = fmt_seconds(self.store.now_s())
        host = socket.gethostname()
        cpu, memory = _node_usage()
        return [_metric("ams_node.cpu_usage", "ams_node", host, [(now, cpu)]),
                _metric("ams_node.memory_usage", "ams_node", host, [(now, memory)])]

    async def op_ams_vaMetrics(self, ctx: Ctx) -> Response:
        """``GET /v1/metrics/va_metrics`` (spec 10.3)."""
        start, end = _report_period(ctx.query, self._today())
        projects = self._report_projects(ctx.query.get("projects", ""))
        return json_response(self._va_report(projects, start, end), "1")

    async def op_users_usageReport(self, ctx: Ctx) -> Response:
        """``GET /v1/users/usageReport`` (spec 10.4)."""
        caller = self.store.user_by_token(ctx.token) if ctx.token else None
        if caller is None:
            raise unauthorized()
        start, end = _report_period(ctx.query, self._today())
        wanted = self._report_projects(ctx.query.get("projects", ""))
        administered = [m.project_id for m in self.store.memberships(caller.id)
                        if PROJECT_ADMIN in (m.roles or [])]
        projects = [p for p in wanted if p.id in administered]
        if not projects:
            return json_response({"va_metrics": self._va_report([], start, end),
                                  "operational_metrics": {"metrics": []}})
        return json_response({"va_metrics": self._va_report(projects, start, end),
                              "operational_metrics": {"metrics": self._node_metrics()}})

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.store.now_s(), dt.timezone.utc).date()

    def _report_projects(self, names: str) -> list[Project]:
        if not names:
            return self.store.list_projects()
        projects: list[Project] = []
        for name in names.split(","):
            project = self.store.project_by_name(name)
            if project is None:
                raise AmsError(404, "NOT_FOUND", f"Project {name} doesn't exist")
            projects.append(project)
        return projects

    def _va_report(self, projects: Sequence[Project], start: dt.date, end: dt.date
                   ) -> dict[str, Any]:
        days = (end - start).days + 1
        first = int(dt.datetime(start.year, start.month, start.day,
                                tzinfo=dt.timezone.utc).timestamp())
        last = int(dt.datetime(end.year, end.month, end.day, 23, 59, 59,
                               tzinfo=dt.timezone.utc).timestamp())
        entries: list[dict[str, Any]] = []
        for project in projects:
            counts = [count for day, count in self.store.daily_counts(project.id)
                      if start.isoformat() <= day <= end.isoformat()]
            if not counts:
                continue
            message_count = sum(counts)
            entries.append({
                "project": project.name,
                "message_count": message_count,
                "average_daily_messages": go_float(-(-message_count * 100 // days) / 100),
                "topics_count": self.store.count_created("topics", project.id, first, last),
                "subscriptions_count": self.store.count_created("subscriptions", project.id,
                                                                first, last),
                "users_count": self.store.count_created("members", project.id, first, last),
            })
        return {
            "projects_metrics": {
                "projects": entries,
                "total_message_count": sum(e["message_count"] for e in entries),
                "average_daily_messages": go_float(
                    round(sum(e["average_daily_messages"] for e in entries), 2)),
            },
            "total_users_count": sum(e["users_count"] for e in entries),
            "total_topics_count": sum(e["topics_count"] for e in entries),
            "total_subscriptions_count": sum(e["subscriptions_count"] for e in entries),
        }

    # ------------------------------------------------------------------ status and version

    def _is_operator(self, token: str) -> Optional[bool]:
        """``None`` for an unknown token, else whether it holds service_admin/admin_viewer."""
        user = self.store.user_by_token(token) if token else None
        if user is None:
            return None
        return bool({SERVICE_ADMIN, ADMIN_VIEWER} & set(user.service_roles or []))

    async def op_ams_healthStatus(self, ctx: Ctx) -> Response:
        """``GET /v1/status`` (spec 10.2)."""
        if ctx.query.get("details") == "true":
            operator = self._is_operator(ctx.token)
            if operator is None:
                raise forbidden()
            if not operator:
                raise unauthorized()
        if not self.push_enabled:
            return json_response({"status": "ok", "push_functionality": "disabled"}, "1")
        worker = self.store.user_by_name(self.push_worker_name)
        return json_response({
            "status": "ok" if worker is not None else "warning",
            "push_servers": [{"endpoint": self.push_server_endpoint,
                              "status": self.push_server_status}],
        }, "1")

    async def op_version_list(self, ctx: Ctx) -> Response:
        """``GET /v1/version`` (spec 10.5)."""
        body: dict[str, Any] = {
            "build_time": "2024-04-30T12:00:00Z",
            "golang": "go1.21.9",
            "compiler": "gc",
            "os": sys.platform if sys.platform != "win32" else "windows",
            "architecture": _GO_ARCH.get(platform.machine().lower(), platform.machine().lower()),
        }
        if self._is_operator(ctx.token):
            body["release"] = RELEASE
        return json_response(body, "1")

    # ------------------------------------------------------------------ projects

    @staticmethod
    def project_json(store: Store, project: Project) -> dict[str, Any]:
        """The project object of spec 7.1."""
        body: dict[str, Any] = {
            "name": project.name,
            "created_on": fmt_seconds(project.created_on),
            "modified_on": fmt_seconds(project.modified_on),
        }
        creator = store.user_name_by_uuid(project.created_by)
        if creator:
            body["created_by"] = creator
        if project.description:
            body["description"] = project.description
        return body

    async def op_projects_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects`` (spec 7.2)."""
        projects = self.store.list_projects()
        if not projects:
            return json_response({})
        return json_response({"projects": [self.project_json(self.store, p) for p in projects]})

    async def op_projects_show(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}`` (spec 7.1)."""
        return json_response(self.project_json(self.store, ctx.proj))

    async def op_projects_create(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}`` (spec 7.3)."""
        error = invalid_args("Project")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        description = _decode(error, lambda: dec.get_str(body, "description"))
        if ctx.project is not None:
            raise exists("Project")
        assert ctx.caller is not None
        project = self.store.create_project(ctx.vars["project"], description=description,
                                            created_by=ctx.caller.uuid)
        return json_response(self.project_json(self.store, project))

    async def op_projects_update(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}`` (spec 7.4)."""
        body = _decode(bad_body(), lambda: dec.parse_struct(ctx.body))
        name = _decode(bad_body(), lambda: dec.get_str(body, "name")) or ctx.proj.name
        description = (_decode(bad_body(), lambda: dec.get_str(body, "description"))
                       or ctx.proj.description)
        if name != ctx.proj.name and self.store.project_by_name(name) is not None:
            raise invalid("invalid project name change, name already exists")
        self.store.update_project(ctx.proj.id, name=name, description=description)
        project = self.store.project_by_id(ctx.proj.id)
        assert project is not None
        return json_response(self.project_json(self.store, project))

    async def op_projects_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/projects/{project}`` (spec 7.5)."""
        self.store.delete_project(ctx.proj.id)
        return literal_response()

    # ------------------------------------------------------------------ users

    def user_json(self, user: User, *, full: bool = True, details: bool = True,
                  project: Optional[Project] = None) -> dict[str, Any]:
        """The user object of spec 8.1.

        ``full``: token, real service roles and ``created_by`` are shown; ``details``: the
        ``projects`` entries are shown (only the one for ``project`` when given).
        """
        body: dict[str, Any] = {"uuid": user.uuid}
        entries = self.store.memberships(user.id)
        if project is not None:
            entries = [e for e in entries if e.project_id == project.id]
        if details and entries:
            body["projects"] = []
            for entry in entries:
                topics, subs = self.store.user_acl_resources(user.id, entry.project_id)
                body["projects"].append({"project": entry.project_name, "roles": entry.roles,
                                         "topics": topics, "subscriptions": subs})
        body["name"] = user.name
        for key in ("first_name", "last_name", "organization", "description"):
            if getattr(user, key):
                body[key] = getattr(user, key)
        if full:
            body["token"] = user.token
        body["email"] = user.email
        body["service_roles"] = user.service_roles if full else []
        body["created_on"] = fmt_seconds(user.created_on)
        body["modified_on"] = fmt_seconds(user.modified_on)
        creator = self.store.user_name_by_uuid(user.created_by) if full else ""
        if creator:
            body["created_by"] = creator
        return body

    def _user(self, ctx: Ctx) -> User:
        user = self.store.user_by_name(ctx.vars["user"])
        if user is None:
            raise not_found("User")
        return user

    def _project_entries(self, raw: Optional[list[Any]]
                         ) -> Optional[list[tuple[int, Optional[list[str]]]]]:
        """Validate the ``projects`` entries of a user body (spec 8.4)."""
        if raw is None:
            return None
        entries: list[tuple[int, Optional[list[str]]]] = []
        for item in raw:
            if not item["project"]:
                continue
            project = self.store.project_by_name(item["project"])
            if project is None:
                raise invalid(f"invalid project: {item['project']}")
            if any(pid == project.id for pid, _ in entries):
                raise invalid(f"duplicate reference of project {item['project']}")
            _check_roles(item["roles"])
            entries.append((project.id, item["roles"]))
        return entries

    async def op_users_list(self, ctx: Ctx) -> Response:
        """``GET /v1/users`` (spec 8.3)."""
        project_id: Optional[int] = None
        if ctx.query.get("project"):
            project = self.store.project_by_name(ctx.query["project"])
            if project is None:
                raise not_found("ProjectUUID")
            project_id = project.id
        details = ctx.query.get("details") == "true"
        full = ctx.has(SERVICE_ADMIN)
        users = self.store.list_users(project_id)
        return self._paginate(ctx, [(u.id, self.user_json(u, full=full, details=details))
                                    for u in users], "users")

    async def op_users_show(self, ctx: Ctx) -> Response:
        """``GET /v1/users/{user}`` (spec 8.2)."""
        return json_response(self.user_json(self._user(ctx)))

    async def op_users_byToken(self, ctx: Ctx) -> Response:
        """``GET /v1/users:byToken/{token}`` (spec 8.2)."""
        user = self.store.user_by_token(ctx.vars["token"])
        if user is None:
            raise not_found("User")
        return json_response(self.user_json(user))

    async def op_users_byUUID(self, ctx: Ctx) -> Response:
        """``GET /v1/users:byUUID/{uuid}`` (spec 8.2)."""
        users = self.store.users_by_uuid(ctx.vars["uuid"])
        if not users:
            raise not_found("User")
        if len(users) > 1:
            raise internal("Multiple users found with the same uuid")
        return json_response(self.user_json(users[0]))

    async def op_users_profile(self, ctx: Ctx) -> Response:
        """``GET /v1/users/profile`` (spec 8.2)."""
        user = self.store.user_by_token(ctx.token) if ctx.token else None
        if user is None:
            raise unauthorized()
        return json_response(self.user_json(user))

    async def op_users_create(self, ctx: Ctx) -> Response:
        """``POST /v1/users/{user}`` (spec 8.4)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        entries = self._project_entries(fields.projects) or []
        _check_roles(fields.service_roles)
        if self.store.user_by_name(ctx.vars["user"]) is not None:
            raise exists("User")
        assert ctx.caller is not None
        user = self.store.create_user(
            ctx.vars["user"], email=fields.email, first_name=fields.first_name,
            last_name=fields.last_name, organization=fields.organization,
            description=fields.description, service_roles=fields.service_roles or [],
            memberships=entries, created_by=ctx.caller.uuid)
        return json_response(self.user_json(user))

    async def op_users_update(self, ctx: Ctx) -> Response:
        """``PUT /v1/users/{user}`` (spec 8.5)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        user = self._user(ctx)
        entries = self._project_entries(fields.projects)
        _check_roles(fields.service_roles)
        if (fields.name and fields.name != user.name
                and self.store.user_by_name(fields.name) is not None):
            raise invalid("invalid user name change, name already exists")
        changes: dict[str, Any] = {
            key: getattr(fields, key)
            for key in ("name", "first_name", "last_name", "organization", "description", "email")
            if getattr(fields, key)
        }
        if fields.service_roles is not None:
            changes["service_roles"] = fields.service_roles
        self.store.update_user(user.id, **changes)
        if entries is not None:
            self.store.set_memberships(user.id, entries)
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self.user_json(updated))

    async def op_users_refreshToken(self, ctx: Ctx) -> Response:
        """``POST /v1/users/{user}:refreshToken`` (spec 8.6)."""
        user = self._user(ctx)
        self.store.update_user(user.id, token=new_token())
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self.user_json(updated))

    async def op_users_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/users/{user}`` (spec 8.6)."""
        self.store.delete_user(self._user(ctx).id)
        return literal_response()

    # ------------------------------------------------------------------ members

    def _member_view(self, ctx: Ctx, user: User, details: bool = True) -> dict[str, Any]:
        """Full view for service admins, restricted view (spec 7.6) for everybody else."""
        if ctx.has(SERVICE_ADMIN):
            return self.user_json(user, details=details)
        return self.user_json(user, full=False, details=details, project=ctx.proj)

    async def op_projects_listUsers(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/members`` (spec 7.6)."""
        details = ctx.query.get("details") == "true"
        users = self.store.list_users(ctx.proj.id)
        return self._paginate(ctx, [(u.id, self._member_view(ctx, u, details)) for u in users],
                              "users")

    def _member(self, ctx: Ctx) -> User:
        user = self._user(ctx)
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise not_found("User")
        return user

    async def op_projects_showUser(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        return json_response(self._member_view(ctx, self._member(ctx)))

    def _roles_for_project(self, ctx: Ctx, raw: Optional[list[Any]]) -> Optional[list[str]]:
        """Roles of the body's ``projects`` entry naming the URL project (``None``: no entry)."""
        for item in raw or []:
            if item["project"] == ctx.proj.name:
                roles: Optional[list[str]] = item["roles"]
                _check_roles(roles)
                return roles
        return None

    async def op_projects_createUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        roles = self._roles_for_project(ctx, fields.projects)
        if self.store.user_by_name(ctx.vars["user"]) is not None:
            raise exists("User")
        assert ctx.caller is not None
        user = self.store.create_user(
            ctx.vars["user"], email=fields.email, service_roles=[],
            memberships=[(ctx.proj.id, roles if roles is not None else [])],
            created_by=ctx.caller.uuid)
        return json_response(self.user_json(user))

    async def op_projects_updateUser(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        user = self._user(ctx)
        not_member = forbidden(
            "Access to this resource is forbidden. User is not a member of the project")
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise not_member
        if not any(item["project"] == ctx.proj.name for item in fields.projects or []):
            raise not_member
        self.store.set_member_roles(user.id, ctx.proj.id,
                                    self._roles_for_project(ctx, fields.projects))
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self._member_view(ctx, updated))

    async def op_projects_addUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}:add`` (spec 7.6)."""
        user = self._user(ctx)
        body = _decode(bad_body(), lambda: dec.parse_struct(ctx.body))
        roles = _decode(bad_body(), lambda: dec.get_str_list(body, "roles"))
        if self.store.membership(user.id, ctx.proj.id) is not None:
            raise conflict("User is already a member of the project")
        _check_roles(roles)
        self.store.set_member_roles(user.id, ctx.proj.id, roles)
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self._member_view(ctx, updated))

    async def op_projects_removeUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}:remove`` (spec 7.6)."""
        user = self._user(ctx)
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise forbidden(
                "Access to this resource is forbidden. User is not a member of the project")
        self.store.remove_member(user.id, ctx.proj.id)
        return literal_response(b"{}")

    # ------------------------------------------------------------------ registrations

    def registration_json(self, reg: Registration) -> dict[str, Any]:
        """The registration object of spec 9."""
        body: dict[str, Any] = {
            "uuid": reg.uuid, "name": reg.name, "first_name": reg.first_name,
            "last_name": reg.last_name, "organization": reg.organization,
            "description": reg.description, "email": reg.email, "status": reg.status,
        }
        if reg.decline_comment:
            body["decline_comment"] = reg.decline_comment
        if reg.activation_token:
            body["activation_token"] = reg.activation_token
        body["registered_at"] = fmt_seconds(reg.registered_at)
        if reg.modified_by:
            body["modified_by"] = reg.modified_by
        if reg.modified_at:
            body["modified_at"] = fmt_seconds(reg.modified_at)
        return body

    def _registration(self, ctx: Ctx, *, pending: bool) -> Registration:
        reg = self.store.registration(ctx.vars["uuid"])
        if reg is None or (pending and reg.status != "pending"):
            raise not_found("User registration")
        return reg

    async def op_registrations_newUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations`` (spec 9)."""
        error = invalid_args("User")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        keys = ("name", "first_name", "last_name", "organization", "description", "email")
        values = _decode(error, lambda: {key: dec.get_str(body, key) for key in keys})
        if self.store.user_by_name(values["name"]) is not None:
            raise exists("User")
        return json_response(self.registration_json(self.store.create_registration(**values)))

    async def op_registrations_acceptNewUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations/{uuid}:accept`` (spec 9)."""
        reg = self._registration(ctx, pending=True)
        if self.store.user_by_name(reg.name) is not None:
            raise exists("User")
        assert ctx.caller is not None
        user = self.store.create_user(
            reg.name, email=reg.email, first_name=reg.first_name, last_name=reg.last_name,
            organization=reg.organization, description=reg.description, service_roles=[],
            created_by=ctx.caller.uuid)
        self.store.close_registration(reg.id, status="accepted", modified_by=ctx.caller.name)
        return json_response(self.user_json(user))

    async def op_registrations_declineNewUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations/{uuid}:decline`` (spec 9)."""
        reg = self._registration(ctx, pending=True)
        mapping = _decode(bad_body(), lambda: dec.as_str_map(dec.parse_json(ctx.body)))
        assert ctx.caller is not None
        self.store.close_registration(reg.id, status="declined", modified_by=ctx.caller.name,
                                      comment=(mapping or {}).get("comment", ""))
        return literal_response(b"{}")

    async def op_registrations_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/registrations/{uuid}`` (spec 9)."""
        self.store.delete_registration(self._registration(ctx, pending=False).id)
        return literal_response()

    async def op_registrations_show(self, ctx: Ctx) -> Response:
        """``GET /v1/registrations/{uuid}`` (spec 9)."""
        return json_response(self.registration_json(self._registration(ctx, pending=False)))

    async def op_registrations_list(self, ctx: Ctx) -> Response:
        """``GET /v1/registrations`` (spec 9)."""
        filters = {key: ctx.query[key] for key in
                   ("status", "name", "email", "organization", "activation_token")
                   if ctx.query.get(key)}
        regs = self.store.list_registrations(filters)
        return json_response({"user_registrations": [self.registration_json(r) for r in regs]})

    # ------------------------------------------------------------------ schemas

    @staticmethod
    def schema_json(schema: Schema) -> dict[str, Any]:
        """The schema object of spec 6.1."""
        return {"uuid": schema.uuid,
                "name": f"projects/{schema.project_name}/schemas/{schema.name}",
                "type": schema.type, "schema": sorted_map(schema.document)}

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
        document = _decode(error, lambda: dec.get_obj(body, "schema")) or {}
        if self.store.schema(ctx.proj.id, ctx.vars["schema"]) is not None:
            raise exists("Schema")
        schema_type = schemas.check_type(schema_type)
        document = schemas.check_schema(schema_type, document)
        schema = self.store.create_schema(ctx.proj.id, ctx.vars["schema"], schema_type, document)
        return json_response(self.schema_json(schema), "1")

    async def op_schemas_show(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/schemas/{schema}`` (spec 6.3)."""
        return json_response(self.schema_json(self._schema(ctx)), "1")

    async def op_schemas_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/schemas`` (spec 6.1)."""
        return json_response({"schemas": [self.schema_json(s) for s in
                                          self.store.list_schemas(ctx.proj.id)]}, "1")

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
        document = new_document if new_document is not None else schema.document
        if new_type or new_document is not None:
            document = schemas.check_schema(schema_type, document)
        self.store.update_schema(schema.id, name, schema_type, document)
        updated = self.store.schema_by_id(schema.id)
        assert updated is not None
        return json_response(self.schema_json(updated), "1")

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
        else:
            _decode(bad_body(), lambda: dec.parse_json(ctx.body))
            data = base64.b64encode(ctx.body).decode("ascii")
        schemas.validate_messages(schema.type, schema.document, [data])
        return json_response({"message": "Message validated successfully"}, "1")


# ---------------------------------------------------------------------------- body shapes


def _push_body(raw: Optional[dict[str, Any]]) -> PushConfig:
    """The ``pushConfig`` object of a request body, decoded as given (not yet validated)."""
    if raw is None:
        return PushConfig()
    auth = dec.get_obj(raw, "authorizationHeader") or {}
    retry = dec.get_obj(raw, "retryPolicy") or {}
    return PushConfig(
        type=dec.get_str(raw, "type"),
        endpoint=dec.get_str(raw, "pushEndpoint"),
        max_messages=dec.get_int(raw, "maxMessages"),
        auth_type=dec.get_str(auth, "type"),
        auth_value=dec.get_str(auth, "value"),
        retry_type=dec.get_str(retry, "type"),
        retry_period=dec.get_int(retry, "period"),
        verification_hash=dec.get_str(raw, "verificationHash"),
        verified=dec.get_bool(raw, "verified"),
        mattermost_url=dec.get_str(raw, "mattermostUrl"),
        mattermost_username=dec.get_str(raw, "mattermostUsername"),
        mattermost_channel=dec.get_str(raw, "mattermostChannel"),
        base64_decode=dec.get_bool(raw, "base64Decode"),
    )


def _retry_policy(raw: PushConfig) -> tuple[str, int]:
    retry_type = raw.retry_type or "linear"
    if retry_type not in ("linear", "slowstart"):
        raise invalid("Retry policy can only be of 'linear' or 'slowstart' type")
    if retry_type == "slowstart":
        return retry_type, 0
    return retry_type, raw.retry_period if raw.retry_period > 0 else 3000


def _is_https_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a malformed port
        return parts.scheme == "https" and bool(parts.hostname)
    except ValueError:
        return False


def _verify_endpoint(endpoint: str, expected: str, ca_file: Optional[str]) -> str:
    """GET ``https://host[:port]/ams_verification_hash``; return ``""`` or the failure reason."""
    parts = urlsplit(endpoint)
    url = f"https://{parts.netloc.rpartition('@')[2]}/ams_verification_hash"
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as reply:  # noqa: S310
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return str(exc)
    if status != 200:
        return "Wrong response status code"
    if body != expected.encode():
        return "Wrong verification hash"
    return ""


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


@dataclasses.dataclass(frozen=True)
class _UserBody:
    name: str
    first_name: str
    last_name: str
    organization: str
    description: str
    email: str
    projects: Optional[list[dict[str, Any]]]
    service_roles: Optional[list[str]]


def _user_body(body: bytes) -> _UserBody:
    """Decode a user body (spec 8.4/8.5): ``projects`` entries become
    ``{"project": str, "roles": list|None}``."""
    parsed = dec.parse_struct(body)
    projects: Optional[list[dict[str, Any]]] = None
    raw_projects = dec.get_list(parsed, "projects")
    if raw_projects is not None:
        projects = []
        for item in raw_projects:
            entry = item if item is not None else {}
            if not isinstance(entry, dict):
                raise BodyError("project entry is not an object")
            dec.get_str_list(entry, "topics")
            dec.get_str_list(entry, "subscriptions")
            projects.append({"project": dec.get_str(entry, "project"),
                             "roles": dec.get_str_list(entry, "roles")})
    return _UserBody(
        name=dec.get_str(parsed, "name"),
        first_name=dec.get_str(parsed, "first_name"),
        last_name=dec.get_str(parsed, "last_name"),
        organization=dec.get_str(parsed, "organization"),
        description=dec.get_str(parsed, "description"),
        email=dec.get_str(parsed, "email"),
        projects=projects,
        service_roles=dec.get_str_list(parsed, "service_roles"),
    )


def _check_roles(roles: Optional[Sequence[str]]) -> None:
    for role in roles or []:
        if role not in VALID_ROLES:
            raise invalid(f"invalid role: {role}")


# ---------------------------------------------------------------------------- small helpers


def _unreadable(message: StoredMessage) -> bool:
    """True for attributes the real service stores without escaping (unreadable later)."""
    return any(_UNREADABLE_ATTR_RE.search(key) or _UNREADABLE_ATTR_RE.search(value)
               for key, value in (message.attributes or {}).items())


def _parse_zulu(text: str) -> int:
    """Parse ``YYYY-MM-DDTHH:MM:SS.mmmZ`` into epoch milliseconds (spec 5.13)."""
    match = _ZULU_RE.fullmatch(text)
    error = invalid("Time is not in valid Zulu format.")
    if match is None:
        raise error
    year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise error from exc
    return int(moment.timestamp()) * 1000 + millis


def _parse_day(text: str, message: str) -> dt.date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        raise invalid(message)
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise invalid(message) from exc


def _report_period(query: dict[str, str], today: dt.date) -> tuple[dt.date, dt.date]:
    """``start_date``/``end_date`` of the VA and usage reports (spec 10.3)."""
    start = dt.date(1970, 1, 1)
    end = today
    if query.get("start_date"):
        start = _parse_day(query["start_date"], "Start date is not in valid format")
    if query.get("end_date"):
        end = _parse_day(query["end_date"], "End date is not in valid format")
    if start > end:
        raise invalid("Start date cannot be after the end date")
    return start, end


_DESCRIPTIONS = {
    "topic.number_of_subscriptions":
        "Counter that displays the number of subscriptions belonging to a specific topic",
    "topic.number_of_messages":
        "Counter that displays the number of messages published to the specific topic",
    "topic.number_of_bytes":
        "Counter that displays the total size of data (in bytes) published to the specific topic",
    "topic.number_of_daily_messages":
        "A collection of counters that represents the total number of messages published each "
        "day to a specific topic",
    "topic.publishing_rate":
        "A rate that displays how many messages were published per second between the last two "
        "publish events",
    "subscription.number_of_messages":
        "Counter that displays the number of messages consumed from the specific subscription",
    "subscription.number_of_bytes":
        "Counter that displays the total size of data (in bytes) consumed from the specific "
        "subscription",
    "subscription.consumption_rate":
        "A rate that displays how many messages were consumed per second between the last two "
        "consume events",
    "project.number_of_topics":
        "Counter that displays the number of topics belonging to the specific project",
    "project.number_of_subscriptions":
        "Counter that displays the number of subscriptions belonging to the specific project",
    "project.user.number_of_topics":
        "Counter that displays the number of topics that a user has access to the specific "
        "project",
    "project.user.number_of_subscriptions":
        "Counter that displays the number of subscriptions that a user has access to the "
        "specific project",
    "project.number_of_daily_messages":
        "A collection of counters that represents the total number of messages published each "
        "day to all of the project's topics",
    "ams_node.cpu_usage":
        "Percentage value that displays the CPU usage of ams service in the specific node",
    "ams_node.memory_usage":
        "Percentage value that displays the Memory usage of ams service in the specific node",
}


def _metric(metric: str, resource_type: str, resource_name: str,
            points: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """One metric of a metric list (spec 10.1); the value type follows the metric kind."""
    if metric.startswith("ams_node."):
        metric_type, value_type = "percentage", "float64"
    elif metric.endswith("_rate"):
        metric_type, value_type = "rate", "float64"
    else:
        metric_type, value_type = "counter", "int64"
    return {
        "metric": metric,
        "metric_type": metric_type,
        "value_type": value_type,
        "resource_type": resource_type,
        "resource_name": resource_name,
        "timeseries": [{"timestamp": stamp, "value": go_float(value)} for stamp, value in points],
        "description": _DESCRIPTIONS[metric],
    }


def _node_usage() -> tuple[float, float]:
    """CPU (load average per core) and memory (peak RSS) usage of this node, in percent."""
    try:
        import resource

        cpu = min(100.0, round(100 * os.getloadavg()[0] / (os.cpu_count() or 1), 1))
        total_kb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return cpu, round(100 * rss_kb / total_kb, 1)
    except (ImportError, ValueError, OSError, AttributeError):
        return 0.0, 0.0


_GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
#: The ``release`` shown by ``/v1/version`` to operators.
RELEASE = "1.7.0"


# ---------------------------------------------------------------------------- factory


class _ServiceRouter(Router):
    """Hands every HTTP request to the service (which does its own routing, including paths
    Starlette's path patterns cannot match, e.g. with newlines); lifespan events stay with
    Starlette."""

    def __init__(self, service: AmsService) -> None:
        super().__init__()
        self.service = service

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.service(scope, receive, send)
        else:
            await super().app(scope, receive, send)


def create_app(
    store: Store,
    *,
    push_enabled: bool = True,
    push_worker_name: str = "ams-push-worker",
    max_message_bytes: int = 1_500_000,
    push_verify_ca: Optional[str] = None,
) -> Starlette:
    """Build the emulator's ASGI application over ``store``.

    ``push_enabled``: push support (when on, the push worker account ``push_worker_name`` is
    created). ``max_message_bytes``: limit on each stored message. ``push_verify_ca``: CA file
    used for the HTTPS call of ``verifyPushEndpoint`` (default: system trust).

    ``app.state.service`` is the :class:`AmsService`; ``app.state.store`` the store and
    ``app.state.notifier`` the :class:`PublishNotifier` woken by every publish.
    """
    if push_enabled:
        store.ensure_service_user(push_worker_name, PUSH_WORKER)
    service = AmsService(store, push_enabled=push_enabled, push_worker_name=push_worker_name,
                         max_message_bytes=max_message_bytes, push_verify_ca=push_verify_ca)
    app = Starlette()
    app.router = _ServiceRouter(service)
    app.state.service = service
    app.state.store = store
    app.state.notifier = service.notifier
    return app
