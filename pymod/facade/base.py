"""State and helpers shared by the facade's parts."""

from __future__ import annotations

import contextlib
import datetime
import functools
from collections import OrderedDict
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import requests

from pymod.amsexceptions import AmsArgumentException, AmsResponseException
from pymod.amssubscription import AmsSubscription
from pymod.amstopic import AmsTopic
from pymod.envconfig import client_kwargs
from pymod.facade.replies import REPLY_TYPES, check_reply, malformed
from pymod.retry import RetryPolicy
from pymod.routes import ORIGINAL_ROUTES, validate_name
from pymod.transport import (
    DEFAULT_MAX_REPLY_BYTES,
    DEFAULT_TIMEOUT,
    AmsHttpRequests,
    ReplyCheck,
    Timeout,
)
from pymod.types import Acl

__all__ = ["FacadeBase", "JSONDict", "store_acl"]

#: A decoded JSON object as AMS returns it.
JSONDict = Dict[str, Any]

#: AMS's limit for one stored message (its JSON form), in bytes (spec 4.5).
MAX_MESSAGE_BYTES = 1_500_000


class FacadeBase(AmsHttpRequests):
    """What every part of the facade shares: the project, pull options, limits, object builders."""

    def __init__(
        self,
        endpoint: str,
        token: str = "",
        project: str = "",
        cert: str = "",
        key: str = "",
        authn_port: int = 8443,
        *,
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        verify: Union[bool, str, None] = None,
        retry_policy: Optional[RetryPolicy] = None,
        pool_maxsize: int = 16,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        max_request_bytes: int = 5_000_000,
        max_request_messages: int = 1000,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        if project:
            validate_name("project", project)
        for name, value in (
            ("max_message_bytes", max_message_bytes),
            ("max_request_bytes", max_request_bytes),
            ("max_request_messages", max_request_messages),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise AmsArgumentException(f"{name} must be an int >= 1, got {value!r}")
        self.project = project
        self.max_message_bytes = max_message_bytes
        self.max_request_bytes = max(max_request_bytes, max_message_bytes + 64)
        self.max_request_messages = max_request_messages
        self.pullopts: Dict[str, str] = {"maxMessages": "1", "returnImmediately": "false"}
        #: The topic and subscription objects met so far, by full name, as argo-ams-library kept
        #: them: filled by get/create/list calls, emptied by delete calls.
        self.topics: Dict[str, AmsTopic] = OrderedDict()
        self.subs: Dict[str, AmsSubscription] = OrderedDict()
        #: argo-ams-library's table of URL templates, ``{route_name: [method, template]}``.
        self.routes: Dict[str, List[str]] = {k: list(v) for k, v in ORIGINAL_ROUTES.items()}
        super().__init__(
            endpoint, authn_port, token, cert, key, session=session, timeout=timeout,
            verify=verify, retry_policy=retry_policy, pool_maxsize=pool_maxsize,
            max_reply_bytes=max_reply_bytes,
        )

    @classmethod
    def from_env(
        cls: Type[_Facade], environ: Optional[Mapping[str, str]] = None, **kwargs: Any
    ) -> _Facade:
        """A client configured by ``AMS_*`` environment variables.

        Reads ``AMS_HOST`` (required), ``AMS_TOKEN`` or ``AMS_TOKEN_FILE`` (or ``AMS_CERT`` and
        ``AMS_KEY`` for an X.509 login), ``AMS_PROJECT``, ``AMS_CA`` (CA bundle to verify the
        server), ``AMS_TIMEOUT`` (seconds) and ``AMS_RETRY``/``AMS_RETRY_BACKOFF`` (a client-wide
        :class:`~pymod.retry.RetryPolicy`); see :mod:`pymod.envconfig`. Empty variables count as
        unset.

        Args:
            environ: the variables (default ``os.environ``).
            kwargs: constructor keywords that win over the environment (``session=``,
                ``retry_policy=``, ``authn_port=`` ...).

        Returns:
            the client (no request is made, except the X.509 login without a token).

        Raises:
            AmsArgumentException: a variable is missing or invalid; the message names it and
                never contains the token.
        """
        settings = client_kwargs(environ)
        settings.update(kwargs)
        return cls(**settings)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, project={self.project!r})"

    def _call(self, route_name: str, *args: Any, check: Optional[ReplyCheck] = None,
              **kwargs: Any) -> Any:
        """The transport's ``_call``, each attempt's reply checked against the route's reply type
        (:func:`pymod.facade.replies.check_reply`) unless a ``check`` of its own is given: an
        AmsReplyMismatchException if it does not fit, which discards the connection and is
        retried where the request is safe to repeat."""
        if check is None and route_name in REPLY_TYPES:
            check = functools.partial(check_reply, route_name)
        return super()._call(route_name, *args, check=check, **kwargs)

    # ---- helpers --------------------------------------------------------------------------
    def _project_or_default(self, project: Optional[str]) -> str:
        project = project or self.project
        if not project:
            raise AmsArgumentException("no project given and the client has no default project")
        return project

    def _p(self, **params: Any) -> Dict[str, Any]:
        """Path parameters with the client's project."""
        params.setdefault("project", self._project_or_default(None))
        return params

    def _topic_fullname(self, topic: str) -> str:
        return f"/projects/{self.project}/topics/{topic}"

    def _cache(self, build: Callable[[Mapping[str, Any]], Any], reply: Any) -> None:
        """Add the object of ``reply`` to ``self.topics``/``self.subs`` if the reply has what it
        takes (a call that returns the reply itself does not fail for the cache's sake)."""
        with contextlib.suppress(AmsResponseException):
            build(reply)

    def _topic_obj(self, data: Mapping[str, Any]) -> AmsTopic:
        """The cached :class:`AmsTopic` of a topic reply (``self.topics``), added if new."""
        name = reply_field(data, "name", str, "topics:show")
        found = self.topics.get(name)
        if found is None:
            found = self.topics[name] = AmsTopic(name, init=self)  # type: ignore[arg-type]
        return found

    def _sub_obj(self, data: Mapping[str, Any]) -> AmsSubscription:
        """The cached :class:`AmsSubscription` of a subscription reply (``self.subs``), added if
        new, else updated with the reply's push configuration and ack deadline."""
        route = "subscriptions:show"
        name = reply_field(data, "name", str, route)
        topic = self._topic_obj({"name": reply_field(data, "topic", str, route)})
        deadline = reply_field(data, "ackDeadlineSeconds", int, route)
        found = self.subs.get(name)
        if found is None:
            found = self.subs[name] = AmsSubscription(
                name, topic, data.get("pushConfig"), deadline, init=self,  # type: ignore[arg-type]
            )
        else:
            found.topic, found.ackdeadline = topic, deadline
            found._set_pushconfig(data.get("pushConfig"))
        return found


T = TypeVar("T")
_Facade = TypeVar("_Facade", bound="FacadeBase")


def store_acl(obj: Union[AmsTopic, AmsSubscription], reply: Acl) -> Acl:
    """Set ``obj.acls`` from an ACL reply; the reply, or ``[]`` for an empty reply (as
    argo-ams-library returned it)."""
    if reply:
        obj.acls = list(reply.get("authorized_users") or [])
        return reply
    obj.acls = []
    return []


def reply_field(reply: Mapping[str, Any], key: str, kind: Type[T], route: str) -> T:
    """``reply[key]``, checked to be a ``kind``.

    Raises:
        AmsResponseException: the key is missing or its value has another type (a 200 reply that
            is not the shape the route promises).
    """
    value = reply.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise malformed(route, f"malformed reply: no valid {key!r}")
    return value


def check_int(name: str, value: object, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """``value`` if it is an int (not bool) within ``[low, high]``.

    Raises:
        AmsArgumentException: otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise AmsArgumentException(f"{name} must be an int, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise AmsArgumentException(f"{name} must be {bounds}, got {value}")
    return value


def check_str_list(name: str, value: object) -> List[str]:
    """``value`` as a list of str.

    Raises:
        AmsArgumentException: not a list/tuple of str (a bare str is refused too).
    """
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise AmsArgumentException(f"{name} must be a list of str, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str):
            raise AmsArgumentException(
                f"{name} must be a list of str, found {type(item).__name__}"
            )
    return list(value)


def zulu_millis(timestamp: object) -> str:
    """``timestamp`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, the form ``timeToOffset`` takes.

    An aware datetime is converted to UTC; a naive one is taken to be in UTC already (as
    ``datetime.utcnow()`` returns). Microseconds are truncated to milliseconds.

    Raises:
        AmsArgumentException: ``timestamp`` is not a :class:`datetime.datetime`.
    """
    if not isinstance(timestamp, datetime.datetime):
        raise AmsArgumentException(
            f"timestamp must be a datetime.datetime, got {type(timestamp).__name__}"
        )
    if timestamp.tzinfo is not None and timestamp.utcoffset() is not None:
        timestamp = timestamp.astimezone(datetime.timezone.utc)
    return timestamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{timestamp.microsecond // 1000:03d}Z"


def iso_date(name: str, value: object) -> Optional[str]:
    """``value`` (date or datetime) as ``YYYY-MM-DD``, or None.

    Raises:
        AmsArgumentException: not a date.
    """
    if value is None:
        return None
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    raise AmsArgumentException(f"{name} must be a datetime.date or datetime, got {type(value).__name__}")


def walk_pages(
    page_size: int, fetch: Callable[[str], Tuple[Iterable[T], str]], route: str = "list"
) -> Iterator[T]:
    """Yield the items of every page, lazily: ``fetch(page_token)`` returns a page's items and
    the next page token (``""`` after the last page).

    Raises:
        AmsArgumentException: ``page_size`` is not an int >= 1 (before any request).
        AmsResponseException: a page gives a ``nextPageToken`` already seen (the listing would
            never end), after the items of the pages before it.
    """
    check_int("page_size", page_size, 1)
    token = ""
    seen = {token}
    while True:
        items, token = fetch(token)
        yield from items
        if not token:
            return
        if token in seen:
            raise malformed(
                route, f"the listing does not advance: page {len(seen)} gives a "
                "nextPageToken that an earlier page gave"
            )
        seen.add(token)
