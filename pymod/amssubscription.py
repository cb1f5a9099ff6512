"""AmsSubscription: a subscription name bound to a client."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union

from pymod.consumer import Consumer

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.amsmsg import AmsMessage
    from pymod.amstopic import AmsTopic
    from pymod.consumer import ConsumeResult
    from pymod.types import Acl, DeleteReply, MetricList, Offsets, Subscription

__all__ = ["AmsSubscription"]


class AmsSubscription:
    """A subscription of the client's project.

    Methods delegate to the bound :class:`~pymod.ams.ArgoMessagingService` with this subscription's
    name and take the same ``retry*`` and ``**reqkwargs`` keywords.

    Args:
        fullname: ``/projects/<project>/subscriptions/<name>``.
        topic: the topic it reads from (:class:`AmsTopic`).
        pushconfig: the ``pushConfig`` object as AMS returns it (``{}`` or None for pull).
        ackdeadline: ack deadline in seconds.
        init: the client.

    Attributes:
        name (str): the short name (last path segment).
        fullname (str): as given.
        topic (AmsTopic): the topic.
        ackdeadline (int): the ack deadline in seconds.
        init (ArgoMessagingService): the bound client.
        push_config (dict): the ``pushConfig`` object as AMS returns it (``{}`` for pull).
        push_endpoint (str): the push endpoint, ``""`` for pull.
        retry_policy_type (str): the push retry policy type, ``""`` for pull.
        retry_policy_period (int or str): the push retry period in ms, ``""`` for pull.
    """

    def __init__(
        self,
        fullname: str,
        topic: AmsTopic,
        pushconfig: Optional[Mapping[str, Any]],
        ackdeadline: int,
        init: ArgoMessagingService,
    ) -> None:
        self.acls: Optional[List[str]] = None  # set by getacl_sub/modifyacl_sub
        self.fullname = fullname
        self.name = fullname.rsplit("/", 1)[-1]
        self.topic = topic
        self.ackdeadline = ackdeadline
        self.init = init
        self._set_pushconfig(pushconfig)

    def _set_pushconfig(self, pushconfig: Optional[Mapping[str, Any]]) -> None:
        self.push_config: Dict[str, Any] = dict(pushconfig or {})
        policy = self.push_config.get("retryPolicy") or {}
        self.push_endpoint: str = self.push_config.get("pushEndpoint") or ""
        self.retry_policy_type: str = policy.get("type", "") if self.push_endpoint else ""
        self.retry_policy_period: Union[int, str] = (
            policy.get("period", "") if self.push_endpoint else ""
        )

    def __repr__(self) -> str:
        return f"AmsSubscription({self.fullname!r}, topic={self.topic.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsSubscription):
            return NotImplemented
        return self.fullname == other.fullname and self.init is other.init

    def __hash__(self) -> int:
        return hash(self.fullname)

    def delete(self, **reqkwargs: Any) -> DeleteReply:
        """Delete the subscription (``DELETE /v1/projects/{project}/subscriptions/{sub}``)."""
        return self.init.delete_sub(self.name, **reqkwargs)

    def acl(self, users: Optional[List[str]] = None, **reqkwargs: Any) -> Union[Acl, bool]:
        """Get the ACL, or replace it with ``users`` (returns True, as argo-ams-library).

        Returns:
            ``{"authorized_users": [str, ...]}`` when reading; True after a change.
        """
        if users is not None:
            return self.init.modifyacl_sub(self.name, users, **reqkwargs)
        return self.init.getacl_sub(self.name, **reqkwargs)

    def ack(
        self,
        ids: List[str],
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> bool:
        """Acknowledge ``ids`` (cumulative: everything up to the highest id). Returns True."""
        return self.init.ack_sub(
            self.name, ids, retry=retry, retrysleep=retrysleep, retrybackoff=retrybackoff,
            **reqkwargs,
        )

    def pull(
        self,
        num: int = 1,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        return_immediately: bool = False,
        **reqkwargs: Any,
    ) -> List[Tuple[str, AmsMessage]]:
        """Pull up to ``num`` messages.

        Returns:
            ``[(ackId, AmsMessage), ...]`` in offset order.
        """
        return self.init.pull_sub(
            self.name, num=num, return_immediately=return_immediately, retry=retry,
            retrysleep=retrysleep, retrybackoff=retrybackoff, **reqkwargs,
        )

    def pullack(
        self,
        num: int = 1,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        return_immediately: bool = False,
        **reqkwargs: Any,
    ) -> List[AmsMessage]:
        """Pull up to ``num`` messages and acknowledge them at once (at-most-once processing).

        Returns:
            ``[AmsMessage, ...]``.
        """
        return self.init.pullack_sub(
            self.name, num=num, return_immediately=return_immediately, retry=retry,
            retrysleep=retrysleep, retrybackoff=retrybackoff, **reqkwargs,
        )

    def pushconfig(
        self,
        push_endpoint: Optional[str] = None,
        retry_policy_type: str = "linear",
        retry_policy_period: int = 300,
        **reqkwargs: Any,
    ) -> Subscription:
        """Set (``push_endpoint`` given) or clear (None) push delivery; see
        :meth:`ArgoMessagingService.pushconfig_sub`. Returns the server's reply when it is the
        subscription (as argo-ams-library returned it), else the subscription as fetched after
        the change."""
        reply = self.init.pushconfig_sub(
            self.name, push_endpoint=push_endpoint, retry_policy_type=retry_policy_type,
            retry_policy_period=retry_policy_period, **reqkwargs,
        )
        if isinstance(reply, dict) and reply.get("name"):  # the server sent the subscription
            return reply  # type: ignore[return-value]
        fresh = self.init.get_sub(self.name, **reqkwargs)
        assert isinstance(fresh, dict)
        self._set_pushconfig(fresh.get("pushConfig"))
        return fresh

    def offsets(
        self, offset: str = "all", move_to: int = 0, **reqkwargs: Any
    ) -> Union[Offsets, int]:
        """Read offsets, after moving the current offset to ``move_to`` if it is not 0.

        Args:
            offset: ``"all"``, ``"max"``, ``"min"`` or ``"current"``.
            move_to: new current offset; 0 means "do not move" (use
                :meth:`ArgoMessagingService.modifyoffset_sub` to move to offset 0).

        Returns:
            ``{"max": int, "min": int, "current": int}`` for ``"all"``, else the one int.
        """
        if move_to != 0:
            self.init.modifyoffset_sub(self.name, move_to, **reqkwargs)
        return self.init.getoffsets_sub(self.name, offset, **reqkwargs)

    def time_to_offset(self, timestamp: datetime.datetime, **reqkwargs: Any) -> int:
        """The first offset published at or after ``timestamp``; see
        :meth:`ArgoMessagingService.time_to_offset_sub`."""
        return self.init.time_to_offset_sub(self.name, timestamp, **reqkwargs)

    def modify_ack_deadline(self, ack_deadline: int, **reqkwargs: Any) -> None:
        """Set the ack deadline to ``ack_deadline`` seconds (0..600)."""
        self.init.modifyackdeadline_sub(self.name, ack_deadline, **reqkwargs)
        self.ackdeadline = ack_deadline

    def verify_push_endpoint(self, **reqkwargs: Any) -> None:
        """Ask AMS to verify the push endpoint (``POST ...:verifyPushEndpoint``)."""
        self.init.verifypushendpoint_sub(self.name, **reqkwargs)

    def metrics(self, **reqkwargs: Any) -> MetricList:
        """The subscription's metrics (``GET ...:metrics``): ``{"metrics": [...]}``."""
        return self.init.getmetrics_sub(self.name, **reqkwargs)

    def consume(self, handler: Any = None, **options: Any) -> ConsumeResult:
        """Run a :class:`pymod.consumer.Consumer` on this subscription: pull, call ``handler``
        per message (or ``batch_handler=`` per batch), acknowledge the successful prefix.

        Delivery is at-least-once: ``handler`` must be idempotent.

        Args:
            handler: called with each :class:`AmsMessage`; raising marks it failed (it is not
                acknowledged and comes again).
            options: the keyword options of :class:`~pymod.consumer.Consumer` (``max_messages``,
                ``max_seconds``, ``stop_when_empty``, ``filter``, ``checkpoint``,
                ``start_offset`` ...).

        Returns:
            :class:`~pymod.consumer.ConsumeResult`.

        Raises:
            see :meth:`pymod.consumer.Consumer.run`.
        """
        return Consumer(self.init, self.name, handler, **options).run()
