"""Typed shapes of the JSON objects AMS returns (for type checkers and IDEs).

The facade methods of :class:`~pymod.ams.ArgoMessagingService` return plain ``dict`` objects
decoded from the service's JSON replies. This module describes them as
:class:`typing.TypedDict` classes, with exactly the field names of the AMS v1 wire protocol
(``camelCase`` where AMS uses it, ``snake_case`` where AMS does). At run time they are ordinary
dicts; the classes only inform ``mypy``/``pyright`` and editors::

    page = ams.list_topics()              # a TopicList
    for topic in page["topics"]:          # each a Topic
        print(topic["name"], topic.get("schema", "-"))

    status = ams.status()                 # a Status
    if status.get("push_functionality") == "disabled":
        ...

Keys that AMS omits in some replies are declared in a ``total=False`` part of the class (for
example ``Topic["schema"]`` exists only when a schema is attached); read them with ``.get()``.
Timestamps are strings: ``YYYY-MM-DDTHH:MM:SSZ`` for resources, up to nanosecond precision for
message ``publishTime``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict, Union

__all__ = [
    "Acl",
    "AuthorizationHeader",
    "DeleteReply",
    "ErrorBody",
    "ErrorEnvelope",
    "MessageReply",
    "Metric",
    "MetricList",
    "MetricPoint",
    "Offsets",
    "Project",
    "ProjectList",
    "ProjectVaMetrics",
    "ProjectsMetrics",
    "PublishResult",
    "PullResponse",
    "PushConfig",
    "PushServer",
    "ReceivedMessage",
    "Registration",
    "RegistrationList",
    "RetryPolicyConfig",
    "Schema",
    "SchemaList",
    "Status",
    "Subscription",
    "SubscriptionList",
    "TimeToOffset",
    "Topic",
    "TopicList",
    "TopicSubscriptions",
    "UsageReport",
    "User",
    "UserList",
    "UserProject",
    "VaReport",
    "Version",
    "WireMessage",
]


# ---- topics (spec 4) -------------------------------------------------------------------------
class _TopicRequired(TypedDict):
    name: str
    created_on: str


class Topic(_TopicRequired, total=False):
    """A topic.

    Attributes:
        name: full name with a leading slash, ``/projects/DEMO/topics/alerts``.
        created_on: ``YYYY-MM-DDTHH:MM:SSZ``.
        schema: ``projects/DEMO/schemas/reading``; present only when a schema is attached.
    """

    schema: str


class TopicList(TypedDict):
    """One page of topics (``GET /v1/projects/{project}/topics``), newest first.

    Attributes:
        topics: the topics of this page.
        nextPageToken: pass back as ``page_token`` for the next page; ``""`` on the last page.
        totalSize: number of topics in the whole listing (after ACL filtering).
    """

    topics: List[Topic]
    nextPageToken: str
    totalSize: int


class TopicSubscriptions(TypedDict):
    """``GET .../topics/{topic}/subscriptions``.

    Attributes:
        subscriptions: full subscription names (``/projects/DEMO/subscriptions/alerts-sub``).
    """

    subscriptions: List[str]


class PublishResult(TypedDict):
    """Reply of publish.

    Attributes:
        messageIds: one id per message, in request order: the message's offset in the topic, as
            a decimal string.
    """

    messageIds: List[str]


class Acl(TypedDict):
    """A topic or subscription ACL.

    Attributes:
        authorized_users: names of the users allowed to use the resource.
    """

    authorized_users: List[str]


# ---- messages (spec 5.9) ---------------------------------------------------------------------
class _WireMessageRequired(TypedDict):
    messageId: str
    data: str
    publishTime: str


class WireMessage(_WireMessageRequired, total=False):
    """A message as AMS returns it in a pull reply.

    Attributes:
        messageId: the message's offset in its topic, as a decimal string.
        attributes: ``{str: str}``, keys sorted; omitted when the message has none.
        data: the payload as published (by convention Base64).
        publishTime: UTC, up to nine fractional digits, e.g. ``2024-05-02T09:50:01.482117309Z``.
    """

    attributes: Dict[str, str]


class ReceivedMessage(TypedDict):
    """One item of a pull reply.

    Attributes:
        ackId: ``projects/DEMO/subscriptions/alerts-sub:41``.
        message: the message.
    """

    ackId: str
    message: WireMessage


class PullResponse(TypedDict):
    """Raw reply of ``:pull`` (the facade's ``pull_sub`` turns it into
    ``[(ackId, AmsMessage), ...]``).

    Attributes:
        receivedMessages: the messages, oldest first; ``[]`` when there is nothing to pull.
    """

    receivedMessages: List[ReceivedMessage]


# ---- subscriptions (spec 5) ------------------------------------------------------------------
class AuthorizationHeader(TypedDict, total=False):
    """``pushConfig.authorizationHeader``; both keys are omitted when empty.

    Attributes:
        type: ``"autogen"`` or ``"disabled"``.
        value: the 64-hex value the push server sends as ``Authorization`` (autogen only).
    """

    type: str
    value: str


class RetryPolicyConfig(TypedDict, total=False):
    """``pushConfig.retryPolicy``; keys are omitted when empty or zero.

    Attributes:
        type: ``"linear"`` or ``"slowstart"``.
        period: milliseconds between push attempts (never shown for ``slowstart``).
    """

    type: str
    period: int


class PushConfig(TypedDict):
    """A subscription's ``pushConfig``. Always present; for a pull subscription every
    field has its zero value (``type == ""``).

    Attributes:
        type: ``""`` (pull), ``"http_endpoint"`` or ``"mattermost"``.
        pushEndpoint: https URL receiving the messages (http_endpoint).
        maxMessages: messages per push request.
        authorizationHeader: see :class:`AuthorizationHeader`.
        retryPolicy: see :class:`RetryPolicyConfig`.
        verificationHash: what ``https://<endpoint host>/ams_verification_hash`` must answer.
        verified: whether the endpoint passed verification (always True for mattermost).
        mattermostUrl: mattermost webhook URL.
        mattermostUsername: mattermost user name.
        mattermostChannel: mattermost channel.
        base64Decode: whether the push server decodes ``data`` before delivering it.
    """

    type: str
    pushEndpoint: str
    maxMessages: int
    authorizationHeader: AuthorizationHeader
    retryPolicy: RetryPolicyConfig
    verificationHash: str
    verified: bool
    mattermostUrl: str
    mattermostUsername: str
    mattermostChannel: str
    base64Decode: bool


class _SubscriptionRequired(TypedDict):
    name: str
    topic: str
    pushConfig: PushConfig
    ackDeadlineSeconds: int
    createdOn: str


class Subscription(_SubscriptionRequired, total=False):
    """A subscription.

    Attributes:
        name: ``/projects/DEMO/subscriptions/alerts-sub``.
        topic: ``/projects/DEMO/topics/alerts``.
        pushConfig: see :class:`PushConfig`.
        ackDeadlineSeconds: seconds within which a pulled batch must be acknowledged.
        createdOn: ``YYYY-MM-DDTHH:MM:SSZ`` (camel case, unlike topics).
        pushStatus: free text from the push server; only for verified push subscriptions.
    """

    pushStatus: str


class SubscriptionList(TypedDict):
    """One page of subscriptions (``GET /v1/projects/{project}/subscriptions``), newest first.

    Attributes:
        subscriptions: the subscriptions of this page.
        nextPageToken: pass back as ``page_token`` for the next page; ``""`` on the last page.
        totalSize: number of subscriptions in the whole listing (after ACL filtering).
    """

    subscriptions: List[Subscription]
    nextPageToken: str
    totalSize: int


class Offsets(TypedDict):
    """``GET ...:offsets``.

    Attributes:
        max: the topic's end offset (the offset the next published message will get).
        min: the oldest offset still retained.
        current: the subscription's committed offset (the next message it will receive).
    """

    max: int
    min: int
    current: int


class TimeToOffset(TypedDict):
    """Raw reply of ``:timeToOffset`` (``time_to_offset_sub`` returns the int).

    Attributes:
        offset: the first offset published at or after the given time.
    """

    offset: int


class DeleteReply(TypedDict, total=False):
    """Reply of a subscription delete.

    Attributes:
        message: present only when a verified push subscription was deactivated: the push
            server's answer.
    """

    message: str


class MessageReply(TypedDict):
    """A reply made of one message.

    Attributes:
        message: e.g. ``"Message validated successfully"`` (schema validation).
    """

    message: str


# ---- schemas (spec 6) ------------------------------------------------------------------------
class Schema(TypedDict):
    """A schema.

    Attributes:
        uuid: the schema's UUID.
        name: ``projects/DEMO/schemas/reading`` (no leading slash).
        type: ``"json"`` or ``"avro"``.
        schema: the schema document (keys sorted by AMS at every level).
    """

    uuid: str
    name: str
    type: str
    schema: Dict[str, Any]


class SchemaList(TypedDict):
    """``GET /v1/projects/{project}/schemas``.

    Attributes:
        schemas: the project's schemas, in creation order.
    """

    schemas: List[Schema]


# ---- projects (spec 7) -----------------------------------------------------------------------
class _ProjectRequired(TypedDict):
    name: str
    created_on: str
    modified_on: str


class Project(_ProjectRequired, total=False):
    """A project.

    Attributes:
        name: the project name.
        created_on: ``YYYY-MM-DDTHH:MM:SSZ``.
        modified_on: ``YYYY-MM-DDTHH:MM:SSZ``.
        created_by: name of the creating user; omitted when empty.
        description: omitted when empty.
    """

    created_by: str
    description: str


class ProjectList(TypedDict, total=False):
    """``GET /v1/projects``.

    Attributes:
        projects: every project; the key is missing when there is no project at all.
    """

    projects: List[Project]


# ---- users (spec 8) --------------------------------------------------------------------------
class UserProject(TypedDict):
    """One entry of a user's ``projects``.

    Attributes:
        project: the project name.
        roles: project roles; may be ``null`` for an entry stored without roles.
        topics: short names of topics whose ACL contains the user.
        subscriptions: short names of subscriptions whose ACL contains the user.
    """

    project: str
    roles: Optional[List[str]]
    topics: List[str]
    subscriptions: List[str]


class _UserRequired(TypedDict):
    uuid: str
    name: str
    email: str
    service_roles: Optional[List[str]]
    created_on: str
    modified_on: str


class User(_UserRequired, total=False):
    """A user object. The facade returns :class:`pymod.AmsUser` objects built from
    it; this shape is what the wire carries.

    Attributes:
        uuid: the user's UUID.
        name: the user name.
        email: may be ``""``.
        service_roles: ``[]`` in restricted views; may be ``null``.
        created_on: ``YYYY-MM-DDTHH:MM:SSZ``.
        modified_on: ``YYYY-MM-DDTHH:MM:SSZ``.
        projects: memberships; omitted when there are none or the listing is not detailed.
        first_name: omitted when empty.
        last_name: omitted when empty.
        organization: omitted when empty.
        description: omitted when empty.
        token: omitted in restricted views.
        created_by: the creating user; omitted when created with the service token.
    """

    projects: List[UserProject]
    first_name: str
    last_name: str
    organization: str
    description: str
    token: str
    created_by: str


class UserList(TypedDict):
    """One page of users (``GET /v1/users``, ``GET /v1/projects/{project}/members``).

    Attributes:
        users: the users of this page.
        nextPageToken: pass back as the page token for the next page; ``""`` on the last page.
        totalSize: number of users in the whole listing.
    """

    users: List[User]
    nextPageToken: str
    totalSize: int


# ---- registrations (spec 9) ------------------------------------------------------------------
class _RegistrationRequired(TypedDict):
    uuid: str
    name: str
    first_name: str
    last_name: str
    organization: str
    description: str
    email: str
    status: str
    registered_at: str


class Registration(_RegistrationRequired, total=False):
    """A user registration.

    Attributes:
        uuid: the registration's UUID.
        name: the requested user name.
        first_name: first name.
        last_name: last name.
        organization: organization.
        description: why the account is wanted.
        email: e-mail address.
        status: ``"pending"``, ``"accepted"`` or ``"declined"``.
        decline_comment: omitted if empty.
        activation_token: omitted if empty; cleared on accept/decline.
        registered_at: ``YYYY-MM-DDTHH:MM:SSZ``.
        modified_by: the admin who accepted/declined; omitted if empty.
        modified_at: omitted if empty.
    """

    decline_comment: str
    activation_token: str
    modified_by: str
    modified_at: str


class RegistrationList(TypedDict):
    """``GET /v1/registrations``.

    Attributes:
        user_registrations: the registrations matching the filters.
    """

    user_registrations: List[Registration]


# ---- metrics and operations (spec 10) --------------------------------------------------------
class MetricPoint(TypedDict):
    """One point of a metric's time series.

    Attributes:
        timestamp: ``YYYY-MM-DDTHH:MM:SSZ``, or ``YYYY-MM-DD`` for daily counters.
        value: an int (counters) or a float (rates, percentages).
    """

    timestamp: str
    value: Union[int, float]


class Metric(TypedDict):
    """One metric.

    Attributes:
        metric: e.g. ``topic.number_of_messages``.
        metric_type: ``counter``, ``rate`` or ``percentage``.
        value_type: ``int64`` or ``float64``.
        resource_type: ``topic``, ``subscription``, ``project``, ``project.user``, ``ams_node``.
        resource_name: the resource's short name.
        timeseries: the points.
        description: a sentence explaining the metric.
    """

    metric: str
    metric_type: str
    value_type: str
    resource_type: str
    resource_name: str
    timeseries: List[MetricPoint]
    description: str


class MetricList(TypedDict):
    """A metric list: topic, subscription, project and node metrics.

    Attributes:
        metrics: the metrics, in the order AMS defines for the resource.
    """

    metrics: List[Metric]


class ProjectVaMetrics(TypedDict):
    """One project in a VA report.

    Attributes:
        project: the project name.
        message_count: messages published in the period.
        average_daily_messages: ``message_count`` per day of the period, rounded up.
        topics_count: topics created in the period.
        subscriptions_count: subscriptions created in the period.
        users_count: members added in the period.
    """

    project: str
    message_count: int
    average_daily_messages: float
    topics_count: int
    subscriptions_count: int
    users_count: int


class ProjectsMetrics(TypedDict):
    """``projects_metrics`` of a VA report.

    Attributes:
        projects: projects with at least one message in the period.
        total_message_count: sum over ``projects``.
        average_daily_messages: sum of the projects' averages.
    """

    projects: List[ProjectVaMetrics]
    total_message_count: int
    average_daily_messages: float


class VaReport(TypedDict):
    """``GET /v1/metrics/va_metrics``.

    Attributes:
        projects_metrics: per-project figures and totals.
        total_users_count: sum of ``users_count``.
        total_topics_count: sum of ``topics_count``.
        total_subscriptions_count: sum of ``subscriptions_count``.
    """

    projects_metrics: ProjectsMetrics
    total_users_count: int
    total_topics_count: int
    total_subscriptions_count: int


class UsageReport(TypedDict):
    """``GET /v1/users/usageReport``.

    Attributes:
        va_metrics: the VA report of the projects the caller administers.
        operational_metrics: the service's node metrics.
    """

    va_metrics: VaReport
    operational_metrics: MetricList


class PushServer(TypedDict):
    """One push server in ``/status``.

    Attributes:
        endpoint: the push server's ``host:port``.
        status: its health, e.g. ``SERVING``.
    """

    endpoint: str
    status: str


class _StatusRequired(TypedDict):
    status: str


class Status(_StatusRequired, total=False):
    """``GET /v1/status``.

    Attributes:
        status: ``"ok"`` or ``"warning"``.
        push_servers: present when push support is enabled.
        push_functionality: ``"disabled"`` when push support is off; omitted otherwise.
    """

    push_servers: List[PushServer]
    push_functionality: str


class _VersionRequired(TypedDict):
    build_time: str
    golang: str
    compiler: str
    os: str
    architecture: str


class Version(_VersionRequired, total=False):
    """``GET /v1/version``.

    Attributes:
        build_time: build time of the service.
        golang: Go version it was built with.
        compiler: Go compiler.
        os: operating system.
        architecture: CPU architecture.
        release: the AMS release; present only for ``service_admin``/``admin_viewer`` tokens.
        distro: the Linux distribution; omitted when empty.
        hostname: the deployment's public host name; omitted when empty.
    """

    release: str
    distro: str
    hostname: str


# ---- errors (spec 1.6) -----------------------------------------------------------------------
class ErrorBody(TypedDict):
    """The ``error`` object of the AMS error envelope.

    Attributes:
        code: the HTTP status.
        message: human-readable text, e.g. ``"Topic doesn't exist"``.
        status: machine-readable status, e.g. ``"NOT_FOUND"``.
    """

    code: int
    message: str
    status: str


class ErrorEnvelope(TypedDict):
    """The AMS error envelope,
    ``{"error": {"code": 404, "message": "Topic doesn't exist", "status": "NOT_FOUND"}}``. The raw
    reply is kept in ``AmsServiceException.body``.

    Attributes:
        error: the error.
    """

    error: ErrorBody
