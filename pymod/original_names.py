"""The route names of argo-ams-library 1.0.0, in a module that imports nothing of pymod (so that
:mod:`pymod.amsexceptions` and :mod:`pymod.routes` can both use it at import time)."""

from __future__ import annotations

from typing import Mapping

__all__ = ["ORIGINAL_ROUTE_NAMES", "original_route_name"]

#: The route names of argo-ams-library 1.0.0 (its ``routes`` table), by AMS route id. Exception
#: messages use them (``While trying the [topic_get]: ...``) as the original's did.
ORIGINAL_ROUTE_NAMES: Mapping[str, str] = {
    "topics:list": "topic_list",
    "topics:show": "topic_get",
    "topics:publish": "topic_publish",
    "topics:create": "topic_create",
    "topics:delete": "topic_delete",
    "topics:acl": "topic_getacl",
    "topics:modifyAcl": "topic_modifyacl",
    "subscriptions:create": "sub_create",
    "subscriptions:delete": "sub_delete",
    "subscriptions:list": "sub_list",
    "subscriptions:show": "sub_get",
    "subscriptions:pull": "sub_pull",
    "subscriptions:acknowledge": "sub_ack",
    "subscriptions:modifyPushConfig": "sub_pushconfig",
    "subscriptions:acl": "sub_getacl",
    "subscriptions:modifyAcl": "sub_modifyacl",
    "subscriptions:offsets": "sub_offsets",
    "subscriptions:modifyOffset": "sub_mod_offset",
    "subscriptions:timeToOffset": "sub_timeToOffset",
    "ams:healthStatus": "api_status",
    "ams:metrics": "api_metrics",
    "ams:vaMetrics": "api_va_metrics",
    "version:list": "api_version",
    "users:usageReport": "api_usage_report",
    "users:create": "user_create",
    "users:update": "user_update",
    "users:show": "user_get",
    "users:byToken": "user_get_by_token",
    "users:byUUID": "user_get_by_uuid",
    "users:profile": "user_get_profile",
    "users:list": "users_list",
    "users:delete": "user_delete",
    "users:refreshToken": "user_refresh_token",
    "projects:addUser": "project_add_member",
    "projects:showUser": "project_get_member",
    "projects:createUser": "project_create_member",
    "projects:removeUser": "project_remove_member",
    "projects:create": "project_create",
    "projects:update": "project_update",
    "projects:show": "project_get",
    "projects:delete": "project_delete",
    "auth:x509": "auth_x509",
}


def original_route_name(name: str) -> str:
    """The argo-ams-library name of route id ``name`` (``"topics:show"`` -> ``"topic_get"``);
    ``name`` itself for routes the original did not have or names that are not route ids."""
    return ORIGINAL_ROUTE_NAMES.get(name, name)
