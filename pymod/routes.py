"""The AMS v1 route table as data, and the one place where URLs are built.

Every route of the AMS v1 API is listed once, keyed by the server's route id, with its
HTTP method and path template. Path variables are validated against the AMS name rule
(``^[a-zA-Z0-9_-]+$``) and percent-quoted by :func:`format_path` before they can reach a URL, so a
topic named ``../users`` or ``a?b`` raises :class:`~pymod.amsexceptions.AmsArgumentException` and is
never sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple
from urllib.parse import quote

from pymod.amsexceptions import AmsArgumentException, redact
from pymod.original_names import ORIGINAL_ROUTE_NAMES, original_route_name

__all__ = [
    "AUTHN_ROUTE",
    "LEGACY_ROUTE_NAMES",
    "NAME_RE",
    "ORIGINAL_ROUTES",
    "ORIGINAL_ROUTE_NAMES",
    "ROUTES",
    "Route",
    "format_path",
    "original_route_name",
    "redact_url",
    "resolve_route",
    "validate_name",
]

#: The AMS rule for every name that appears in a URL path.
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")

_VAR_RE = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Route:
    """One AMS route.

    Attributes:
        name: the server's route id, e.g. ``"topics:publish"``.
        method: HTTP method in upper case.
        path: template relative to ``/v1`` with ``{project}``-style variables.
        variables: the names of the path variables, in template order.
    """

    name: str
    method: str
    path: str
    variables: Tuple[str, ...]


def _route(name: str, method: str, path: str) -> Route:
    return Route(name, method, path, tuple(_VAR_RE.findall(path)))


_P = "/projects/{project}"
_T = _P + "/topics/{topic}"
_S = _P + "/subscriptions/{subscription}"

#: All 64 routes of AMS v1, in the order of the AMS API reference.
ROUTES: Dict[str, Route] = {
    r.name: r
    for r in (
        _route("ams:metrics", "GET", "/metrics"),
        _route("ams:healthStatus", "GET", "/status"),
        _route("ams:vaMetrics", "GET", "/metrics/va_metrics"),
        _route("users:byToken", "GET", "/users:byToken/{token}"),
        _route("users:byUUID", "GET", "/users:byUUID/{uuid}"),
        _route("users:list", "GET", "/users"),
        _route("users:profile", "GET", "/users/profile"),
        _route("users:usageReport", "GET", "/users/usageReport"),
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
        _route("projects:metrics", "GET", _P + ":metrics"),
        _route("projects:addUser", "POST", _P + "/members/{user}:add"),
        _route("projects:removeUser", "POST", _P + "/members/{user}:remove"),
        _route("projects:showUser", "GET", _P + "/members/{user}"),
        _route("projects:createUser", "POST", _P + "/members/{user}"),
        _route("projects:updateUser", "PUT", _P + "/members/{user}"),
        _route("projects:listUsers", "GET", _P + "/members"),
        _route("projects:show", "GET", _P),
        _route("projects:create", "POST", _P),
        _route("projects:update", "PUT", _P),
        _route("projects:delete", "DELETE", _P),
        _route("subscriptions:list", "GET", _P + "/subscriptions"),
        _route("subscriptions:listByTopic", "GET", _T + "/subscriptions"),
        _route("subscriptions:offsets", "GET", _S + ":offsets"),
        _route("subscriptions:timeToOffset", "GET", _S + ":timeToOffset"),
        _route("subscriptions:acl", "GET", _S + ":acl"),
        _route("subscriptions:metrics", "GET", _S + ":metrics"),
        _route("subscriptions:show", "GET", _S),
        _route("subscriptions:create", "PUT", _S),
        _route("subscriptions:delete", "DELETE", _S),
        _route("subscriptions:pull", "POST", _S + ":pull"),
        _route("subscriptions:acknowledge", "POST", _S + ":acknowledge"),
        _route("subscriptions:verifyPushEndpoint", "POST", _S + ":verifyPushEndpoint"),
        _route("subscriptions:modifyAckDeadline", "POST", _S + ":modifyAckDeadline"),
        _route("subscriptions:modifyPushConfig", "POST", _S + ":modifyPushConfig"),
        _route("subscriptions:modifyOffset", "POST", _S + ":modifyOffset"),
        _route("subscriptions:modifyAcl", "POST", _S + ":modifyAcl"),
        _route("topics:list", "GET", _P + "/topics"),
        _route("topics:acl", "GET", _T + ":acl"),
        _route("topics:metrics", "GET", _T + ":metrics"),
        _route("topics:show", "GET", _T),
        _route("topics:create", "PUT", _T),
        _route("topics:delete", "DELETE", _T),
        _route("topics:publish", "POST", _T + ":publish"),
        _route("topics:modifyAcl", "POST", _T + ":modifyAcl"),
        _route("topics:attachSchema", "POST", _T + ":attachSchema"),
        _route("topics:detachSchema", "POST", _T + ":detachSchema"),
        _route("schemas:validateMessage", "POST", _P + "/schemas/{schema}:validate"),
        _route("schemas:create", "POST", _P + "/schemas/{schema}"),
        _route("schemas:show", "GET", _P + "/schemas/{schema}"),
        _route("schemas:list", "GET", _P + "/schemas"),
        _route("schemas:update", "PUT", _P + "/schemas/{schema}"),
        _route("schemas:delete", "DELETE", _P + "/schemas/{schema}"),
        _route("version:list", "GET", "/version"),
    )
}

#: The X.509 token exchange of the separate authentication service. Its path is
#: relative to the authn service root, not ``/v1`` of AMS.
AUTHN_ROUTE = Route("auth:x509", "GET", "/v1/service-types/ams/hosts/{host}:authx509", ("host",))

#: The URL templates of argo-ams-library 1.0.0 (its ``AmsHttpRequests.routes``), by its route
#: name: ``(method, template)`` with ``{0}`` the endpoint, ``{1}`` the project (or user) and so on.
#: Kept as ``ams.routes`` for code that built URLs from them; pymod itself builds URLs with
#: :func:`format_path`, which validates and quotes the names.
ORIGINAL_ROUTES: Mapping[str, Tuple[str, str]] = {
    # topic api calls
    "topic_list": ("get", "https://{0}/v1/projects/{1}/topics"),
    "topic_get": ("get", "https://{0}/v1/projects/{1}/topics/{2}"),
    "topic_publish": ("post", "https://{0}/v1/projects/{1}/topics/{2}:publish"),
    "topic_create": ("put", "https://{0}/v1/projects/{1}/topics/{2}"),
    "topic_delete": ("delete", "https://{0}/v1/projects/{1}/topics/{2}"),
    "topic_getacl": ("get", "https://{0}/v1/projects/{1}/topics/{2}:acl"),
    "topic_modifyacl": ("post", "https://{0}/v1/projects/{1}/topics/{2}:modifyAcl"),

    # subscription api calls
    "sub_create": ("put", "https://{0}/v1/projects/{1}/subscriptions/{2}"),
    "sub_delete": ("delete", "https://{0}/v1/projects/{1}/subscriptions/{2}"),
    "sub_list": ("get", "https://{0}/v1/projects/{1}/subscriptions"),
    "sub_get": ("get", "https://{0}/v1/projects/{1}/subscriptions/{2}"),
    "sub_pull": ("post", "https://{0}/v1/projects/{1}/subscriptions/{2}:pull"),
    "sub_ack": ("post", "https://{0}/v1/projects/{1}/subscriptions/{2}:acknowledge"),
    "sub_pushconfig": ("post", "https://{0}/v1/projects/{1}/subscriptions/{2}:modifyPushConfig"),
    "sub_getacl": ("get", "https://{0}/v1/projects/{1}/subscriptions/{2}:acl"),
    "sub_modifyacl": ("post", "https://{0}/v1/projects/{1}/subscriptions/{2}:modifyAcl"),
    "sub_offsets": ("get", "https://{0}/v1/projects/{1}/subscriptions/{2}:offsets"),
    "sub_mod_offset": ("post", "https://{0}/v1/projects/{1}/subscriptions/{2}:modifyOffset"),
    "sub_timeToOffset": ("get", "https://{0}/v1/projects/{1}/subscriptions/{2}:timeToOffset?time={3}"),

    # miscellaneous api calls about metrics,version,status
    "api_status": ("get", "https://{0}/v1/status"),
    "api_metrics": ("get", "https://{0}/v1/metrics"),
    "api_va_metrics": ("get", "https://{0}/v1/metrics/va_metrics"),
    "api_version": ("get", "https://{0}/v1/version"),
    "api_usage_report": ("get", "https://{0}/v1/users/usageReport"),

    # user api calls
    "user_create": ("post", "https://{0}/v1/users/{1}"),
    "user_update": ("put", "https://{0}/v1/users/{1}"),
    "user_get": ("get", "https://{0}/v1/users/{1}"),
    "user_get_by_token": ("get", "https://{0}/v1/users:byToken/{1}"),
    "user_get_by_uuid": ("get", "https://{0}/v1/users:byUUID/{1}"),
    "user_get_profile": ("get", "https://{0}/v1/users/profile"),
    "users_list": ("get", "https://{0}/v1/users"),
    "user_delete": ("delete", "https://{0}/v1/users/{1}"),
    "user_refresh_token": ("post", "https://{0}/v1/users/{1}:refreshToken"),

    # project api calls
    "project_add_member": ("post", "https://{0}/v1/projects/{1}/members/{2}:add"),
    "project_get_member": ("get", "https://{0}/v1/projects/{1}/members/{2}"),
    "project_create_member": ("post", "https://{0}/v1/projects/{1}/members/{2}"),
    "project_remove_member": ("post", "https://{0}/v1/projects/{1}/members/{2}:remove"),
    "project_create": ("post", "https://{0}/v1/projects/{1}"),
    "project_update": ("put", "https://{0}/v1/projects/{1}"),
    "project_get": ("get", "https://{0}/v1/projects/{1}"),
    "project_delete": ("delete", "https://{0}/v1/projects/{1}"),

    "auth_x509": ("get", "https://{0}:{1}/v1/service-types/ams/hosts/{0}:authx509"),
}

#: Route names accepted wherever a route name is taken, besides the route ids: the original's,
#: and the earlier pymod aliases.
LEGACY_ROUTE_NAMES: Mapping[str, str] = {
    **{legacy: route_id for route_id, legacy in ORIGINAL_ROUTE_NAMES.items()},
    "topic_acl": "topics:acl",
    "sub_acl": "subscriptions:acl",
    "user_list": "users:list",
    "user_by_token": "users:byToken",
    "user_by_uuid": "users:byUUID",
    "user_current": "users:profile",
    "project_member_get": "projects:showUser",
    "project_member_create": "projects:createUser",
    "service_status": "ams:healthStatus",
    "service_metrics": "ams:metrics",
    "va_metrics": "ams:vaMetrics",
    "usage_report": "users:usageReport",
}


def resolve_route(name: str) -> Route:
    """The :class:`Route` for a route id or a legacy route name.

    Raises:
        AmsArgumentException: the name is unknown.
    """
    name = LEGACY_ROUTE_NAMES.get(name, name)
    route = ROUTES.get(name)
    if route is not None:
        return route
    if name == AUTHN_ROUTE.name:
        return AUTHN_ROUTE
    raise AmsArgumentException(f"unknown route name {name!r}")


def validate_name(kind: str, value: object) -> str:
    """Check ``value`` against the AMS name rule and return it.

    Args:
        kind: what the name is for (``"topic"``, ``"subscription"``, ``"project"`` ...), for the
            message.
        value: the candidate name.

    Raises:
        AmsArgumentException: ``value`` is not a non-empty ``str`` of ASCII letters, digits, ``_``
            and ``-``.
    """
    if not isinstance(value, str):
        raise AmsArgumentException(
            f"invalid {kind} name: expected str, got {type(value).__name__}"
        )
    if NAME_RE.fullmatch(value) is None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise AmsArgumentException(
            f"invalid {kind} name {shown!r}: AMS names are 1 or more of A-Z a-z 0-9 _ -"
        )
    return value


def format_path(route: Route, params: Mapping[str, object]) -> str:
    """Fill ``route.path`` with validated, quoted ``params``.

    Raises:
        AmsArgumentException: a variable is missing or fails :func:`validate_name`.
    """
    if not route.variables:
        return route.path
    values = {}
    for var in route.variables:
        if var not in params:
            raise AmsArgumentException(f"route {route.name} needs a {var}")
        values[var] = quote(validate_name(var, params[var]), safe="")
    return route.path.format(**values)


redact_url = redact
