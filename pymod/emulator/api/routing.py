"""The emulator's route table: all 64 routes of spec section 3, in the router's order."""

from __future__ import annotations

import dataclasses
import re


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

