"""The shape of each route's 200 reply, checked before the facade uses it.

The shapes are the :mod:`pymod.types` classes (one description of each reply, for type checkers
and for this check). A reply is accepted when every key it has holds a value of the declared
type; keys may be missing or ``null`` (AMS leaves out empty fields, and sends ``null`` for some
empty lists), unknown keys are ignored. So a wrongly typed reply -- ``"subscriptions": "abc"``, a
user whose ``projects`` is a number, a page whose ``nextPageToken`` is a list -- raises one typed
error, :class:`~pymod.amsexceptions.AmsReplyMismatchException` (an ``AmsResponseException``),
before any of it is used, instead of an ``AttributeError``/``TypeError`` later (or
``['a', 'b', 'c']``). The message names the place (``users[2].projects[0].roles``) and the
types, never a value (a value may be a token).

Publish, pull and acknowledge replies are not in :data:`REPLY_TYPES`: they are checked against
their request by :mod:`pymod.replies` (each reply is checked once).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Mapping, Tuple, Union

from pymod import types as t
from pymod.amsexceptions import AmsReplyMismatchException
from pymod.amsexceptions import malformed_reply as malformed
from pymod.replies import safe_to_repeat
from pymod.routes import resolve_route

__all__ = ["REPLY_TYPES", "check_reply", "malformed"]

if sys.version_info >= (3, 10):  # pragma: no cover - the interpreter decides
    from typing import get_args, get_origin, get_type_hints, is_typeddict
else:  # pragma: no cover
    from typing import get_args, get_origin, get_type_hints

    def is_typeddict(tp: object) -> bool:
        return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")

#: The reply type of each route whose 200 reply carries data (the others answer ``{}``).
REPLY_TYPES: Dict[str, Any] = {
    "topics:create": t.Topic,
    "topics:show": t.Topic,
    "topics:list": t.TopicList,
    "topics:acl": t.Acl,
    "topics:metrics": t.MetricList,
    "subscriptions:listByTopic": t.TopicSubscriptions,
    "subscriptions:create": t.Subscription,
    "subscriptions:show": t.Subscription,
    "subscriptions:list": t.SubscriptionList,
    "subscriptions:delete": t.DeleteReply,
    "subscriptions:offsets": t.Offsets,
    "subscriptions:timeToOffset": t.TimeToOffset,
    "subscriptions:acl": t.Acl,
    "subscriptions:metrics": t.MetricList,
    "schemas:create": t.Schema,
    "schemas:show": t.Schema,
    "schemas:update": t.Schema,
    "schemas:list": t.SchemaList,
    "schemas:validateMessage": t.MessageReply,
    "projects:create": t.Project,
    "projects:show": t.Project,
    "projects:update": t.Project,
    "projects:list": t.ProjectList,
    "projects:metrics": t.MetricList,
    "projects:listUsers": t.UserList,
    "users:list": t.UserList,
    "registrations:newUser": t.Registration,
    "registrations:show": t.Registration,
    "registrations:list": t.RegistrationList,
    "ams:healthStatus": t.Status,
    "version:list": t.Version,
    "ams:metrics": t.MetricList,
    "ams:vaMetrics": t.VaReport,
    "users:usageReport": t.UsageReport,
    **{
        route: t.User
        for route in (
            "users:create", "users:show", "users:byToken", "users:byUUID", "users:profile",
            "users:update", "users:refreshToken", "projects:addUser", "projects:createUser",
            "projects:showUser", "projects:updateUser", "registrations:acceptNewUser",
        )
    },
}


class _Mismatch(Exception):
    def __init__(self, where: str, expected: str, found: object) -> None:
        super().__init__(where)
        self.where, self.expected, self.found = where, expected, type(found).__name__


#: ``check(value, where)``: raises _Mismatch when ``value`` is not of the type.
_Check = Callable[[Any, str], None]
_CHECKS: Dict[Any, _Check] = {}
_NUMBER_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "a boolean"}


def check_reply(route: str, reply: Any) -> Any:
    """``reply`` if it has the shape of ``route``'s reply type (no check for other routes).

    Raises:
        AmsReplyMismatchException: a value of the reply has another type than declared; retryable
            when the request is safe to repeat. Run as the ``check`` of every attempt
            (:meth:`pymod.facade.base.FacadeBase._call`), so the connection it came on is
            discarded and the call's ``retry`` covers it.
    """
    hint = REPLY_TYPES.get(route)
    if hint is not None:
        try:
            _checker(hint)(reply, "reply")
        except _Mismatch as exc:
            raise AmsReplyMismatchException(
                f"malformed reply: {exc.where} should be {exc.expected}, not {exc.found}", route,
                retryable=safe_to_repeat(resolve_route(route)),
            ) from None
    return reply


def _checker(hint: Any) -> _Check:
    found = _CHECKS.get(hint)
    if found is None:
        found = _CHECKS[hint] = _compile(hint)
    return found


def _compile(hint: Any) -> _Check:  # noqa: C901 - one branch per kind of type
    if hint is Any:
        return lambda value, where: None
    if hint in _NUMBER_NAMES:
        kinds: Tuple[type, ...] = (int, float) if hint is float else (hint,)
        name = _NUMBER_NAMES[hint]

        def scalar(value: Any, where: str) -> None:
            if not isinstance(value, kinds) or (hint is not bool and isinstance(value, bool)):
                raise _Mismatch(where, name, value)

        return scalar
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union:
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: null is accepted anyway
            return _checker(options[0])
        if all(a in (int, float) for a in options):
            return _checker(float)
        return lambda value, where: None  # pragma: no cover - no such type in pymod.types
    if origin in (list, List):
        item = _checker(args[0]) if args else _checker(Any)

        def items(value: Any, where: str) -> None:
            if not isinstance(value, list):
                raise _Mismatch(where, "a list", value)
            for index, element in enumerate(value):
                if element is None:
                    raise _Mismatch(f"{where}[{index}]", "a value", element)
                item(element, f"{where}[{index}]")

        return items
    if origin in (dict, Dict, Mapping):
        value_check = _checker(args[1]) if len(args) == 2 else _checker(Any)

        def mapping(value: Any, where: str) -> None:
            if not isinstance(value, dict):
                raise _Mismatch(where, "an object", value)
            for key, element in value.items():
                if element is not None:
                    value_check(element, f"{where}.{key}")

        return mapping
    if is_typeddict(hint):
        fields: Dict[str, Any] = {}

        def record(value: Any, where: str) -> None:
            if not isinstance(value, dict):
                raise _Mismatch(where, "an object", value)
            if not fields:  # resolved on first use: the classes refer to each other
                fields.update((k, _checker(v)) for k, v in get_type_hints(hint).items())
            for key, check in fields.items():
                element = value.get(key)
                if element is not None:
                    check(element, f"{where}.{key}" if where != "reply" else key)

        return record
    return lambda value, where: None  # pragma: no cover - an annotation this does not know

