"""The emulator's route→roles table: the defaults implied by spec section 13.1.

The real table is deployment data; this one follows the "typical roles" column of the route
table (spec section 3) and section 13.1.
"""

from __future__ import annotations

SERVICE_ADMIN = "service_admin"
PROJECT_ADMIN = "project_admin"
PUBLISHER = "publisher"
CONSUMER = "consumer"
PUSH_WORKER = "push_worker"
ADMIN_VIEWER = "admin_viewer"
SUPER_ROLE = "_admin_"

PROJECT_ROLES = frozenset({PROJECT_ADMIN, PUBLISHER, CONSUMER})
SERVICE_ROLES = frozenset({SERVICE_ADMIN, ADMIN_VIEWER, PUSH_WORKER})
#: Every role name that may be assigned to a user ("invalid role: r" otherwise).
VALID_ROLES = PROJECT_ROLES | SERVICE_ROLES

_SA = (SERVICE_ADMIN,)
_PA = (PROJECT_ADMIN, SERVICE_ADMIN)
_PUB = (PROJECT_ADMIN, PUBLISHER, SERVICE_ADMIN)
_CON = (PROJECT_ADMIN, CONSUMER, SERVICE_ADMIN)

ROUTE_ROLES: dict[str, tuple[str, ...]] = {
    "ams:metrics": _SA,
    "ams:vaMetrics": _SA,
    "users:byToken": _SA,
    "users:byUUID": _SA,
    "users:list": _SA,
    "users:show": _SA,
    "users:refreshToken": _SA,
    "users:create": _SA,
    "users:update": _SA,
    "users:delete": _SA,
    "registrations:newUser": _SA,
    "registrations:acceptNewUser": _SA,
    "registrations:declineNewUser": _SA,
    "registrations:delete": _SA,
    "registrations:show": _SA,
    "registrations:list": _SA,
    "projects:list": _SA,
    "projects:metrics": _PA,
    "projects:addUser": _PA,
    "projects:removeUser": _PA,
    "projects:showUser": _PA,
    "projects:createUser": _PA,
    "projects:updateUser": _PA,
    "projects:listUsers": _PA,
    "projects:show": (PROJECT_ADMIN, PUBLISHER, CONSUMER, SERVICE_ADMIN),
    "projects:create": _SA,
    "projects:update": _SA,
    "projects:delete": _SA,
    "subscriptions:list": _CON,
    "subscriptions:listByTopic": _PA,
    "subscriptions:offsets": _CON,
    "subscriptions:timeToOffset": _CON,
    "subscriptions:acl": _PA,
    "subscriptions:metrics": _CON,
    "subscriptions:show": _CON,
    "subscriptions:create": _PA,
    "subscriptions:delete": _PA,
    "subscriptions:pull": (*_CON, PUSH_WORKER),
    "subscriptions:acknowledge": (*_CON, PUSH_WORKER),
    "subscriptions:verifyPushEndpoint": _PA,
    "subscriptions:modifyAckDeadline": _PA,
    "subscriptions:modifyPushConfig": _PA,
    "subscriptions:modifyOffset": _CON,
    "subscriptions:modifyAcl": _PA,
    "topics:list": _PUB,
    "topics:acl": _PA,
    "topics:metrics": _PUB,
    "topics:show": _PUB,
    "topics:create": _PA,
    "topics:delete": _PA,
    "topics:publish": _PUB,
    "topics:modifyAcl": _PA,
    "topics:attachSchema": _PA,
    "topics:detachSchema": _PA,
    "schemas:validateMessage": _PUB,
    "schemas:create": _PA,
    "schemas:show": _PUB,
    "schemas:list": _PUB,
    "schemas:update": _PA,
    "schemas:delete": _PA,
}


def route_allows(route_id: str, roles: frozenset[str]) -> bool:
    """True when a caller holding ``roles`` may call route ``route_id`` (spec 1.3 step 5)."""
    if SUPER_ROLE in roles:
        return True
    return any(role in roles for role in ROUTE_ROLES.get(route_id, ()))
