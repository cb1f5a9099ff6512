"""What every AMS operation shares: responses, the request context, body decoding, the base
class with the common lookups (topic, subscription, ACL checks, pagination) and metric objects."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import posixpath
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import parse_qsl

from starlette.responses import Response

from pymod.emulator import decoding as dec
from pymod.emulator.api.routing import RouteSpec
from pymod.emulator.decoding import BodyError
from pymod.emulator.errors import (
    AmsError,
    forbidden,
    invalid,
    invalid_args,
    not_found,
)
from pymod.emulator.formatting import Layout, dumps, go_float
from pymod.emulator.roles import PROJECT_ADMIN, SERVICE_ADMIN
from pymod.emulator.store import (
    Project,
    Store,
    Subscription,
    Topic,
    User,
)

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1


# ---------------------------------------------------------------------------- responses


def json_response(obj: Any, layout: Layout = "3", *, floats: bool = False) -> Response:
    """A 200 response with ``obj`` in the given JSON layout (``floats``: it may hold
    fractional numbers, printed as Go does; metrics, reports, schema documents)."""
    return Response(dumps(obj, layout, floats=floats), 200, media_type=JSON_TYPE)


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


_CORS_METHODS = ("OPTIONS", "POST", "GET", "PUT", "DELETE", "HEAD")
_CORS_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Origin",  # gorilla's defaults
                 "X-Requested-With", "Content-Type", "X-Api-Key")
_SIMPLE_HEADERS = _CORS_HEADERS[:4]
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def clean_path(path: str) -> str:
    """Go's ``path.Clean`` as gorilla/mux applies it (a trailing slash is kept)."""
    if not path:
        return "/"
    cleaned = posixpath.normpath("/" + re.sub(r"/+", "/", path.lstrip("/")))
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def canonical_header(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey``: ``x-api-key`` -> ``X-Api-Key`` (invalid names as given)."""
    if _TOKEN_RE.fullmatch(name) is None:
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def cors_preflight(headers: Mapping[str, str]) -> Response:
    """The answer of the real server's CORS wrapper (gorilla ``handlers.CORS`` with AMS's
    allowed headers and methods) to an ``OPTIONS`` request, which never reaches the router."""
    if not headers.get("origin"):
        return Response(b"", 200)
    if "access-control-request-method" not in headers:
        return Response(b"", 400)
    method = headers["access-control-request-method"]
    if method not in _CORS_METHODS:
        return Response(b"", 405)
    allowed: list[str] = []
    for raw in headers.get("access-control-request-headers", "").split(","):
        name = canonical_header(raw.strip(" \t"))
        if not name or name in _SIMPLE_HEADERS:
            continue
        if name not in _CORS_HEADERS:
            return Response(b"", 403)
        allowed.append(name)
    reply = Response(b"", 200, headers={"Access-Control-Allow-Origin": "*"})
    if allowed:
        reply.headers["Access-Control-Allow-Headers"] = ",".join(allowed)
    if method not in ("GET", "HEAD", "POST"):
        reply.headers["Access-Control-Allow-Methods"] = method
    return reply


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
_R = TypeVar("_R", Topic, Subscription)


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



class ServiceBase:
    """State and shared lookups of the AMS operations; the per-resource mixins build on it."""

    store: Store
    push_enabled: bool
    push_worker_name: str
    max_message_bytes: int
    push_verify_ca: Optional[str]
    notifier: PublishNotifier
    push_server_endpoint: str
    push_server_status: str

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

    def _acl_visible(self, ctx: Ctx, role: str, kind: str, items: Sequence[_R]) -> list[_R]:
        """``items`` (topics or subscriptions) the caller may list: all of them, unless the
        caller holds ``role`` without project_admin or service_admin; then only those whose ACL
        holds the caller (spec 13.2)."""
        if not ctx.has(role) or ctx.has(PROJECT_ADMIN) or ctx.has(SERVICE_ADMIN):
            return list(items)
        assert ctx.caller is not None
        caller_id = ctx.caller.id
        return [item for item in items if self.store.acl_contains(kind, item.id, caller_id)]

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

    def _modify_acl(self, ctx: Ctx, thing: str, kind: str, resource_id: Optional[int]
                    ) -> Response:
        """``modifyAcl`` of a topic or subscription. As on the real server (its MongoDB update
        matches nothing), an unknown resource answers 200 once the users are valid."""
        user_ids = self._users_exist_in_project(ctx, self._acl_body(ctx, thing))
        if resource_id is not None:
            self.store.set_acl(kind, resource_id, user_ids)
        return literal_response()

    def _acl_body(self, ctx: Ctx, thing: str) -> list[str]:
        error = invalid_args(thing)
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        names = _decode(error, lambda: dec.get_str_list(body, "authorized_users"))
        if names is None:
            raise error
        return names


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


def metric(metric: str, resource_type: str, resource_name: str,
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

