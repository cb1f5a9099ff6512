"""AmsTopic: a topic name bound to a client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Union

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService, PublishInput
    from pymod.amssubscription import AmsSubscription
    from pymod.types import Acl, MetricList, PublishResult

__all__ = ["AmsTopic"]


class AmsTopic:
    """A topic of the client's project.

    Every method delegates to the bound :class:`~pymod.ams.ArgoMessagingService` with this topic's
    name, and takes the same ``**reqkwargs`` (passed to ``requests``).

    Args:
        fullname: the full name as AMS shows it, ``/projects/<project>/topics/<name>``.
        init: the client the topic belongs to.

    Attributes:
        fullname (str): as given.
        name (str): the short name (last path segment).
        init (ArgoMessagingService): the bound client.
    """

    def __init__(self, fullname: str, init: ArgoMessagingService) -> None:
        self.acls: Optional[List[str]] = None  # set by getacl_topic/modifyacl_topic
        self.fullname = fullname
        self.name = fullname.rsplit("/", 1)[-1]
        self.init = init

    def __repr__(self) -> str:
        return f"AmsTopic({self.fullname!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsTopic):
            return NotImplemented
        return self.fullname == other.fullname and self.init is other.init

    def __hash__(self) -> int:
        return hash(self.fullname)

    def delete(self, **reqkwargs: Any) -> Dict[str, Any]:
        """Delete the topic (``DELETE /v1/projects/{project}/topics/{topic}``)."""
        return self.init.delete_topic(self.name, **reqkwargs)

    def acl(self, users: Optional[List[str]] = None, **reqkwargs: Any) -> Union[Acl, bool]:
        """Get the ACL, or replace it with ``users`` (returns True, as argo-ams-library).

        Args:
            users: None to read; a list of user names to set (``[]`` clears the ACL).

        Returns:
            ``{"authorized_users": [str, ...]}`` when reading; True after a change.
        """
        if users is not None:
            return self.init.modifyacl_topic(self.name, users, **reqkwargs)
        return self.init.getacl_topic(self.name, **reqkwargs)

    def iter_subs(self, **reqkwargs: Any) -> Iterator[AmsSubscription]:
        """Yield the subscriptions of this topic as :class:`AmsSubscription` objects."""
        return self.init.iter_subs(topic=self.name, **reqkwargs)

    def publish(
        self,
        msg: PublishInput,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> PublishResult:
        """Publish one message or a list of them; see :meth:`ArgoMessagingService.publish`.

        Returns:
            ``{"messageIds": [str, ...]}`` in the order of ``msg``.
        """
        return self.init.publish(
            self.name, msg, retry=retry, retrysleep=retrysleep, retrybackoff=retrybackoff,
            **reqkwargs,
        )

    def subscription(
        self, sub: str, ackdeadline: int = 10, **reqkwargs: Any
    ) -> AmsSubscription:
        """The subscription ``sub``: fetched if it exists, else created on this topic.

        Args:
            sub: subscription name.
            ackdeadline: ack deadline in seconds for a new subscription.

        Returns:
            AmsSubscription
        """
        return self.init.subscription(sub, self.name, ackdeadline=ackdeadline, **reqkwargs)

    def subscriptions(self, **reqkwargs: Any) -> List[str]:
        """Full names of this topic's subscriptions
        (``GET /v1/projects/{project}/topics/{topic}/subscriptions``)."""
        return self.init.list_topic_subs(self.name, **reqkwargs)

    def metrics(self, **reqkwargs: Any) -> MetricList:
        """The topic's metrics (``GET .../topics/{topic}:metrics``): ``{"metrics": [...]}``."""
        return self.init.getmetrics_topic(self.name, **reqkwargs)

    def attach_schema(self, schema: str, **reqkwargs: Any) -> None:
        """Validate every future publish against schema ``schema`` (``POST ...:attachSchema``)."""
        self.init.attachschema_topic(self.name, schema, **reqkwargs)

    def detach_schema(self, **reqkwargs: Any) -> None:
        """Stop validating publishes (``POST ...:detachSchema``)."""
        self.init.detachschema_topic(self.name, **reqkwargs)
