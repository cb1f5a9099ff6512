"""Subscription routes: create/show/list/delete, pull/ack, offsets, push configuration, ACLs."""

from __future__ import annotations

import datetime
from typing import Any, Iterator, List, Optional, Tuple, Union, cast
from urllib.parse import quote

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsException,
    AmsServiceException,
)
from pymod.amsmsg import AmsMessage
from pymod.amssubscription import AmsSubscription
from pymod.facade.base import (
    JSONDict,
    check_int,
    check_str_list,
    reply_field,
    store_acl,
    zulu_millis,
)
from pymod.facade.topics import TopicsAPI, _page_query
from pymod.replies import ack_check, pull_check
from pymod.retry import is_retryable
from pymod.routes import validate_name
from pymod.types import Acl, DeleteReply, MetricList, Offsets, Subscription, SubscriptionList

__all__ = ["SubscriptionsAPI"]

#: Longest time AMS holds a pull with ``returnImmediately=false`` (spec 5.9), plus a margin.
_LONG_PULL_READ_TIMEOUT = 310.0
_OFFSET_NAMES = ("all", "max", "min", "current")


def push_config(
    push_endpoint: Optional[str],
    retry_policy_type: str,
    retry_policy_period: int,
    *,
    push_type: Optional[str] = None,
    max_messages: Optional[int] = None,
    authorization_header: Optional[str] = None,
    base64_decode: Optional[bool] = None,
    mattermost_url: Optional[str] = None,
    mattermost_username: Optional[str] = None,
    mattermost_channel: Optional[str] = None,
) -> JSONDict:
    """The ``pushConfig`` object for create/modifyPushConfig (``{}`` = pull subscription).

    Raises:
        AmsArgumentException: inconsistent or wrongly typed settings.
    """
    if push_type is None:
        push_type = (
            "mattermost" if mattermost_url else "http_endpoint" if push_endpoint else None
        )
    if push_type is None:
        return {}
    if push_type not in ("http_endpoint", "mattermost"):
        raise AmsArgumentException(
            f"push_type must be 'http_endpoint' or 'mattermost', got {push_type!r}"
        )
    if retry_policy_type not in ("linear", "slowstart"):
        raise AmsArgumentException(
            f"retry_policy_type must be 'linear' or 'slowstart', got {retry_policy_type!r}"
        )
    config: JSONDict = {
        "type": push_type,
        "retryPolicy": {
            "type": retry_policy_type,
            "period": check_int("retry_policy_period", retry_policy_period, 1),
        },
    }
    if push_type == "http_endpoint":
        if not isinstance(push_endpoint, str) or not push_endpoint.startswith("https://"):
            raise AmsArgumentException(
                f"push_endpoint must be an https:// URL, got {push_endpoint!r}"
            )
        config["pushEndpoint"] = push_endpoint
    else:
        if not mattermost_url:
            raise AmsArgumentException("a mattermost subscription needs mattermost_url")
        config["mattermostUrl"] = mattermost_url
        config["mattermostUsername"] = mattermost_username or ""
        config["mattermostChannel"] = mattermost_channel or ""
    if max_messages is not None:
        config["maxMessages"] = check_int("max_messages", max_messages, 1)
    if authorization_header is not None:
        if authorization_header not in ("autogen", "disabled"):
            raise AmsArgumentException(
                "authorization_header must be 'autogen' or 'disabled', "
                f"got {authorization_header!r}"
            )
        config["authorizationHeader"] = {"type": authorization_header}
    if base64_decode is not None:
        config["base64Decode"] = bool(base64_decode)
    return config


class SubscriptionsAPI(TopicsAPI):
    """Subscription methods of :class:`~pymod.ams.ArgoMessagingService`."""

    # ---- create / show / list / delete -----------------------------------------------------
    def create_sub(
        self,
        sub: str,
        topic: str,
        ackdeadline: int = 10,
        push_endpoint: Optional[str] = None,
        retry_policy_type: str = "linear",
        retry_policy_period: int = 300,
        retobj: bool = False,
        *,
        push_type: Optional[str] = None,
        max_messages: Optional[int] = None,
        authorization_header: Optional[str] = None,
        base64_decode: Optional[bool] = None,
        mattermost_url: Optional[str] = None,
        mattermost_username: Optional[str] = None,
        mattermost_channel: Optional[str] = None,
        **reqkwargs: Any,
    ) -> Union[Subscription, AmsSubscription]:
        """Create subscription ``sub`` on ``topic``
        (``PUT /v1/projects/{project}/subscriptions/{sub}``).

        It receives only messages published after its creation.

        Args:
            sub: the subscription name.
            topic: the topic name (of the client's project).
            ackdeadline: seconds a pulled batch may stay unacknowledged before an acknowledgement
                is refused (408) and the messages come again with the next pull.
            push_endpoint: https URL to push messages to; None for a pull subscription.
            retry_policy_type: push retry policy, ``"linear"`` or ``"slowstart"``.
            retry_policy_period: push retry period in milliseconds.
            retobj: return an :class:`AmsSubscription` instead of the JSON object.
            push_type: ``"http_endpoint"`` or ``"mattermost"``; inferred when None.
            max_messages: messages per push request.
            authorization_header: ``"autogen"`` (AMS sends a generated ``Authorization`` header)
                or ``"disabled"``.
            base64_decode: whether the push server decodes ``data`` before delivering.
            mattermost_url, mattermost_username, mattermost_channel: mattermost webhook settings.
            reqkwargs: passed to ``requests``.

        Returns:
            the subscription JSON object (``name``, ``topic``, ``pushConfig``,
            ``ackDeadlineSeconds``, ``createdOn``) or an :class:`AmsSubscription`.

        Raises:
            AmsServiceException: 409 ``ALREADY_EXISTS``, 404 unknown topic, 409 push disabled ...
        """
        project = self._project_or_default(None)
        body: JSONDict = {
            "topic": f"projects/{project}/topics/{validate_name('topic', topic)}",
            "ackDeadlineSeconds": check_int("ackdeadline", ackdeadline, 0, 600),
        }
        validate_name("subscription", sub)
        config = push_config(
            push_endpoint, retry_policy_type, retry_policy_period, push_type=push_type,
            max_messages=max_messages, authorization_header=authorization_header,
            base64_decode=base64_decode, mattermost_url=mattermost_url,
            mattermost_username=mattermost_username, mattermost_channel=mattermost_channel,
        )
        if config:
            body["pushConfig"] = config
        # as argo-ams-library: the topic first (a missing one is a 404 of topic_get)
        self.get_topic(topic, **reqkwargs)
        reply: Subscription = self._call("subscriptions:create", body,
                                         params=self._p(subscription=sub), **reqkwargs)
        if retobj:
            return self._sub_obj(reply)
        self._cache(self._sub_obj, reply)
        return reply

    def get_sub(
        self, sub: str, retobj: bool = False, **reqkwargs: Any
    ) -> Union[Subscription, AmsSubscription]:
        """Show ``sub`` (``GET /v1/projects/{project}/subscriptions/{sub}``).

        Returns:
            the subscription JSON object, or an :class:`AmsSubscription` with ``retobj=True``.

        Raises:
            AmsServiceException: 404 if it does not exist.
        """
        reply: Subscription = self._call("subscriptions:show", params=self._p(subscription=sub),
                                         **reqkwargs)
        if retobj:
            return self._sub_obj(reply)
        self._cache(self._sub_obj, reply)
        return reply

    def list_subs(
        self, page_size: int = 0, page_token: str = "", **reqkwargs: Any
    ) -> SubscriptionList:
        """List the project's subscriptions, newest first
        (``GET /v1/projects/{project}/subscriptions``).

        Args:
            page_size: per page; 0 = all in one reply.
            page_token: ``nextPageToken`` of the previous page.

        Returns:
            ``{"subscriptions": [sub, ...], "nextPageToken": str, "totalSize": int}``.
        """
        query = _page_query(page_size, page_token)
        reply: SubscriptionList = self._call("subscriptions:list", query=query, params=self._p(),
                                     **reqkwargs)
        if reply.get("subscriptions") is None:  # left out, or null (an empty Go slice)
            reply["subscriptions"] = []
        for item in reply["subscriptions"]:
            self._cache(self._sub_obj, item)
        return reply

    def iter_subs(
        self, topic: Optional[str] = None, page_size: int = 0, **reqkwargs: Any
    ) -> Iterator[AmsSubscription]:
        """Yield the project's subscriptions as :class:`AmsSubscription` (the objects of
        ``self.subs``).

        Args:
            topic: only those of this topic (short name).
            page_size: 0 (default): one listing of all, as argo-ams-library made; otherwise
                fetch ``page_size`` per request.
        """
        wanted = self._topic_fullname(validate_name("topic", topic)) if topic else None
        if page_size:
            items: Iterator[JSONDict] = self._walk_pages(
                self.list_subs, "subscriptions", page_size, **reqkwargs
            )
        else:
            items = iter(cast(List[JSONDict], self.list_subs(**reqkwargs)["subscriptions"]))
        for item in items:
            if wanted is None or item.get("topic") == wanted:
                yield self._sub_obj(item)

    def delete_sub(self, sub: str, **reqkwargs: Any) -> DeleteReply:
        """Delete ``sub`` (``DELETE /v1/projects/{project}/subscriptions/{sub}``).

        Returns:
            ``{}`` (or ``{"message": ...}`` from the push server for a verified push
            subscription).
        """
        result: DeleteReply = self._call("subscriptions:delete", params=self._p(subscription=sub),
                                      **reqkwargs)
        self.subs.pop(f"/projects/{self.project}/subscriptions/{sub}", None)
        return result

    def has_sub(self, sub: str, **reqkwargs: Any) -> bool:
        """Whether ``sub`` exists (one ``GET``; errors other than 404 are raised)."""
        try:
            self.get_sub(sub, **reqkwargs)
        except AmsServiceException as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def subscription(
        self, sub: str, topic: str, ackdeadline: int = 10, **reqkwargs: Any
    ) -> AmsSubscription:
        """The :class:`AmsSubscription` ``sub``: fetched if it exists, else created on ``topic``.

        As argo-ams-library's ``AmsTopic.subscription``: :meth:`has_sub`, then :meth:`get_sub`
        or :meth:`create_sub`."""
        if self.has_sub(sub, **reqkwargs):
            found = self.get_sub(sub, retobj=True, **reqkwargs)
        else:
            found = self.create_sub(sub, topic, ackdeadline=ackdeadline, retobj=True,
                                    **reqkwargs)
        assert isinstance(found, AmsSubscription)
        return found

    # ---- pull / ack ------------------------------------------------------------------------
    def get_pullopt(self, key: str) -> str:
        """The client's default for pull option ``key`` (``maxMessages``, ``returnImmediately``).

        Raises:
            AmsServiceException: unknown option (code 400).
        """
        try:
            return self.pullopts[key]
        except (KeyError, TypeError):  # TypeError: an unhashable key
            raise _pullopt_error(key) from None

    def set_pullopt(self, key: str, value: Union[str, int, bool]) -> None:
        """Set pull option ``key`` (sent in every pull body, as argo-ams-library did; ``num`` and
        ``return_immediately`` of :meth:`pull_sub` override ``maxMessages`` and
        ``returnImmediately``); stored as the string AMS expects.

        Raises:
            AmsArgumentException: ``value`` is not a str, int or bool (AMS would refuse its text).
        """
        if not isinstance(value, (str, int)):
            raise AmsArgumentException(
                f"pull option {key} must be a str, int or bool, got {type(value).__name__}"
            )
        self.pullopts[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)

    def pull_sub(
        self,
        sub: str,
        num: int = 1,
        return_immediately: bool = False,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> List[Tuple[str, AmsMessage]]:
        """Pull up to ``num`` messages (``POST .../subscriptions/{sub}:pull``).

        Messages come from the subscription's committed offset, in order. They are not hidden
        from later pulls: until acknowledged, the next pull returns them again and restarts the
        ack deadline. The client's pull options are not changed.

        Args:
            sub: the subscription name.
            num: the most messages to return (>= 1).
            return_immediately: False (AMS default): when fewer than ``num`` messages are
                available, AMS waits up to 300 s for more (the read timeout is raised to match
                unless ``timeout`` is given). True: answer with what is there now.
            retry, retrysleep, retrybackoff: retry of transient failures (see ``publish``).
            reqkwargs: passed to ``requests``.

        Returns:
            ``[(ackId, AmsMessage), ...]``; ``[]`` if there is nothing to pull.

        Raises:
            AmsArgumentException: ``num`` is not an int >= 1.
            AmsServiceException: 404, 403 (ACL), 409 (topic deleted) ...
        """
        body = dict(self.pullopts)
        body["maxMessages"] = str(check_int("num", num, 1))
        body["returnImmediately"] = "true" if return_immediately else "false"
        if not return_immediately and num > 1 and "timeout" not in reqkwargs:
            reqkwargs["timeout"] = _long_pull_timeout(self.timeout)
        received = self._call("subscriptions:pull", body, params=self._p(subscription=sub),
                              check=pull_check(self._ack_prefix(sub)), retry=retry,
                              retrysleep=retrysleep, retrybackoff=retrybackoff, **reqkwargs)
        # pull_check made every item an object with this subscription's ackId; _from_wire
        # checks the message (AmsResponseException: malformed pulled message)
        return [(item["ackId"], AmsMessage._from_wire(item.get("message"))) for item in received]

    def ack_sub(self, sub: str, ids: List[str], **reqkwargs: Any) -> bool:
        """Acknowledge messages (``POST .../subscriptions/{sub}:acknowledge``).

        Acknowledgement is cumulative: AMS takes the highest ackId and treats that message and
        every earlier one as acknowledged.

        Args:
            sub: the subscription name.
            ids: ackIds from the last pull of this subscription.
            reqkwargs: ``retry``/``retrysleep``/``retrybackoff`` and ``requests`` keywords.

        Returns:
            True.

        Raises:
            AmsArgumentException: ``ids`` is not a list of str (nothing sent).
            AmsTimeoutException: 408, the ack deadline passed: pull the messages again.
            AmsServiceException: 400 ``Invalid ack id``; 500 ``no ack pending`` / ``wrong ack``
                (ids not from the last pull) ...
        """
        ids = check_str_list("ids", ids)  # the ids go to AMS as given: AMS judges them
        self._call("subscriptions:acknowledge", {"ackIds": ids},
                   params=self._p(subscription=sub), check=ack_check, **reqkwargs)
        return True

    def _ack_prefix(self, sub: str) -> str:
        """``projects/{project}/subscriptions/{sub}:``, what every ackId of ``sub`` starts with."""
        project = self._project_or_default(None)
        return f"projects/{project}/subscriptions/{validate_name('subscription', sub)}:"

    def pullack_sub(
        self,
        sub: str,
        num: int = 1,
        return_immediately: bool = False,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> List[AmsMessage]:
        """Pull up to ``num`` messages and acknowledge them at once (at-most-once processing).

        If the acknowledgement fails, the batch is pulled again (which also restarts the ack
        deadline), at most ``retry`` times, sleeping as for ``retry``. If the acknowledgement's
        connection broke, the subscription's offset is checked first: when AMS did store the
        acknowledgement, the batch is returned instead of being lost.

        Returns:
            ``[AmsMessage, ...]``; ``[]`` if there was nothing to pull.

        Raises:
            AmsException: the last error once the attempts are used up.
        """
        retry, retrysleep, retrybackoff = self.retry_policy.resolve(retry, retrysleep, retrybackoff)
        delays = self.retry_policy.iter_delays(retry, retrysleep, retrybackoff)
        while True:
            msgs = self.pull_sub(sub, num, return_immediately, retry, retrysleep, retrybackoff,
                                 **reqkwargs)
            if not msgs:
                return []
            last_id = msgs[-1][0]
            try:
                self.ack_sub(sub, [ack_id for ack_id, _ in msgs], **reqkwargs)
                return [m for _, m in msgs]
            except AmsException as exc:
                if is_retryable(exc) and self._ack_landed(sub, last_id, **reqkwargs):
                    return [m for _, m in msgs]
                delay = next(delays, None)
                if delay is None or isinstance(exc, AmsArgumentException):
                    raise
                self.retry_policy.pause(delay)

    def _ack_landed(self, sub: str, ack_id: str, **reqkwargs: Any) -> bool:
        """Whether the subscription's offset is past ``ack_id`` (its acknowledgement was stored)."""
        try:
            current = self.getoffsets_sub(sub, "current", **reqkwargs)
        except AmsException:
            return False
        return isinstance(current, int) and current > int(ack_id.rsplit(":", 1)[1])

    # ---- offsets ---------------------------------------------------------------------------
    def getoffsets_sub(
        self, sub: str, offset: str = "all", **reqkwargs: Any
    ) -> Union[Offsets, int]:
        """The subscription's offsets (``GET .../subscriptions/{sub}:offsets``).

        Args:
            offset: ``"all"``, ``"max"`` (next offset to be written), ``"min"`` (oldest retained)
                or ``"current"`` (next offset the subscription will receive).

        Returns:
            ``{"max": int, "min": int, "current": int}`` for ``"all"``, else that one int.

        Raises:
            AmsServiceException: ``offset`` is not one of those names (``'x' is not valid offset
                position``, after the request, as argo-ams-library).
        """
        reply = self._call("subscriptions:offsets", params=self._p(subscription=sub),
                           **reqkwargs)
        route = "subscriptions:offsets"
        if offset == "all":
            return cast(Offsets, {k: reply_field(reply, k, int, route) for k in ("max", "min", "current")})
        if offset not in _OFFSET_NAMES:
            message = f"{offset!r} is not valid offset position"
            raise AmsServiceException({"error": {"message": message}}, route)
        return reply_field(reply, offset, int, route)

    def modifyoffset_sub(self, sub: str, move_to: int, **reqkwargs: Any) -> JSONDict:
        """Move the subscription's current offset to ``move_to``
        (``POST .../subscriptions/{sub}:modifyOffset``): replay or skip messages. Any pending
        pull window is discarded.

        Args:
            move_to: the new offset, between the ``min`` and ``max`` offsets.

        Returns:
            ``{}``.

        Raises:
            AmsArgumentException: ``move_to`` is not an int >= 0.
            AmsServiceException: 400 ``Offset out of bounds``.
        """
        if not isinstance(move_to, int):  # as argo-ams-library: int(move_to)
            try:
                move_to = int(move_to)
            except (TypeError, ValueError) as exc:
                raise AmsArgumentException(f"move_to must be an int: {exc}") from None
        body = {"offset": check_int("move_to", move_to, 0)}
        result: JSONDict = self._call("subscriptions:modifyOffset", body,
                                      params=self._p(subscription=sub), **reqkwargs)
        return result

    def time_to_offset_sub(
        self, sub: str, timestamp: datetime.datetime, **reqkwargs: Any
    ) -> int:
        """The offset of the first message published at or after ``timestamp``
        (``GET .../subscriptions/{sub}:timeToOffset?time=YYYY-MM-DDTHH:MM:SS.mmmZ``).

        Args:
            timestamp: an aware datetime (converted to UTC) or a naive one taken as UTC;
                sent with millisecond precision.

        Returns:
            the offset (int); move to it with :meth:`modifyoffset_sub`.

        Raises:
            AmsServiceException: 409 if no message is that recent.
        """
        # ':' unquoted in the query, as argo-ams-library sent it
        url = self.url_for("subscriptions:timeToOffset", **self._p(subscription=sub))
        url += "?time=" + quote(zulu_millis(timestamp), safe=":")
        reply = self._retry_make_request(url, None, "subscriptions:timeToOffset", **reqkwargs)
        return reply_field(reply, "offset", int, "subscriptions:timeToOffset")

    # ---- ACLs, deadline, push, metrics ----------------------------------------------------
    def getacl_sub(self, sub: str, **reqkwargs: Any) -> Acl:
        """The subscription's ACL (``GET ...:acl``): ``{"authorized_users": [str, ...]}``."""
        obj = self.get_sub(sub, retobj=True, **reqkwargs)  # first, as argo-ams-library
        assert isinstance(obj, AmsSubscription)
        reply: Acl = self._call("subscriptions:acl", params=self._p(subscription=sub),
                                     **reqkwargs)
        return store_acl(obj, reply)

    def modifyacl_sub(self, sub: str, users: List[str], **reqkwargs: Any) -> bool:
        """Replace the subscription's ACL with ``users`` (``POST ...:modifyAcl``); True."""
        body = {"authorized_users": check_str_list("users", users)}
        obj = self.get_sub(sub, retobj=True, **reqkwargs)  # first, as argo-ams-library
        assert isinstance(obj, AmsSubscription)
        self._call("subscriptions:modifyAcl", body, params=self._p(subscription=sub),
                   **reqkwargs)
        obj.acls = body["authorized_users"]
        return True

    def modifyackdeadline_sub(self, sub: str, ack_deadline: int, **reqkwargs: Any) -> None:
        """Set the ack deadline to ``ack_deadline`` seconds, 0..600
        (``POST .../subscriptions/{sub}:modifyAckDeadline``)."""
        body = {"ackDeadlineSeconds": check_int("ack_deadline", ack_deadline, 0, 600)}
        self._call("subscriptions:modifyAckDeadline", body, params=self._p(subscription=sub),
                   **reqkwargs)

    def pushconfig_sub(
        self,
        sub: str,
        push_endpoint: Optional[str] = None,
        retry_policy_type: str = "linear",
        retry_policy_period: int = 300,
        *,
        push_type: Optional[str] = None,
        max_messages: Optional[int] = None,
        authorization_header: Optional[str] = None,
        base64_decode: Optional[bool] = None,
        mattermost_url: Optional[str] = None,
        mattermost_username: Optional[str] = None,
        mattermost_channel: Optional[str] = None,
        **reqkwargs: Any,
    ) -> JSONDict:
        """Set or clear push delivery (``POST .../subscriptions/{sub}:modifyPushConfig``).

        With no ``push_endpoint`` and no ``mattermost_url`` the subscription becomes a pull
        subscription. An http endpoint must then be verified
        (:meth:`verifypushendpoint_sub`) before AMS pushes to it. Arguments as in
        :meth:`create_sub`.

        Returns:
            ``{}`` (AMS answers with an empty body; read the result with :meth:`get_sub`).
        """
        config = push_config(
            push_endpoint, retry_policy_type, retry_policy_period, push_type=push_type,
            max_messages=max_messages, authorization_header=authorization_header,
            base64_decode=base64_decode, mattermost_url=mattermost_url,
            mattermost_username=mattermost_username, mattermost_channel=mattermost_channel,
        )
        result: JSONDict = self._call("subscriptions:modifyPushConfig", {"pushConfig": config},
                                      params=self._p(subscription=sub), **reqkwargs)
        cached = self.subs.get(f"/projects/{self.project}/subscriptions/{sub}")
        if cached is not None:  # as argo-ams-library updated its cached object
            cached._set_pushconfig(config)
            cached.push_endpoint = push_endpoint  # type: ignore[assignment]
            cached.retry_policy_type = retry_policy_type
            cached.retry_policy_period = retry_policy_period
        return result

    def verifypushendpoint_sub(self, sub: str, **reqkwargs: Any) -> None:
        """Have AMS verify the push endpoint (``POST ...:verifyPushEndpoint``): AMS fetches
        ``https://<endpoint host>/ams_verification_hash``, which must answer the subscription's
        ``verificationHash``.

        Raises:
            AmsServiceException: 401 ``Endpoint verification failed...``, 409 ...
        """
        self._call("subscriptions:verifyPushEndpoint", params=self._p(subscription=sub),
                   **reqkwargs)

    def getmetrics_sub(self, sub: str, **reqkwargs: Any) -> MetricList:
        """The subscription's metrics (``GET ...:metrics``): ``{"metrics": [...]}`` with
        ``subscription.number_of_messages``, ``number_of_bytes`` and ``consumption_rate``."""
        result: MetricList = self._call("subscriptions:metrics", params=self._p(subscription=sub),
                                      **reqkwargs)
        return result


def _pullopt_error(key: str) -> AmsServiceException:
    return AmsServiceException(
        {"error": {"code": 400, "message": f"Invalid pull option: {key}", "status": "BAD_REQUEST"}},
        "subscriptions:pull",
    )


def _long_pull_timeout(timeout: Any) -> Any:
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return (timeout[0], max(timeout[1], _LONG_PULL_READ_TIMEOUT))
    return (timeout, max(float(timeout), _LONG_PULL_READ_TIMEOUT))

