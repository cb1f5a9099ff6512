"""Topic methods of ArgoMessagingService: route, query, body, headers and parsed reply."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from pymod import (
    AmsConnectionException,
    AmsMessage,
    AmsMessageException,
    AmsPublishException,
    AmsServiceException,
    AmsTopic,
)

from ._support import (
    ACL,
    BASE,
    HTML_CT,
    JSON_CT,
    TOKEN,
    TOPIC,
    TOPIC_METRICS,
    TOPIC_WITH_SCHEMA,
    TOPICS_PAGE,
    Case,
    ams_error,
    body_of,
    compact,
    exercise,
    html_page,
    make_client,
    pretty,
    query_of,
)

T = "/v1/projects/DEMO/topics/alerts"
MSG1 = AmsMessage(data="disk full on node7", attributes={"severity": "high", "host": "node7"})
MSG2 = AmsMessage(data="cpu high on node3")
WIRE1 = {"attributes": {"severity": "high", "host": "node7"}, "data": "ZGlzayBmdWxsIG9uIG5vZGU3"}
WIRE2 = {"data": "Y3B1IGhpZ2ggb24gbm9kZTM="}


def _is_topic(result, client) -> bool:
    return (
        isinstance(result, AmsTopic)
        and result.name == "alerts"
        and result.fullname == "/projects/DEMO/topics/alerts"
        and result.init is client
    )


CASES = [
    Case("create_topic", "create_topic", lambda c: c.create_topic("alerts"), "PUT", T,
         reply=TOPIC, check=lambda r, c: r == TOPIC),
    Case("create_topic-retobj", "create_topic", lambda c: c.create_topic("alerts", retobj=True),
         "PUT", T, reply=TOPIC, check=_is_topic),
    Case("create_topic-schema", "create_topic",
         lambda c: c.create_topic("alerts", schema="reading"), "PUT", T,
         body={"schema": "projects/DEMO/schemas/reading"}, reply=TOPIC_WITH_SCHEMA,
         check=lambda r, c: r == TOPIC_WITH_SCHEMA),
    Case("create_topic-schema-fullref", "create_topic",
         lambda c: c.create_topic("alerts", schema="projects/DEMO/schemas/reading"), "PUT", T,
         body={"schema": "projects/DEMO/schemas/reading"}, reply=TOPIC_WITH_SCHEMA,
         check=lambda r, c: r["schema"] == "projects/DEMO/schemas/reading"),
    Case("get_topic", "get_topic", lambda c: c.get_topic("alerts"), "GET", T, reply=TOPIC,
         check=lambda r, c: r == TOPIC),
    Case("get_topic-retobj", "get_topic", lambda c: c.get_topic("alerts", retobj=True), "GET", T,
         reply=TOPIC, check=_is_topic),
    Case("list_topics", "list_topics", lambda c: c.list_topics(), "GET", "/v1/projects/DEMO/topics",
         reply=TOPICS_PAGE, check=lambda r, c: r == TOPICS_PAGE),
    Case("list_topics-page", "list_topics",
         lambda c: c.list_topics(page_size=1, page_token="MjExMTJl+/YWEw=="), "GET",
         "/v1/projects/DEMO/topics", query={"pageSize": "1", "pageToken": "MjExMTJl+/YWEw=="},
         reply=TOPICS_PAGE, check=lambda r, c: r["nextPageToken"] == TOPICS_PAGE["nextPageToken"]),
    Case("list_topics-empty", "list_topics", lambda c: c.list_topics(), "GET",
         "/v1/projects/DEMO/topics", reply={"topics": [], "nextPageToken": "", "totalSize": 0},
         check=lambda r, c: r["topics"] == [] and r["totalSize"] == 0),
    Case("delete_topic", "delete_topic", lambda c: c.delete_topic("alerts"), "DELETE", T,
         check=lambda r, c: r == {}),
    Case("has_topic", "has_topic", lambda c: c.has_topic("alerts"), "GET", T, reply=TOPIC,
         check=lambda r, c: r is True),
    Case("topic", "topic", lambda c: c.topic("alerts"), "GET", T, reply=TOPIC, check=_is_topic,
         before=(("GET", T, TOPIC),)),  # has_topic, then get_topic, as argo-ams-library
    Case("publish-list", "publish", lambda c: c.publish("alerts", [MSG1, MSG2]), "POST",
         T + ":publish", body={"messages": [WIRE1, WIRE2]},
         reply={"messageIds": ["41", "42"]}, check=lambda r, c: r == {"messageIds": ["41", "42"]}),
    Case("publish-one", "publish", lambda c: c.publish("alerts", MSG2), "POST", T + ":publish",
         body={"messages": [WIRE2]}, reply={"messageIds": ["0"]},
         check=lambda r, c: r == {"messageIds": ["0"]}),
    Case("publish-dicts", "publish",
         lambda c: c.publish("alerts", [{"data": "YQ==", "attributes": {"k": "v"}},
                                        {"attributes": {"only": "attrs"}}]),
         "POST", T + ":publish",
         body={"messages": [{"attributes": {"k": "v"}, "data": "YQ=="},
                            {"attributes": {"only": "attrs"}}]},
         reply={"messageIds": ["7", "8"]}, check=lambda r, c: r["messageIds"] == ["7", "8"]),
    Case("getacl_topic", "getacl_topic", lambda c: c.getacl_topic("alerts"), "GET", T + ":acl",
         reply=ACL, check=lambda r, c: r == ACL and c.topics[TOPIC["name"]].acls == ACL["authorized_users"],
         before=(("GET", T, TOPIC),)),
    Case("modifyacl_topic", "modifyacl_topic",
         lambda c: c.modifyacl_topic("alerts", ["bob", "dave"]), "POST", T + ":modifyAcl",
         body={"authorized_users": ["bob", "dave"]}, check=lambda r, c: r is True,
         before=(("GET", T, TOPIC),)),
    Case("modifyacl_topic-clear", "modifyacl_topic", lambda c: c.modifyacl_topic("alerts", []),
         "POST", T + ":modifyAcl", body={"authorized_users": []}, check=lambda r, c: r is True,
         before=(("GET", T, TOPIC),)),
    Case("getmetrics_topic", "getmetrics_topic", lambda c: c.getmetrics_topic("alerts"), "GET",
         T + ":metrics", reply=TOPIC_METRICS, check=lambda r, c: r == TOPIC_METRICS),
    Case("list_topic_subs", "list_topic_subs", lambda c: c.list_topic_subs("alerts"), "GET",
         T + "/subscriptions",
         reply=compact({"subscriptions": ["/projects/DEMO/subscriptions/alerts-sub",
                                          "/projects/DEMO/subscriptions/audit"]}),
         check=lambda r, c: r == ["/projects/DEMO/subscriptions/alerts-sub",
                                  "/projects/DEMO/subscriptions/audit"]),
    Case("attachschema_topic", "attachschema_topic",
         lambda c: c.attachschema_topic("alerts", "reading"), "POST", T + ":attachSchema",
         body={"schema": "projects/DEMO/schemas/reading"}, check=lambda r, c: r is None),
    Case("detachschema_topic", "detachschema_topic", lambda c: c.detachschema_topic("alerts"),
         "POST", T + ":detachSchema", check=lambda r, c: r is None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_topic_route(any_ams, case):
    exercise(any_ams, case)


# ---- has_topic / topic() ----------------------------------------------------------------------
def test_has_topic_false_on_404(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/topics/nope", body=ams_error(404, "NOT_FOUND", "Topic doesn't exist"),
             status=404, content_type=JSON_CT)
    assert ams.has_topic("nope") is False
    assert len(rsps.calls) == 1


def test_has_topic_raises_other_errors(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/topics/alerts", body=ams_error(403, "FORBIDDEN",
             "Access to this resource is forbidden"), status=403, content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.has_topic("alerts")
    assert info.value.code == 403


def test_topic_existing_is_fetched(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/topics/alerts", body=pretty(TOPIC), content_type=JSON_CT)
    topic = ams.topic("alerts")
    assert isinstance(topic, AmsTopic)
    assert topic.fullname == TOPIC["name"] and topic.name == "alerts" and topic.init is ams
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]  # has_topic, get_topic
    assert ams.topics == {TOPIC["name"]: topic}


def test_topic_missing_is_created(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/topics/alerts",
             body=ams_error(404, "NOT_FOUND", "Topic doesn't exist"), status=404,
             content_type=JSON_CT)
    rsps.put(BASE + "/projects/DEMO/topics/alerts", body=pretty(TOPIC), content_type=JSON_CT)
    topic = ams.topic("alerts")
    assert topic.fullname == TOPIC["name"]
    assert [c.request.method for c in rsps.calls] == ["GET", "PUT"]


def test_topic_other_error_is_raised(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/topics/alerts",
             body=ams_error(403, "FORBIDDEN", "Access to this resource is forbidden"), status=403,
             content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.topic("alerts")
    assert info.value.code == 403
    assert len(rsps.calls) == 1


def test_iter_topics_walks_pages(ams, rsps):
    url = BASE + "/projects/DEMO/topics"
    second = {"name": "/projects/DEMO/topics/audit", "created_on": "2024-05-01T09:41:07Z"}
    rsps.get(url, body=pretty({"topics": [TOPIC], "nextPageToken": "NjY2+/Zg==", "totalSize": 2}),
             content_type=JSON_CT)
    rsps.get(url, body=pretty({"topics": [second], "nextPageToken": "", "totalSize": 2}),
             content_type=JSON_CT)
    topics = list(ams.iter_topics(page_size=1))
    assert [t.name for t in topics] == ["alerts", "audit"]
    assert all(isinstance(t, AmsTopic) and t.init is ams for t in topics)
    assert len(rsps.calls) == 2
    assert query_of(rsps.calls[0].request.url) == {"pageSize": "1"}
    assert query_of(rsps.calls[1].request.url) == {"pageSize": "1", "pageToken": "NjY2+/Zg=="}


# ---- publish: size limit, chunking, partial failures ------------------------------------------
def test_publish_oversize_message_sends_nothing(ams, nonet):
    big = AmsMessage(data=b"x" * 1_200_000)  # 1.6 MB once Base64-encoded
    with pytest.raises(AmsMessageException):
        ams.publish("alerts", big)
    with pytest.raises(AmsMessageException):
        ams.publish("alerts", [MSG1, MSG2, big])  # even the small ones before it stay unsent
    assert len(nonet.calls) == 0


def test_publish_respects_a_smaller_message_limit(nonet):
    client = make_client(max_message_bytes=1000)
    with pytest.raises(AmsMessageException):
        client.publish("alerts", AmsMessage(data="y" * 1000))
    assert len(nonet.calls) == 0


def test_publish_empty_list_sends_nothing(ams, nonet):
    assert ams.publish("alerts", []) == {"messageIds": []}
    assert len(nonet.calls) == 0


def _messages(n):
    return [AmsMessage(data=f"message {i}", attributes={"i": str(i)}) for i in range(n)]


def _sent_messages(rsps):
    return [body_of(call.request)["messages"] for call in rsps.calls]


def test_publish_chunks_by_message_count(ams, rsps):
    ams.max_request_messages = 2
    url = BASE + "/projects/DEMO/topics/alerts:publish"
    for ids in (["0", "1"], ["2", "3"], ["4"]):
        rsps.post(url, body=pretty({"messageIds": ids}), content_type=JSON_CT)
    msgs = _messages(5)
    result = ams.publish("alerts", msgs)
    assert result == {"messageIds": ["0", "1", "2", "3", "4"]}
    sent = _sent_messages(rsps)
    assert [len(chunk) for chunk in sent] == [2, 2, 1]
    assert [m for chunk in sent for m in chunk] == [m.dict() for m in msgs]


def test_publish_chunks_by_request_bytes(ams, rsps):
    msgs = _messages(6)
    one = len(json.dumps(msgs[0].dict(), separators=(",", ":")))
    ams.max_request_bytes = 16 + 2 * (one + 1) + 5  # room for two messages per request
    url = BASE + "/projects/DEMO/topics/alerts:publish"
    for start in (0, 2, 4):
        rsps.post(url, body=pretty({"messageIds": [str(start), str(start + 1)]}),
                  content_type=JSON_CT)
    result = ams.publish("alerts", msgs)
    assert result["messageIds"] == [str(i) for i in range(6)]
    assert len(rsps.calls) == 3
    for call in rsps.calls:
        assert len(call.request.body) <= ams.max_request_bytes
    assert [m for chunk in _sent_messages(rsps) for m in chunk] == [m.dict() for m in msgs]


def test_publish_failure_in_second_chunk_reports_what_was_published(ams, rsps):
    ams.max_request_messages = 2
    url = BASE + "/projects/DEMO/topics/alerts:publish"
    rsps.post(url, body=pretty({"messageIds": ["10", "11"]}), content_type=JSON_CT)
    rsps.post(url, body=html_page(503, "Service Unavailable"), status=503, content_type=HTML_CT)
    msgs = _messages(5)
    with pytest.raises(AmsPublishException) as info:
        ams.publish("alerts", msgs)
    exc = info.value
    assert exc.published_ids == ["10", "11"]
    assert exc.unpublished == [m.dict() for m in msgs[2:]]
    assert exc.unpublished_indices == [2, 3, 4]
    assert isinstance(exc.cause, AmsServiceException) and exc.cause.code == 503
    assert exc.__cause__ is exc.cause
    assert len(rsps.calls) == 2  # the third chunk is never sent
    assert TOKEN not in str(exc)


def test_publish_failure_in_first_chunk_raises_original_type(ams, rsps):
    ams.max_request_messages = 2
    rsps.post(BASE + "/projects/DEMO/topics/alerts:publish",
              body=ams_error(404, "NOT_FOUND", "Topic doesn't exist"), status=404,
              content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.publish("alerts", _messages(5))
    assert not isinstance(info.value, AmsPublishException)
    assert type(info.value) is AmsServiceException
    assert info.value.code == 404
    assert len(rsps.calls) == 1


def test_publish_connection_error_in_first_chunk(ams, rsps):
    rsps.post(BASE + "/projects/DEMO/topics/alerts:publish",
              body=requests.exceptions.ConnectionError("connection reset by peer"))
    with pytest.raises(AmsConnectionException):
        ams.publish("alerts", _messages(3))


@pytest.mark.parametrize(
    "bad",
    [42, "plain string", [42], [{"data": b"bytes"}], [{}], [{"data": "YQ==", "attributes": ["x"]}]],
    ids=["int", "str", "list-of-int", "bytes-data", "empty-dict", "attrs-list"],
)
def test_publish_malformed_messages_send_nothing(ams, nonet, bad):
    with pytest.raises(AmsMessageException):
        ams.publish("alerts", bad)
    assert len(nonet.calls) == 0


def test_publish_non_ascii_payload_and_attributes(any_ams, rsps):
    rsps.post(BASE + "/projects/DEMO/topics/alerts:publish", body=pretty({"messageIds": ["1"]}),
              content_type=JSON_CT)
    any_ams.publish("alerts", AmsMessage(data="Grüße ✓", attributes={"city": "Αθήνα"}))
    request = rsps.calls[0].request
    raw = request.body if isinstance(request.body, bytes) else request.body.encode("utf-8")
    assert int(request.headers["Content-Length"]) == len(raw)
    assert body_of(request) == {"messages": [{"attributes": {"city": "Αθήνα"},
                                              "data": "R3LDvMOfZSDinJM="}]}


def test_amsmessage_attributes_default_to_empty_dict(ams, rsps):
    rsps.post(BASE + "/projects/DEMO/topics/alerts:publish", body=pretty({"messageIds": ["1"]}),
              content_type=JSON_CT)
    msg = AmsMessage(data="x")
    assert msg.attributes == {} and msg.get_attr() == {}
    ams.publish("alerts", msg)
    assert body_of(rsps.calls[0].request) == {"messages": [{"data": "eA=="}]}


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60),
    max_messages=st.integers(min_value=1, max_value=80),
    extra_bytes=st.integers(min_value=0, max_value=3000),
)
@settings(max_examples=300, deadline=None)
def test_chunks_hold_every_limit_and_keep_every_message(sizes, max_messages, extra_bytes):
    """Whatever the limits, the request bodies together carry every message once, in order, and
    each body stays within the request limits (the one-call fast path included)."""
    ams = make_client()
    ams.max_message_bytes = 1000
    ams.max_request_messages = max_messages
    ams.max_request_bytes = 1000 + 64 + extra_bytes
    wire = [{"attributes": {"i": str(i)}, "data": "x" * n} for i, n in enumerate(sizes)]
    chunks = ams._chunks(wire)
    seen = []
    for start, body in chunks:
        batch = json.loads(body)["messages"]
        assert start == len(seen)
        assert 1 <= len(batch) <= max_messages
        assert len(body) <= ams.max_request_bytes
        seen.extend(batch)
    assert seen == wire
