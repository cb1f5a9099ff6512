"""The AMS emulator's ASGI application: all 64 routes of spec section 3.

The operations live in :mod:`pymod.emulator.api`, one module per resource: ``topics``,
``subscriptions`` (pull/ack/offsets/push), ``accounts`` (users, projects, members,
registrations), ``schemas`` and ``service`` (status, version, metrics, usage); ``context``
holds the request context, responses and the shared lookups, ``routing`` the route table.
This module joins them into :class:`AmsService`, routes requests and runs the auth steps.

:func:`create_app` returns a Starlette application that implements the AMS v1 wire protocol
(``/work/shared/spec/ams-v1.md``) on top of a :class:`~pymod.emulator.store.Store`. It is written
from the spec alone and shares no code with the client.

Routing follows the real service's router (gorilla/mux behind gorilla's CORS wrapper): an
``OPTIONS`` request is answered by the CORS preflight rules; an unclean path (``//``, ``.``,
``..``) gets a 301 to the cleaned one; routes are tried in the order of the spec's table, path
variables match any run of characters except ``/`` (so ``GET .../topics/t:unknownVerb``
reaches "show topic" and fails name validation); a path no route takes gets the plain-text
``404 page not found``, also for a known path with the wrong method (mux's ``/v1`` prefix
matcher clears the method mismatch), except for the table's last route (``/version``) where it
is an empty 405. Every request then goes through the steps of spec 1.3 (name validation, token
presence, project existence, token lookup, route authorization) before its operation runs.

The differential conformance suite (``tests/conformance``) compares the emulator with the real
server; the differences kept on purpose are listed in ``docs/emulator.rst``.

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
* Bugs of the real server copied on purpose: ``modifyOffset`` out of bounds answers 400 and
  still stores the offset (``:offsets`` then resets one below the log start to 0);
  ``modifyPushConfig`` always turns ``base64Decode`` off; ``modifyAcl`` on an unknown topic or
  subscription answers 200 once the users are valid.
* Topic logs have no retention: ``min`` is always 0.
* Messages whose attribute keys or values contain ``"``, ``\\`` or control characters are stored,
  but pulling them fails with 500 "Message retrieved from broker network has invalid JSON
  Structure", as on the real service.
* Daily publish counters survive topic deletion (they are history used by the VA report) and
  are removed with the project. Members keep their entries for a deleted project (shown with
  project name ``""``), as on the real server.
* ``publishing_rate``/``consumption_rate`` use the elapsed time since the previous request,
  or 1 s for the first one.
* The ``golang``/``compiler``/``build_time`` values of ``/version`` are fixed plausible values;
  ``distro`` is the host's (``/etc/os-release``).
* Request bodies are decoded like Go does: invalid UTF-8 and lone ``\\ud800``-style escapes
  become U+FFFD; a top-level ``null`` counts as ``{}`` for struct bodies.
* Message payloads checked against a JSON schema are read like Go's ``json.Decoder`` (first
  value only; syntax errors in Go's words, :mod:`pymod.emulator.gojson`). Violations are
  phrased like gojsonschema for the common keywords and listed in its order (a node's own
  checks before its children's); the real server visits an object's properties in Go's random
  map order, the emulator by name. Avro schemas and data are checked with goavro's rules and
  words (:mod:`pymod.emulator.goavro`); JSON-Schema compiler messages are gojsonschema's for the
  common keywords, jsonschema's for the others.
* The push worker joins a project as a member without project roles when one of the
  project's endpoints is verified or a mattermost subscription is set up.
* CPU/memory in ``/v1/metrics`` are the load average per core and the process's peak RSS.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Callable, Optional
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from pymod.emulator.api.accounts import AccountOps
from pymod.emulator.api.context import (
    NAME_RE,
    Ctx,
    PublishNotifier,
    _first_values,
    _router_404,
    clean_path,
    cors_preflight,
    error_response,
)
from pymod.emulator.api.routing import ROUTES, RouteSpec
from pymod.emulator.api.schemas import SchemaOps
from pymod.emulator.api.service import ServiceOps
from pymod.emulator.api.subscriptions import PULL_WAIT_SECONDS, SubscriptionOps
from pymod.emulator.api.topics import TopicOps
from pymod.emulator.errors import AmsError, internal
from pymod.emulator.roles import PUSH_WORKER, route_allows
from pymod.emulator.store import Project, Store, User

__all__ = ["ROUTES", "PULL_WAIT_SECONDS", "AmsService", "PublishNotifier", "create_app"]

logger = logging.getLogger(__name__)

Handler = Callable[[Ctx], Awaitable[Response]]


class AmsService(TopicOps, SubscriptionOps, AccountOps, SchemaOps, ServiceOps):
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
        if request.headers.get("origin") and request.method != "OPTIONS":
            response.headers["Access-Control-Allow-Origin"] = "*"
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        """Route a request as the real server does (its CORS wrapper, then gorilla/mux: path
        cleaning with a 301, first matching route wins, 405 only when the *last* route's path
        matches, else ``404 page not found``), then run it through the steps of spec 1.3."""
        path: str = request.scope["path"]
        if request.method == "OPTIONS":
            return cors_preflight(request.headers)
        clean = clean_path(path)
        if clean != path:
            query = request.scope.get("query_string", b"").decode("latin-1")
            location = quote(clean, safe="/$&+,:;=@") + (f"?{query}" if query else "")
            return Response(b"", 301, headers={"Location": location})
        if not path.startswith("/v1/"):
            return _router_404()
        path = path[3:]
        method_mismatch = False
        for route in ROUTES:
            match = route.regex.fullmatch(path)
            if match is not None and route.method == request.method:
                return await self.run(route, match.groupdict(), request)
            # mux's PathPrefix("/v1") matcher clears an earlier method mismatch on every route
            method_mismatch = match is not None
        return Response(b"", 405) if method_mismatch else _router_404()

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
