"""Shared constants, AMS reply bodies (from spec/ams-v1.md) and the route-table test runner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import responses

from pymod import ArgoMessagingService, RetryPolicy

HOST = "msg.example.org"
BASE = f"https://{HOST}/v1"
PROJECT = "DEMO"
#: The client's token: recognisable, and a valid AMS name so it can also travel in a URL path.
TOKEN = "SeCrEtToKeN0123456789abcdef0123456789abcdef0123456789abcdef9876"
#: Another user's token, looked up with get_user_by_token.
OTHER_TOKEN = "0tHeRsEcReT89abcdef0123456789abcdef0123456789abcdef0123456789ab"

JSON_CT = "application/json; charset=utf-8"
TEXT_CT = "text/plain; charset=utf-8"
HTML_CT = "text/html"

#: Sentinel: the request must carry no body.
NO_BODY = object()


class SleepRecorder:
    """A fake ``sleep`` that records the requested durations and never sleeps."""

    def __init__(self) -> None:
        self.calls: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(sleep: Optional[SleepRecorder] = None, **kwargs: Any) -> ArgoMessagingService:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("project", PROJECT)
    kwargs.setdefault("retry_policy", RetryPolicy(jitter=0, sleep=sleep or SleepRecorder()))
    return ArgoMessagingService(HOST, **kwargs)


def pretty(obj: Any) -> str:
    """3-space JSON, the layout of most AMS replies."""
    return json.dumps(obj, indent=3)


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def ams_error(code: int, status: str, message: str) -> str:
    return pretty({"error": {"code": code, "message": message, "status": status}})


def html_page(code: int, title: str, sentence: str = "The server is busy.") -> str:
    return f"<html><body><h1>{code} {title}</h1>\n{sentence}\n</body></html>\n"


def query_of(url: str) -> Dict[str, str]:
    """The query string of ``url`` as a dict (each key must occur once)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for key, values in parsed.items():
        assert len(values) == 1, f"query key {key!r} repeated: {values}"
    return {k: v[0] for k, v in parsed.items()}


def path_of(url: str) -> str:
    return urlsplit(url).path


def body_of(request: Any) -> Any:
    """The decoded JSON body of a recorded request, or NO_BODY."""
    body = request.body
    if body is None or body in (b"", ""):
        return NO_BODY
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body)


# ---------------------------------------------------------------------------------------------
# Reply bodies, as in spec/ams-v1.md
# ---------------------------------------------------------------------------------------------
TOPIC = {"name": "/projects/DEMO/topics/alerts", "created_on": "2024-05-02T09:41:07Z"}
TOPIC_WITH_SCHEMA = {
    "name": "/projects/DEMO/topics/alerts",
    "schema": "projects/DEMO/schemas/reading",
    "created_on": "2024-05-02T09:41:07Z",
}
TOPICS_PAGE = {
    "topics": [TOPIC],
    "nextPageToken": "MjExMTJlYWEwNmQzYjgyYjE2NDNmNDI3",
    "totalSize": 2,
}
PULL_PUSHCONFIG = {
    "type": "",
    "pushEndpoint": "",
    "maxMessages": 0,
    "authorizationHeader": {},
    "retryPolicy": {},
    "verificationHash": "",
    "verified": False,
    "mattermostUrl": "",
    "mattermostUsername": "",
    "mattermostChannel": "",
    "base64Decode": False,
}
SUB = {
    "name": "/projects/DEMO/subscriptions/alerts-sub",
    "topic": "/projects/DEMO/topics/alerts",
    "pushConfig": PULL_PUSHCONFIG,
    "ackDeadlineSeconds": 10,
    "createdOn": "2024-05-02T09:45:00Z",
}
PUSH_SUB = {
    "name": "/projects/DEMO/subscriptions/alerts-push",
    "topic": "/projects/DEMO/topics/alerts",
    "pushConfig": {
        "type": "http_endpoint",
        "pushEndpoint": "https://receiver.example.org/ams",
        "maxMessages": 1,
        "authorizationHeader": {
            "type": "autogen",
            "value": "2514c24a74edef0f77307c5fd7de74e425ca2b0b7a50953a6c49e949aa005b87",
        },
        "retryPolicy": {"type": "linear", "period": 3000},
        "verificationHash": "2f7fefefc03885453f93930135363db251def969d1457f7bfa01ebd6fc04d61c",
        "verified": False,
        "mattermostUrl": "",
        "mattermostUsername": "",
        "mattermostChannel": "",
        "base64Decode": False,
    },
    "ackDeadlineSeconds": 10,
    "createdOn": "2024-05-02T09:47:12Z",
}
SUBS_PAGE = {"subscriptions": [SUB], "nextPageToken": "", "totalSize": 1}
ACK_PREFIX = "projects/DEMO/subscriptions/alerts-sub:"
PULL_REPLY = {
    "receivedMessages": [
        {
            "ackId": ACK_PREFIX + "41",
            "message": {
                "messageId": "41",
                "attributes": {"host": "node7", "severity": "high"},
                "data": "ZGlzayBmdWxsIG9uIG5vZGU3",
                "publishTime": "2024-05-02T09:50:01.482117309Z",
            },
        },
        {
            "ackId": ACK_PREFIX + "42",
            "message": {
                "messageId": "42",
                "data": "Y3B1IGhpZ2ggb24gbm9kZTM=",
                "publishTime": "2024-05-02T09:50:02.5Z",
            },
        },
    ]
}
EMPTY_PULL = {"receivedMessages": []}
OFFSETS = {"max": 43, "min": 0, "current": 41}
ACL = {"authorized_users": ["bob"]}
METRIC = {
    "metric": "ams_node.cpu_usage",
    "metric_type": "percentage",
    "value_type": "float64",
    "resource_type": "ams_node",
    "resource_name": "ams-node-1.example.org",
    "timeseries": [{"timestamp": "2024-05-02T10:00:00Z", "value": 0.4}],
    "description": "Percentage value that displays the CPU usage of ams service in the specific node",
}
METRICS = {"metrics": [METRIC]}
TOPIC_METRICS = {
    "metrics": [
        {
            "metric": "topic.number_of_messages",
            "metric_type": "counter",
            "value_type": "int64",
            "resource_type": "topic",
            "resource_name": "alerts",
            "timeseries": [{"timestamp": "2024-05-02T10:00:00Z", "value": 140}],
            "description": "Counter that displays the number of messages published to the specific topic",
        }
    ]
}
SUB_METRICS = {
    "metrics": [
        {
            "metric": "subscription.number_of_messages",
            "metric_type": "counter",
            "value_type": "int64",
            "resource_type": "subscription",
            "resource_name": "alerts-sub",
            "timeseries": [{"timestamp": "2024-05-02T10:00:00Z", "value": 41}],
            "description": "Counter that displays the number of messages consumed from the specific "
            "subscription",
        }
    ]
}
PROJECT_OBJ = {
    "name": "DEMO",
    "created_on": "2024-05-01T08:00:00Z",
    "modified_on": "2024-05-01T08:00:00Z",
    "created_by": "root",
    "description": "demo project for alerts",
}
ALICE = {
    "uuid": "eb99e8c6-05fb-4446-b331-285dd91c6394",
    "projects": [{"project": "DEMO", "roles": ["project_admin"], "topics": [], "subscriptions": []}],
    "name": "alice",
    "first_name": "Alice",
    "last_name": "Smith",
    "organization": "Example Org",
    "description": "DEMO administrator",
    "token": "d47698532e1f38ecb50a01e107a074fa2753e607c7d30793f38f63ef818c46a4",
    "email": "alice@example.org",
    "service_roles": [],
    "created_on": "2024-05-01T08:05:00Z",
    "modified_on": "2024-05-01T08:05:00Z",
    "created_by": "root",
}
BOB_RESTRICTED = {
    "uuid": "ecf78d58-182a-4dea-86ca-768e4ccb6cc1",
    "projects": [{"project": "DEMO", "roles": ["publisher"], "topics": ["alerts"], "subscriptions": []}],
    "name": "bob",
    "email": "bob@example.org",
    "service_roles": [],
    "created_on": "2024-05-01T08:10:00Z",
    "modified_on": "2024-05-01T08:10:00Z",
}
CAROL = {
    "uuid": "64bf1351-c6f1-40c7-ab94-ee92924196a8",
    "name": "carol",
    "token": "b075ff3aa048477d3ee92574897847bd9f208bf37e0ebf1eb18f1107ded7b59a",
    "email": "carol@example.org",
    "service_roles": None,
    "created_on": "2024-05-01T08:12:00Z",
    "modified_on": "2024-05-01T08:12:00Z",
    "created_by": "alice",
}
USERS_PAGE = {"users": [CAROL], "nextPageToken": "", "totalSize": 1}
SCHEMA_DOC = {
    "properties": {"temp": {"type": "number"}, "unit": {"type": "string"}},
    "required": ["temp"],
    "type": "object",
}
SCHEMA = {
    "uuid": "6a3fc4b8-b19a-4a1a-9d69-112ba8cecf67",
    "name": "projects/DEMO/schemas/reading",
    "type": "json",
    "schema": SCHEMA_DOC,
}
REG_UUID = "ecf78d58-182a-4dea-86ca-768e4ccb6cc1"
REGISTRATION = {
    "uuid": REG_UUID,
    "name": "dave",
    "first_name": "Dave",
    "last_name": "Brown",
    "organization": "Example Org",
    "description": "wants to consume alerts",
    "email": "dave@example.org",
    "status": "pending",
    "activation_token": "2514c24a74edef0f77307c5fd7de74e425ca2b0b7a50953a6c49e949aa005b87",
    "registered_at": "2024-05-03T10:00:00Z",
}
STATUS = {"status": "ok", "push_functionality": "disabled"}
STATUS_DETAILS = {
    "status": "ok",
    "push_servers": [{"endpoint": "push.example.org:443", "status": "SERVING"}],
}
VERSION = {
    "build_time": "2024-04-30T12:00:00Z",
    "golang": "go1.21.9",
    "compiler": "gc",
    "os": "linux",
    "architecture": "amd64",
    "hostname": "ams.example.org",
}
VA_REPORT = {
    "projects_metrics": {
        "projects": [
            {
                "project": "DEMO",
                "message_count": 140,
                "average_daily_messages": 4.52,
                "topics_count": 2,
                "subscriptions_count": 3,
                "users_count": 4,
            }
        ],
        "total_message_count": 140,
        "average_daily_messages": 4.52,
    },
    "total_users_count": 4,
    "total_topics_count": 2,
    "total_subscriptions_count": 3,
}
USAGE_REPORT = {
    "va_metrics": {
        "projects_metrics": {"projects": [], "total_message_count": 0, "average_daily_messages": 0},
        "total_users_count": 0,
        "total_topics_count": 0,
        "total_subscriptions_count": 0,
    },
    "operational_metrics": {"metrics": []},
}


# ---------------------------------------------------------------------------------------------
# Route-table runner
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One facade call and the single HTTP exchange it must produce.

    Attributes:
        id: pytest id.
        covers: the facade method the case exercises.
        call: ``call(client) -> result``.
        method, path: expected HTTP method and URL path (``/v1/...``).
        query: expected query (``{}`` = no query string at all).
        body: expected JSON body (compared exactly), or NO_BODY.
        reply: the 200 reply: a dict/list (sent as 3-space JSON) or a raw str.
        check: ``check(result, client) -> bool``.
        before: requests made first (argo-ams-library fetched the topic before its ACL ...).
    """

    id: str
    covers: str
    call: Callable[[ArgoMessagingService], Any]
    method: str
    path: str
    check: Callable[[Any, ArgoMessagingService], bool]
    query: Dict[str, str] = field(default_factory=dict)
    body: Any = NO_BODY
    reply: Any = ""
    #: (method, path, reply) of the requests expected before the main one, in order
    before: Tuple[Tuple[str, str, Any], ...] = ()


def reply_text(reply: Any) -> str:
    return reply if isinstance(reply, str) else pretty(reply)


def exercise(client: ArgoMessagingService, case: Case) -> Any:
    """Run ``case`` against a mocked AMS and assert the request and the parsed result."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        assert case.path.startswith("/v1/")
        for method, path, reply in case.before:  # requests argo-ams-library made first
            rsps.add(method, BASE + path[3:], body=reply_text(reply), status=200,
                     content_type=JSON_CT)
        rsps.add(case.method, BASE + case.path[3:], body=reply_text(case.reply), status=200,
                 content_type=JSON_CT)
        result = case.call(client)
        assert len(rsps.calls) == len(case.before) + 1, [c.request.url for c in rsps.calls]
        for (method, path, _), call in zip(case.before, rsps.calls):
            assert (call.request.method, urlsplit(call.request.url).path) == (method, path)
        request = rsps.calls[-1].request
    assert request.method == case.method
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc) == ("https", HOST)
    assert parts.path == case.path
    assert query_of(request.url) == case.query
    if not case.query:
        assert parts.query == ""
    expected_body = case.body
    actual_body = body_of(request)
    if expected_body is NO_BODY:
        assert actual_body is NO_BODY, actual_body
    else:
        assert actual_body == expected_body
        # and with the same JSON types (``"10"`` is not ``10``, ``true`` is not ``1``)
        assert json.dumps(actual_body, sort_keys=True) == json.dumps(expected_body, sort_keys=True)
    assert request.headers["x-api-key"] == TOKEN
    assert case.check(result, client), repr(result)
    return result
