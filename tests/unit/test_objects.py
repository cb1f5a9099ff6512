"""AmsMessage, AmsTopic/AmsSubscription delegation, AmsUser/AmsUserProject/AmsUserPage."""

from __future__ import annotations

import datetime
import json

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pymod import (
    AmsMessage,
    AmsMessageException,
    AmsSubscription,
    AmsTopic,
    AmsUser,
    AmsUserPage,
    AmsUserProject,
)

from ._support import (
    ACK_PREFIX,
    ACL,
    ALICE,
    BASE,
    CAROL,
    JSON_CT,
    OFFSETS,
    PULL_REPLY,
    PUSH_SUB,
    SUB,
    SUB_METRICS,
    TOKEN,
    TOPIC,
    TOPIC_METRICS,
    body_of,
    compact,
    pretty,
    query_of,
)

# ---- AmsMessage ------------------------------------------------------------------------------


def test_message_encodes_str_as_utf8_base64():
    msg = AmsMessage(data="disk full on node7", attributes={"host": "node7"})
    assert msg.dict() == {"attributes": {"host": "node7"}, "data": "ZGlzayBmdWxsIG9uIG5vZGU3"}
    assert msg.data_b64 == "ZGlzayBmdWxsIG9uIG5vZGU3"
    assert AmsMessage(data="ü").dict()["data"] == "w7w="
    assert AmsMessage(data="ü").get_data() == "ü".encode()


def test_message_encodes_bytes():
    msg = AmsMessage(data=b"\x00\xff\x10")
    assert msg.dict()["data"] == "AP8Q"
    assert msg.get_data() == b"\x00\xff\x10"
    assert AmsMessage(data=bytearray(b"ab")).get_data() == b"ab"


def test_message_b64enc_false_keeps_the_wire_text():
    msg = AmsMessage(b64enc=False, data="ZGlzayBmdWxsIG9uIG5vZGU3", messageId="41",
                     publishTime="2024-05-02T09:50:01.482117309Z")
    assert msg.data_b64 == "ZGlzayBmdWxsIG9uIG5vZGU3"
    assert msg.get_data() == b"disk full on node7"
    assert msg.get_msgid() == "41"
    assert msg.get_publishtime() == "2024-05-02T09:50:01.482117309Z"
    msg.set_data("Y3B1", b64enc=False)
    assert msg.data_b64 == "Y3B1"
    msg.set_data("cpu")
    assert msg.data_b64 == "Y3B1"


def test_message_without_data():
    msg = AmsMessage(attributes={"k": "v"})
    with pytest.raises(AmsMessageException, match="b64decode"):  # as argo-ams-library
        msg.get_data()
    assert msg.dict() == {"attributes": {"k": "v"}}


def test_get_data_of_invalid_base64_raises():
    with pytest.raises(AmsMessageException):
        AmsMessage(b64enc=False, data="not base64!").get_data()


def test_attributes_default_to_a_fresh_empty_dict():
    first = AmsMessage(data="x")
    assert first.attributes == {} and first.get_attr() == {}
    first.set_attr("a", "b")
    assert AmsMessage(data="y").attributes == {}  # not shared between messages
    assert AmsMessage(attributes=None).attributes == {}
    assert AmsMessage(attributes="").attributes == {}


def test_set_attr_and_get_attr():
    msg = AmsMessage(data="x")
    msg.set_attr("host", "node7")
    msg.set_attr("severity", "high")
    assert msg.get_attr() == {"host": "node7", "severity": "high"}
    assert msg.get_attr("host") == "node7"
    assert msg.get_attr("missing") is None


@pytest.mark.parametrize(
    ("key", "value"),
    [(1, "v"), ("k", 2), ("k", None), ("k", b"v"), ('k"', "v"), ("k", 'v"'), ("k", "a\\b"),
     ("k", "line\nbreak"), ("\t", "v")],
)
def test_set_attr_validation(key, value):
    msg = AmsMessage(data="x")
    with pytest.raises(AmsMessageException):
        msg.set_attr(key, value)
    assert msg.get_attr() == {}


@pytest.mark.parametrize(
    "attributes",
    [["k", "v"], {"k": 1}, {1: "v"}, {"k": {"nested": "v"}}, {"k": 'quote"'}, 42],
)
def test_invalid_attributes_raise(attributes):
    with pytest.raises(AmsMessageException):
        AmsMessage(data="x", attributes=attributes)


@pytest.mark.parametrize("data", [5, 1.5, ["a"], {"a": "b"}, object()])
def test_invalid_data_raises(data):
    with pytest.raises(AmsMessageException):
        AmsMessage(data=data)


def test_call_builds_the_wire_form():
    msg = AmsMessage()
    assert msg(data="x", attributes={"a": "b"}) == {"attributes": {"a": "b"}, "data": "eA=="}
    assert msg(data="YQ==", b64enc=False) == {"attributes": {"a": "b"}, "data": "YQ=="}
    with pytest.raises(AmsMessageException):
        msg(data="x", attributes={"a": 1})


def test_repr_truncates_long_data():
    long_msg = AmsMessage(data="x" * 500, messageId="7")
    text = repr(long_msg)
    assert len(text) < 150
    assert "..." in text and "messageId='7'" in text
    short = repr(AmsMessage(data="hi", attributes={"k": "v"}))
    assert "aGk=" in short and "'k': 'v'" in short and "..." not in short


def test_message_equality():
    assert AmsMessage(data="x", attributes={"a": "b"}) == AmsMessage(data="x", attributes={"a": "b"})
    assert AmsMessage(data="x") != AmsMessage(data="y")
    assert AmsMessage(data="x") != "x"


@given(st.binary(max_size=2000))
def test_bytes_round_trip(payload):
    assert AmsMessage(data=payload).get_data() == payload


@given(st.text(max_size=500))
def test_text_round_trip(text):
    assert AmsMessage(data=text).get_data().decode("utf-8") == text


# ---- AmsTopic delegation ---------------------------------------------------------------------
T = BASE + "/projects/DEMO/topics/alerts"
S = BASE + "/projects/DEMO/subscriptions/alerts-sub"


@pytest.fixture
def topic(ams):
    return AmsTopic("/projects/DEMO/topics/alerts", init=ams)


@pytest.fixture
def sub(ams, topic):
    return AmsSubscription("/projects/DEMO/subscriptions/alerts-sub", topic, {}, 10, init=ams)


def requests_error():
    return requests.exceptions.ConnectionError("reset")


def _calls(rsps):
    return [(c.request.method, c.request.url.split("?")[0][len(BASE):]) for c in rsps.calls]


def test_topic_identity(ams, topic):
    assert topic.name == "alerts" and topic.fullname == "/projects/DEMO/topics/alerts"
    assert topic.init is ams
    assert TOKEN not in repr(topic) and "alerts" in repr(topic)
    assert topic == AmsTopic("/projects/DEMO/topics/alerts", init=ams)


def test_topic_delete(topic, rsps):
    rsps.delete(T, body="", content_type=JSON_CT)
    assert topic.delete() == {}
    assert _calls(rsps) == [("DELETE", "/projects/DEMO/topics/alerts")]


def test_topic_acl_get(topic, rsps):
    rsps.get(T, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.get(T + ":acl", body=pretty(ACL), content_type=JSON_CT)
    assert topic.acl() == ACL
    assert _calls(rsps) == [("GET", "/projects/DEMO/topics/alerts"),  # first, as the original
                            ("GET", "/projects/DEMO/topics/alerts:acl")]


def test_topic_acl_set(topic, rsps):
    rsps.get(T, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.post(T + ":modifyAcl", body="", content_type=JSON_CT)
    assert topic.acl(["bob", "dave"], timeout=3) is True  # as argo-ams-library
    assert _calls(rsps) == [("GET", "/projects/DEMO/topics/alerts"),
                            ("POST", "/projects/DEMO/topics/alerts:modifyAcl")]
    assert body_of(rsps.calls[1].request) == {"authorized_users": ["bob", "dave"]}
    assert all(c.request.req_kwargs["timeout"] == 3 for c in rsps.calls)


def test_topic_publish(topic, rsps, sleeps):
    rsps.post(T + ":publish", body=requests_error())
    rsps.post(T + ":publish", body=pretty({"messageIds": ["3"]}), content_type=JSON_CT)
    assert topic.publish(AmsMessage(data="x"), retry=1, retrysleep=2) == {"messageIds": ["3"]}
    assert body_of(rsps.calls[1].request) == {"messages": [{"data": "eA=="}]}
    assert sleeps.calls == [2]


def test_topic_subscription_existing(topic, rsps):
    rsps.get(S, body=pretty(SUB), content_type=JSON_CT)
    result = topic.subscription("alerts-sub")
    assert isinstance(result, AmsSubscription) and result.name == "alerts-sub"
    assert _calls(rsps) == [("GET", "/projects/DEMO/subscriptions/alerts-sub")] * 2


def test_topic_subscription_created(topic, rsps):
    rsps.get(S, body=pretty({"error": {"code": 404, "message": "Subscription doesn't exist",
                                       "status": "NOT_FOUND"}}), status=404, content_type=JSON_CT)
    rsps.get(T, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.put(S, body=pretty({**SUB, "ackDeadlineSeconds": 60}), content_type=JSON_CT)
    result = topic.subscription("alerts-sub", ackdeadline=60)
    assert result.ackdeadline == 60 and result.topic.name == "alerts"
    assert body_of(rsps.calls[2].request) == {"topic": "projects/DEMO/topics/alerts",
                                              "ackDeadlineSeconds": 60}


def test_topic_subscriptions_and_iter_subs(topic, rsps):
    rsps.get(T + "/subscriptions",
             body=compact({"subscriptions": ["/projects/DEMO/subscriptions/alerts-sub"]}),
             content_type=JSON_CT)
    other = {**SUB, "name": "/projects/DEMO/subscriptions/x", "topic": "/projects/DEMO/topics/x"}
    rsps.get(BASE + "/projects/DEMO/subscriptions",
             body=pretty({"subscriptions": [SUB, other, PUSH_SUB], "nextPageToken": "",
                          "totalSize": 3}), content_type=JSON_CT)
    assert topic.subscriptions() == ["/projects/DEMO/subscriptions/alerts-sub"]
    assert [s.name for s in topic.iter_subs()] == ["alerts-sub", "alerts-push"]


def test_topic_metrics_and_schema(topic, rsps):
    rsps.get(T + ":metrics", body=pretty(TOPIC_METRICS), content_type=JSON_CT)
    rsps.post(T + ":attachSchema", body="", content_type=JSON_CT)
    rsps.post(T + ":detachSchema", body="", content_type=JSON_CT)
    assert topic.metrics() == TOPIC_METRICS
    assert topic.attach_schema("reading") is None
    assert topic.detach_schema() is None
    assert body_of(rsps.calls[1].request) == {"schema": "projects/DEMO/schemas/reading"}
    assert [m for m, _ in _calls(rsps)] == ["GET", "POST", "POST"]


# ---- AmsSubscription delegation ---------------------------------------------------------------
def test_subscription_identity(ams, sub):
    assert sub.name == "alerts-sub" and sub.topic.name == "alerts" and sub.ackdeadline == 10
    assert sub.push_endpoint == "" and sub.retry_policy_type == "" and sub.retry_policy_period == ""
    assert TOKEN not in repr(sub) and "alerts-sub" in repr(sub)
    push = AmsSubscription(PUSH_SUB["name"], sub.topic, PUSH_SUB["pushConfig"], 10, init=ams)
    assert push.push_endpoint == "https://receiver.example.org/ams"
    assert (push.retry_policy_type, push.retry_policy_period) == ("linear", 3000)


def test_subscription_pull(sub, rsps):
    rsps.post(S + ":pull", body=pretty(PULL_REPLY), content_type=JSON_CT)
    result = sub.pull(num=2, return_immediately=True)
    assert [ack for ack, _ in result] == [ACK_PREFIX + "41", ACK_PREFIX + "42"]
    assert body_of(rsps.calls[0].request) == {"maxMessages": "2", "returnImmediately": "true"}


def test_subscription_ack_with_retry(sub, rsps, sleeps):
    rsps.post(S + ":acknowledge", body=requests_error())
    rsps.post(S + ":acknowledge", body="{}", content_type=JSON_CT)
    assert sub.ack([ACK_PREFIX + "42"], retry=1, retrysleep=7) is True
    assert body_of(rsps.calls[1].request) == {"ackIds": [ACK_PREFIX + "42"]}
    assert sleeps.calls == [7]


def test_subscription_pullack(sub, rsps):
    rsps.post(S + ":pull", body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(S + ":acknowledge", body="{}", content_type=JSON_CT)
    msgs = sub.pullack(num=2, return_immediately=True)
    assert [m.get_msgid() for m in msgs] == ["41", "42"]
    assert body_of(rsps.calls[1].request) == {"ackIds": [ACK_PREFIX + "41", ACK_PREFIX + "42"]}


def test_subscription_pushconfig(sub, rsps):
    rsps.post(S + ":modifyPushConfig", body="", content_type=JSON_CT)
    fresh = {**SUB, "pushConfig": PUSH_SUB["pushConfig"]}
    rsps.get(S, body=pretty(fresh), content_type=JSON_CT)
    result = sub.pushconfig("https://receiver.example.org/ams", retry_policy_period=3000)
    assert result == fresh
    assert sub.push_endpoint == "https://receiver.example.org/ams"
    assert sub.retry_policy_period == 3000
    assert body_of(rsps.calls[0].request) == {"pushConfig": {
        "type": "http_endpoint", "pushEndpoint": "https://receiver.example.org/ams",
        "retryPolicy": {"type": "linear", "period": 3000}}}


def test_subscription_offsets(sub, rsps):
    rsps.get(S + ":offsets", body=pretty(OFFSETS), content_type=JSON_CT)
    rsps.get(S + ":offsets", body=pretty(OFFSETS), content_type=JSON_CT)
    assert sub.offsets() == OFFSETS
    assert sub.offsets("max") == 43
    assert [m for m, _ in _calls(rsps)] == ["GET", "GET"]


def test_subscription_offsets_move(sub, rsps):
    rsps.post(S + ":modifyOffset", body="", content_type=JSON_CT)
    rsps.get(S + ":offsets", body=pretty({**OFFSETS, "current": 17}), content_type=JSON_CT)
    assert sub.offsets("current", move_to=17) == 17
    assert body_of(rsps.calls[0].request) == {"offset": 17}


def test_subscription_time_to_offset(sub, rsps):
    rsps.get(S + ":timeToOffset", body=compact({"offset": 640}), content_type=JSON_CT)
    when = datetime.datetime(2019, 9, 2, 13, 39, 11, 500000, tzinfo=datetime.timezone.utc)
    assert sub.time_to_offset(when) == 640
    assert query_of(rsps.calls[0].request.url) == {"time": "2019-09-02T13:39:11.500Z"}


def test_subscription_misc(sub, rsps):
    rsps.post(S + ":modifyAckDeadline", body="", content_type=JSON_CT)
    rsps.post(S + ":verifyPushEndpoint", body="", content_type=JSON_CT)
    rsps.get(S + ":metrics", body=pretty(SUB_METRICS), content_type=JSON_CT)
    rsps.get(S, body=pretty(SUB), content_type=JSON_CT)
    rsps.post(S + ":modifyAcl", body="", content_type=JSON_CT)
    rsps.delete(S, body="", content_type=JSON_CT)
    sub.modify_ack_deadline(60)
    assert sub.ackdeadline == 60
    assert sub.verify_push_endpoint() is None
    assert sub.metrics() == SUB_METRICS
    assert sub.acl(["carol"]) is True
    assert sub.delete() == {}
    assert body_of(rsps.calls[0].request) == {"ackDeadlineSeconds": 60}
    assert [p for _, p in _calls(rsps)] == [
        "/projects/DEMO/subscriptions/alerts-sub:modifyAckDeadline",
        "/projects/DEMO/subscriptions/alerts-sub:verifyPushEndpoint",
        "/projects/DEMO/subscriptions/alerts-sub:metrics",
        "/projects/DEMO/subscriptions/alerts-sub",
        "/projects/DEMO/subscriptions/alerts-sub:modifyAcl",
        "/projects/DEMO/subscriptions/alerts-sub",
    ]


# ---- AmsUser, AmsUserProject, AmsUserPage -----------------------------------------------------
def test_user_load_from_dict():
    user = AmsUser.load_from_dict(ALICE)
    assert user.name == "alice" and user.uuid == ALICE["uuid"] and user.token == ALICE["token"]
    assert user.first_name == "Alice" and user.last_name == "Smith"
    assert user.email == "alice@example.org" and user.organization == "Example Org"
    assert user.description == "DEMO administrator"
    assert user.created_on == "2024-05-01T08:05:00Z" and user.created_by == "root"
    assert user.projects == [AmsUserProject("DEMO", ["project_admin"], [], [])]


def test_user_load_accepts_nulls_and_missing_fields():
    user = AmsUser.load_from_dict(CAROL)  # service_roles: null, no projects
    assert user.service_roles == [] and user.projects == []
    entry = AmsUserProject.load_from_dict({"project": "DEMO", "roles": None})
    assert entry.roles == [] and entry.topics == [] and entry.subscriptions == []
    bare = AmsUser.load_from_dict({"uuid": "u", "name": "x"})
    assert bare.token == "" and bare.first_name == ""


def test_user_to_dict_is_the_create_body():
    user = AmsUser(name="bob", email="bob@example.org", service_roles=["admin_viewer"],
                   projects=[AmsUserProject("DEMO", ["publisher"], topics=["alerts"])])
    assert user.to_dict() == {  # as argo-ams-library's to_json(): the non-empty fields
        "projects": [{"project": "DEMO", "roles": ["publisher"], "topics": ["alerts"],
                      "subscriptions": []}],
        "email": "bob@example.org", "service_roles": ["admin_viewer"],
    }
    assert json.loads(user.to_json()) == user.to_dict()


def test_user_repr_hides_the_token():
    user = AmsUser.load_from_dict({**ALICE, "token": TOKEN})
    text = repr(user)
    assert TOKEN not in text and "<hidden>" in text and "alice" in text
    assert TOKEN not in str(user)
    assert "<hidden>" not in repr(AmsUser(name="x"))


def test_user_page():
    page = AmsUserPage.load_from_dict({"users": [ALICE, CAROL], "nextPageToken": "NEXT",
                                       "totalSize": 7})
    assert [u.name for u in page.users] == ["alice", "carol"]
    assert page.next_page_token == "NEXT" and page.total_size == 7
    empty = AmsUserPage.load_from_dict({})
    assert empty.users == [] and empty.next_page_token == "" and empty.total_size == 0
