"""Topic routes: create/show/list/delete, publish, ACLs, metrics, schemas of a topic."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsException,
    AmsMessageException,
    AmsPublishException,
    AmsServiceException,
)
from pymod.amsmsg import AmsMessage, wire_message
from pymod.amstopic import AmsTopic
from pymod.facade.base import FacadeBase, JSONDict, check_int, check_str_list, reply_field, walk_pages
from pymod.routes import validate_name
from pymod.transport import COMPACT_JSON
from pymod.types import Acl, MetricList, PublishResult, Topic, TopicList

__all__ = ["PublishInput", "TopicsAPI"]

#: What publish accepts: one message or a sequence of them, each an AmsMessage or a wire-form dict.
PublishInput = Union[AmsMessage, Mapping[str, Any], Sequence[Union[AmsMessage, Mapping[str, Any]]]]

# Bytes AMS adds around a message when it stores it ({"messageId":"...","publishTime":"..."} and
# key names), counted generously so that a message we accept is never refused with 413.
_STORED_OVERHEAD = 128
_PAGE_SIZE = 100
# A publish body is '{"messages":[' + ','.join(message texts) + ']}': this many bytes more.
_ENVELOPE = len('{"messages":[]}')


def _schema_ref(project: str, schema: str) -> str:
    """``projects/{project}/schemas/{schema}`` from a short name or a full reference."""
    if isinstance(schema, str) and schema.count("/") == 3:
        head, proj, kind, name = schema.split("/")
        if head == "projects" and kind == "schemas":
            validate_name("project", proj)
            validate_name("schema", name)
            return schema
    return f"projects/{project}/schemas/{validate_name('schema', schema)}"


class TopicsAPI(FacadeBase):
    """Topic methods of :class:`~pymod.ams.ArgoMessagingService`."""

    def create_topic(
        self, topic: str, retobj: bool = False, schema: Optional[str] = None, **reqkwargs: Any
    ) -> Union[Topic, AmsTopic]:
        """Create ``topic`` (``PUT /v1/projects/{project}/topics/{topic}``).

        Args:
            topic: the topic name.
            retobj: return an :class:`AmsTopic` instead of the JSON object.
            schema: optional schema (short name or ``projects/P/schemas/S``) to validate messages.
            reqkwargs: passed to ``requests``.

        Returns:
            ``{"name": "/projects/P/topics/T", "created_on": str[, "schema": str]}`` or AmsTopic.

        Raises:
            AmsServiceException: 409 ``ALREADY_EXISTS``, 404 for an unknown schema, 403 ...
        """
        body = {"schema": _schema_ref(self._project_or_default(None), schema)} if schema else None
        reply = self._call("topics:create", body, params=self._p(topic=topic), **reqkwargs)
        return self._topic_obj(reply) if retobj else reply

    def get_topic(
        self, topic: str, retobj: bool = False, **reqkwargs: Any
    ) -> Union[Topic, AmsTopic]:
        """Show ``topic`` (``GET /v1/projects/{project}/topics/{topic}``).

        Returns:
            the topic JSON object, or an :class:`AmsTopic` with ``retobj=True``.

        Raises:
            AmsServiceException: 404 if the topic does not exist.
        """
        reply = self._call("topics:show", params=self._p(topic=topic), **reqkwargs)
        return self._topic_obj(reply) if retobj else reply

    def list_topics(
        self, page_size: int = 0, page_token: str = "", **reqkwargs: Any
    ) -> TopicList:
        """List the project's topics, newest first (``GET /v1/projects/{project}/topics``).

        Args:
            page_size: topics per page; 0 = all of them in one reply.
            page_token: ``nextPageToken`` of the previous page; ``""`` for the first page.

        Returns:
            ``{"topics": [topic, ...], "nextPageToken": str, "totalSize": int}``.
        """
        query = _page_query(page_size, page_token)
        reply: TopicList = self._call("topics:list", query=query, params=self._p(), **reqkwargs)
        reply.setdefault("topics", [])
        return reply

    def iter_topics(self, page_size: int = _PAGE_SIZE, **reqkwargs: Any) -> Iterator[AmsTopic]:
        """Yield every topic as an :class:`AmsTopic`, fetching ``page_size`` at a time."""
        for item in self._walk_pages(self.list_topics, "topics", page_size, **reqkwargs):
            yield self._topic_obj(item)

    def _walk_pages(
        self, lister: Callable[..., Mapping[str, Any]], key: str, page_size: int, **reqkwargs: Any
    ) -> Iterator[JSONDict]:
        """The items under ``key`` of every page of the listing ``lister``."""

        def fetch(token: str) -> Tuple[List[JSONDict], str]:
            page = lister(page_size=page_size, page_token=token, **reqkwargs)
            return page.get(key) or [], page.get("nextPageToken") or ""

        return walk_pages(page_size, fetch, f"{key}:list")

    def delete_topic(self, topic: str, **reqkwargs: Any) -> JSONDict:
        """Delete ``topic`` and its messages (``DELETE /v1/projects/{project}/topics/{topic}``).

        Returns:
            ``{}``. Raises AmsServiceException 404 if it does not exist.
        """
        result: JSONDict = self._call("topics:delete", params=self._p(topic=topic), **reqkwargs)
        return result

    def has_topic(self, topic: str, **reqkwargs: Any) -> bool:
        """Whether ``topic`` exists (one ``GET``; other errors than 404 are raised)."""
        try:
            self.get_topic(topic, **reqkwargs)
        except AmsServiceException as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def topic(self, topic: str, **reqkwargs: Any) -> AmsTopic:
        """The :class:`AmsTopic` ``topic``, created if it does not exist.

        One request: a ``PUT`` that creates the topic, or answers 409 if it is already there.
        """
        try:
            created = self.create_topic(topic, retobj=True, **reqkwargs)
        except AmsServiceException as exc:
            if exc.code != 409:
                raise
            return AmsTopic(self._topic_fullname(topic), init=self)  # type: ignore[arg-type]
        assert isinstance(created, AmsTopic)
        return created

    # ---- publish --------------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        msg: PublishInput,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> PublishResult:
        """Publish one message or any number of them to ``topic``
        (``POST /v1/projects/{project}/topics/{topic}:publish``).

        Large lists are split into several requests, each under ``max_request_messages``
        messages and ``max_request_bytes`` bytes of JSON. Every message is checked first: a message
        whose stored form would exceed ``max_message_bytes`` (1,500,000 by default, as AMS) is
        refused before anything is sent.

        Args:
            topic: the topic name.
            msg: an :class:`AmsMessage`, a dict ``{"data": "<base64>", "attributes": {str: str}}``,
                or a list of them.
            retry: extra attempts per request on transient failures (connection errors,
                balancer 502/503/504/408). A retried request may store its messages twice.
            retrysleep: seconds between attempts.
            retrybackoff: if set, exponential backoff factor in seconds instead of ``retrysleep``.
            reqkwargs: passed to ``requests``.

        Returns:
            ``{"messageIds": [str, ...]}``, one id per message, in order.

        Raises:
            AmsMessageException: a message is malformed or too large (nothing was sent).
            AmsPublishException: a later request failed after earlier ones were published; it
                lists the published ids and the unpublished messages.
            AmsServiceException, AmsConnectionException: the (first) request failed; nothing
                was published, unless a lost connection hid a store.
        """
        messages = _as_list(msg)
        wire = [wire_message(m) for m in messages]
        chunks = self._chunks(wire)
        url = self.url_for("topics:publish", **self._p(topic=topic))
        ids: List[str] = []
        for start, body in chunks:
            try:
                reply = self._retry_make_request(
                    url, body, "topics:publish", retry, retrysleep, retrybackoff, **reqkwargs
                )
            except AmsException as exc:
                if not ids:
                    raise
                raise AmsPublishException(exc, ids, wire[start:], start) from exc
            ids.extend(reply_field(reply, "messageIds", list, "topics:publish"))
        return {"messageIds": ids}

    def _chunks(self, wire: List[Dict[str, Any]]) -> List[Any]:
        """Split wire messages into request bodies: ``[(first_index, body_json_str), ...]``.

        Each body holds at most ``max_request_messages`` messages and ``max_request_bytes``
        bytes; a message whose stored form would exceed ``max_message_bytes`` raises
        AmsMessageException before anything is sent.
        """
        limit_msg = self.max_message_bytes - _STORED_OVERHEAD
        limit_req = self.max_request_bytes - _ENVELOPE
        limit_count = self.max_request_messages
        if 0 < len(wire) <= limit_count:
            # Fast path: the whole body in one encoder call. No message is longer than all the
            # messages together, so when they fit both limits the loop below would neither raise
            # nor split, and its one body would be this text. Halves the client CPU of building a
            # 100 x 1 KiB publish (benchmarks/README.md).
            body = COMPACT_JSON.encode({"messages": wire})
            if len(body) - _ENVELOPE <= min(limit_msg, limit_req):
                return [(0, body)]
        chunks: List[Any] = []
        parts: List[str] = []
        size = -1  # length of ','.join(parts)
        start = 0
        for index, message in enumerate(wire):
            text = COMPACT_JSON.encode(message)
            if len(text) > limit_msg:
                raise AmsMessageException(
                    f"message {index} is too large: about {len(text) + _STORED_OVERHEAD} bytes "
                    f"once stored, the limit is {self.max_message_bytes} bytes; nothing was "
                    "published"
                )
            if parts and (len(parts) >= limit_count or size + 1 + len(text) > limit_req):
                chunks.append((start, '{"messages":[' + ",".join(parts) + "]}"))
                parts, size, start = [], -1, index
            parts.append(text)
            size += 1 + len(text)
        if parts:
            chunks.append((start, '{"messages":[' + ",".join(parts) + "]}"))
        return chunks

    # ---- ACLs, metrics, subscriptions of a topic, schemas -----------------------------------
    def getacl_topic(self, topic: str, **reqkwargs: Any) -> Acl:
        """The topic's ACL (``GET .../topics/{topic}:acl``): ``{"authorized_users": [str, ...]}``."""
        reply: Acl = self._call("topics:acl", params=self._p(topic=topic), **reqkwargs)
        reply.setdefault("authorized_users", [])
        return reply

    def modifyacl_topic(self, topic: str, users: List[str], **reqkwargs: Any) -> bool:
        """Replace the topic's ACL with ``users`` (``POST .../topics/{topic}:modifyAcl``).

        Args:
            users: user names (members of the project); ``[]`` clears the ACL.

        Returns:
            True.

        Raises:
            AmsArgumentException: ``users`` is not a list of str.
            AmsServiceException: 404 ``User(s): ... do not exist`` ...
        """
        body = {"authorized_users": check_str_list("users", users)}
        self._call("topics:modifyAcl", body, params=self._p(topic=topic), **reqkwargs)
        return True

    def getmetrics_topic(self, topic: str, **reqkwargs: Any) -> MetricList:
        """The topic's metrics (``GET .../topics/{topic}:metrics``): ``{"metrics": [...]}`` with
        ``topic.number_of_subscriptions``, ``number_of_messages``, ``number_of_bytes``,
        ``number_of_daily_messages`` and ``publishing_rate``."""
        result: MetricList = self._call("topics:metrics", params=self._p(topic=topic), **reqkwargs)
        return result

    def list_topic_subs(self, topic: str, **reqkwargs: Any) -> List[str]:
        """Full names of the subscriptions of ``topic``
        (``GET /v1/projects/{project}/topics/{topic}/subscriptions``)."""
        reply = self._call("subscriptions:listByTopic", params=self._p(topic=topic), **reqkwargs)
        return list(reply.get("subscriptions") or [])

    def attachschema_topic(self, topic: str, schema: str, **reqkwargs: Any) -> None:
        """Validate future publishes to ``topic`` against ``schema`` (short name or full
        reference) (``POST .../topics/{topic}:attachSchema``)."""
        body = {"schema": _schema_ref(self._project_or_default(None), schema)}
        self._call("topics:attachSchema", body, params=self._p(topic=topic), **reqkwargs)

    def detachschema_topic(self, topic: str, **reqkwargs: Any) -> None:
        """Remove the topic's schema (``POST .../topics/{topic}:detachSchema``)."""
        self._call("topics:detachSchema", params=self._p(topic=topic), **reqkwargs)


def _as_list(msg: object) -> List[Any]:
    if isinstance(msg, (AmsMessage, Mapping)):
        return [msg]
    if isinstance(msg, (list, tuple)):
        return list(msg)
    raise AmsMessageException(
        f"msg must be an AmsMessage, a dict or a list of them, got {type(msg).__name__}"
    )


def _page_query(page_size: int, page_token: str) -> Dict[str, Any]:
    check_int("page_size", page_size, 0)
    if not isinstance(page_token, str):
        raise AmsArgumentException(f"page_token must be a str, got {type(page_token).__name__}")
    query: Dict[str, Any] = {}
    if page_size:
        query["pageSize"] = page_size
    if page_token:
        query["pageToken"] = page_token
    return query
