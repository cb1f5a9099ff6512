"""Topic routes: create/show/list/delete, publish, ACLs, metrics, schemas of a topic."""

from __future__ import annotations

import bisect
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
    overload,
)

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsException,
    AmsMessageException,
    AmsPublishException,
    AmsServiceException,
)
from pymod.amsmsg import AmsMessage, wire_message
from pymod.amstopic import AmsTopic
from pymod.facade.base import (
    FacadeBase,
    JSONDict,
    check_int,
    check_str_list,
    store_acl,
    walk_pages,
)
from pymod.replies import publish_check
from pymod.routes import validate_name
from pymod.transport import COMPACT_JSON
from pymod.types import Acl, MetricList, PublishResult, Topic, TopicList

__all__ = ["MessageIds", "PublishInput", "TopicsAPI"]

#: What publish accepts: one message, a sequence of them, or any iterable of them (streamed), each
#: an AmsMessage or a wire-form dict.
PublishInput = Union[AmsMessage, Mapping[str, Any], Iterable[Union[AmsMessage, Mapping[str, Any]]]]

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
        reply: Topic = self._call("topics:create", body, params=self._p(topic=topic), **reqkwargs)
        if retobj:
            return self._topic_obj(reply)
        self._cache(self._topic_obj, reply)
        return reply

    def get_topic(
        self, topic: str, retobj: bool = False, **reqkwargs: Any
    ) -> Union[Topic, AmsTopic]:
        """Show ``topic`` (``GET /v1/projects/{project}/topics/{topic}``).

        Returns:
            the topic JSON object, or an :class:`AmsTopic` with ``retobj=True``.

        Raises:
            AmsServiceException: 404 if the topic does not exist.
        """
        reply: Topic = self._call("topics:show", params=self._p(topic=topic), **reqkwargs)
        if retobj:
            return self._topic_obj(reply)
        self._cache(self._topic_obj, reply)
        return reply

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
        if reply.get("topics") is None:  # left out, or null (an empty Go slice)
            reply["topics"] = []
        for item in reply["topics"]:
            self._cache(self._topic_obj, item)
        return reply

    def iter_topics(self, page_size: int = 0, **reqkwargs: Any) -> Iterator[AmsTopic]:
        """Yield every topic as an :class:`AmsTopic` (the objects of ``self.topics``).

        Args:
            page_size: 0 (default): one listing of all topics, as argo-ams-library made;
                otherwise fetch ``page_size`` topics per request.
        """
        if not page_size:
            listed = self.list_topics(**reqkwargs)["topics"]
            yield from [self._topic_obj(item) for item in listed]
            return
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
        self.topics.pop(self._topic_fullname(topic), None)
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

        As argo-ams-library: :meth:`has_topic` (``GET``), then :meth:`get_topic` (``GET``) or
        :meth:`create_topic` (``PUT``).
        """
        if self.has_topic(topic, **reqkwargs):
            found = self.get_topic(topic, retobj=True, **reqkwargs)
        else:
            found = self.create_topic(topic, retobj=True, **reqkwargs)
        assert isinstance(found, AmsTopic)
        return found

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
        messages and ``max_request_bytes`` bytes of JSON. Every message of a list is checked first:
        a message whose stored form would exceed ``max_message_bytes`` (1,500,000 by default, as
        AMS) is refused before anything is sent.

        Any other iterable (a generator, ``map(...)``, a file reader ...) is **streamed**: it is
        consumed one request's worth at a time, so memory stays flat however many messages it
        yields (a million-message generator is never held in memory), and each message is checked
        when its request is built. The ids then come as a :class:`MessageIds`, a compact read-only
        sequence of ``str`` (consecutive ids take a few bytes per run, not per id) that compares
        equal to the list of the same ids.

        Args:
            topic: the topic name.
            msg: an :class:`AmsMessage`, a dict ``{"data": "<base64>", "attributes": {str: str}}``,
                a list/tuple of them, or any iterable of them (streamed).
            retry: extra attempts per request on transient failures (connection errors,
                balancer 502/503/504/408). A retried request may store its messages twice.
            retrysleep: seconds between attempts.
            retrybackoff: if set, exponential backoff factor in seconds instead of ``retrysleep``.
            reqkwargs: passed to ``requests``.

        Returns:
            ``{"messageIds": [str, ...]}``, one id per message, in order (a :class:`MessageIds`
            for a streamed iterable).

        Raises:
            AmsMessageException: a message is malformed or too large (for a list: nothing was sent;
                for a stream: it was the first message, or the first of its request, see below).
            AmsPublishException: a later request failed after earlier ones were published; it
                lists the published ids and the unpublished messages. For a stream,
                ``unpublished`` is the failed request's messages (or, for a refused message, that
                one message) and ``iterator_not_consumed`` is True: the rest of the iterator was
                not read, so resume with the unpublished messages followed by the same iterator.
            AmsServiceException, AmsConnectionException: the (first) request failed; nothing
                was published, unless a lost connection hid a store.
        """
        url = self.url_for("topics:publish", **self._p(topic=topic))
        if not isinstance(msg, (AmsMessage, list, tuple)) and _is_stream(msg):  # cheap test first
            return self._publish_stream(url, iter(msg), retry, retrysleep, retrybackoff,
                                        **reqkwargs)
        messages = _as_list(msg)
        wire = [wire_message(m) for m in messages]
        chunks = self._chunks(wire)
        ids: List[str] = []
        for index, (start, body) in enumerate(chunks):
            end = chunks[index + 1][0] if index + 1 < len(chunks) else len(wire)
            try:
                ids.extend(self._publish_chunk(url, body, end - start, retry, retrysleep,
                                               retrybackoff, **reqkwargs))
            except AmsException as exc:
                if not ids:
                    raise
                raise AmsPublishException(exc, ids, wire[start:], start) from exc
        return {"messageIds": ids}

    def _publish_chunk(
        self,
        url: str,
        body: str,
        count: int,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> List[str]:
        """Send one publish request body of ``count`` messages (a chunk built by :meth:`_chunks`);
        the ids AMS gave its messages, checked to be one string per message
        (:func:`pymod.replies.publish_check`). Used by :meth:`publish` (lists and streams) and
        :class:`pymod.Publisher`.

        Raises:
            AmsReplyMismatchException: the reply does not answer this publish (not retried).
            AmsException: the request failed (after ``retry`` extra attempts on transient errors).
        """
        ids: List[str] = self._retry_make_request(
            url, body, "topics:publish", retry, retrysleep, retrybackoff,
            check=publish_check(count), **reqkwargs,
        )
        return ids

    def _publish_stream(
        self,
        url: str,
        messages: Iterator[Any],
        retry: int,
        retrysleep: float,
        retrybackoff: Optional[float],
        **reqkwargs: Any,
    ) -> PublishResult:
        """Publish an iterator chunk by chunk (see :meth:`publish`)."""
        ids = MessageIds()
        chunks = self._iter_chunks(messages, streaming=True)
        while True:
            try:
                item = next(chunks, None)
            except AmsMessageException as exc:
                if not ids:
                    raise
                index = len(ids)
                bad = getattr(exc, "wire", None)
                raise _not_consumed(AmsPublishException(exc, ids, [bad] if bad else [], index)) \
                    from exc
            if item is None:
                return {"messageIds": cast(List[str], ids)}  # a compact Sequence[str]
            start, wires, body, ahead = item
            try:
                ids.extend(self._publish_chunk(url, body, len(wires), retry, retrysleep,
                                               retrybackoff, **reqkwargs))
            except AmsException as exc:
                if not ids:
                    raise
                raise _not_consumed(AmsPublishException(exc, ids, wires + ahead, start)) from exc

    def _chunks(self, wire: List[Dict[str, Any]]) -> List[Tuple[int, str]]:
        """Split wire messages into request bodies: ``[(first_index, body_json_str), ...]``.

        Each body holds at most ``max_request_messages`` messages and ``max_request_bytes``
        bytes; a message whose stored form would exceed ``max_message_bytes`` raises
        AmsMessageException before anything is sent.
        """
        limit_msg = self.max_message_bytes - _STORED_OVERHEAD
        limit_req = self.max_request_bytes - _ENVELOPE
        if 0 < len(wire) <= self.max_request_messages:
            # Fast path: the whole body in one encoder call. No message is longer than all the
            # messages together, so when they fit both limits the loop below would neither raise
            # nor split, and its one body would be this text. Halves the client CPU of building a
            # 100 x 1 KiB publish (benchmarks/README.md).
            body = COMPACT_JSON.encode({"messages": wire})
            if len(body) - _ENVELOPE <= min(limit_msg, limit_req):
                return [(0, body)]
        return [(start, body) for start, _wires, body, _ahead in self._iter_chunks(wire)]

    def _iter_chunks(
        self, messages: Iterable[Any], *, streaming: bool = False
    ) -> Iterator[Tuple[int, List[Dict[str, Any]], str, List[Dict[str, Any]]]]:
        """Yield ``(first_index, wire_messages, body_json_str, read_ahead)`` per request, reading
        ``messages`` (wire dicts, or with ``streaming`` anything :func:`wire_message` takes) only
        as far as the request being built. ``read_ahead`` is the message already read that did not
        fit (it starts the next request), so that a failure can report it as unpublished too.

        Raises:
            AmsMessageException: a message is malformed or too large. With ``streaming`` the
                messages before it are yielded first (as a last, shorter chunk) and the exception
                carries the refused message's wire form as ``wire`` (None if it has none).
        """
        limit_msg = self.max_message_bytes - _STORED_OVERHEAD
        limit_req = self.max_request_bytes - _ENVELOPE
        limit_count = self.max_request_messages
        parts: List[str] = []
        wires: List[Dict[str, Any]] = []
        size = -1  # length of ','.join(parts)
        start = 0
        for index, message in enumerate(messages):
            try:
                if streaming:
                    message = wire_message(message)
                text = COMPACT_JSON.encode(message)
                if len(text) > limit_msg:
                    exc = AmsMessageException(
                        f"message {index} is too large: about {len(text) + _STORED_OVERHEAD} "
                        f"bytes once stored, the limit is {self.max_message_bytes} bytes; nothing "
                        "was published" + (" from it on" if streaming else "")
                    )
                    exc.wire = message  # type: ignore[attr-defined]
                    raise exc
            except AmsMessageException:
                if streaming and parts:
                    yield start, wires, '{"messages":[' + ",".join(parts) + "]}", []
                raise
            if parts and size + 1 + len(text) > limit_req:
                yield start, wires, '{"messages":[' + ",".join(parts) + "]}", [message]
                parts, wires, size, start = [], [], -1, index
            parts.append(text)
            wires.append(message)
            size += 1 + len(text)
            if len(parts) >= limit_count:  # full: send it without reading one more message
                yield start, wires, '{"messages":[' + ",".join(parts) + "]}", []
                parts, wires, size, start = [], [], -1, index + 1
        if parts:
            yield start, wires, '{"messages":[' + ",".join(parts) + "]}", []

    # ---- ACLs, metrics, subscriptions of a topic, schemas -----------------------------------
    def getacl_topic(self, topic: str, **reqkwargs: Any) -> Acl:
        """The topic's ACL (``GET .../topics/{topic}:acl``): ``{"authorized_users": [str, ...]}``.

        As argo-ams-library, the topic is fetched first (:meth:`get_topic`, so a missing topic is
        a 404 of ``topic_get``) and its :class:`AmsTopic` in ``self.topics`` gets ``acls``.
        """
        obj = self.get_topic(topic, retobj=True, **reqkwargs)
        assert isinstance(obj, AmsTopic)
        reply: Acl = self._call("topics:acl", params=self._p(topic=topic), **reqkwargs)
        return store_acl(obj, reply)

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
        obj = self.get_topic(topic, retobj=True, **reqkwargs)
        assert isinstance(obj, AmsTopic)
        self._call("topics:modifyAcl", body, params=self._p(topic=topic), **reqkwargs)
        obj.acls = body["authorized_users"]
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


def _is_stream(msg: object) -> bool:
    """Whether publish should stream ``msg``: an iterable that is not one message, a list/tuple,
    or text (a ``str``/``bytes`` is a mistake, not a stream of messages)."""
    return not isinstance(msg, (AmsMessage, Mapping, list, tuple, str, bytes, bytearray)) and \
        hasattr(msg, "__iter__")


def _not_consumed(exc: AmsPublishException) -> AmsPublishException:
    """Mark a streamed publish's failure: the rest of the iterator was not read."""
    exc.iterator_not_consumed = True  # type: ignore[attr-defined]
    exc.msg += "; the rest of the iterator was not consumed"
    exc.args = (exc.msg,)
    return exc


class MessageIds(Sequence[str]):
    """The ids of a streamed publish: a read-only sequence of ``str`` kept as runs of
    consecutive decimal ids (AMS numbers a topic's messages), so a million ids take a few bytes.

    Compares equal to a list or tuple of the same ids; ``list(ids)`` makes a plain list.
    """

    __slots__ = ("_firsts", "_runs", "_size")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._runs: List[List[Any]] = []  # [first_int, count] or [text, 1]
        self._firsts: List[int] = []  # index of each run's first id
        self._size = 0
        self.extend(ids)

    def extend(self, ids: Iterable[str]) -> None:
        """Append ``ids`` (str)."""
        runs = self._runs
        for text in ids:
            value: Any = text
            if isinstance(text, str) and text.isdigit() and (text == "0" or text[0] != "0") \
                    and text.isascii():
                value = int(text)
                last = runs[-1] if runs else None
                if last is not None and isinstance(last[0], int) and last[0] + last[1] == value:
                    last[1] += 1
                    self._size += 1
                    continue
            runs.append([value, 1])
            self._firsts.append(self._size)
            self._size += 1

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> List[str]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[str, List[str]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("message id index out of range")
        run = bisect.bisect_right(self._firsts, index) - 1
        first, _count = self._runs[run]
        return str(first + index - self._firsts[run]) if isinstance(first, int) else str(first)

    def __iter__(self) -> Iterator[str]:
        for first, count in self._runs:
            if isinstance(first, int):
                yield from map(str, range(first, first + count))
            else:
                yield first

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (MessageIds, list, tuple)):
            return len(other) == self._size and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(i) for i in self[:3])
        more = f", ... {self._size - 3} more" if self._size > 3 else ""
        return f"MessageIds([{head}{more}])"


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
