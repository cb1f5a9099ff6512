"""Topics: create/show/list/delete, pagination, publish and ACLs (spec 1.9, 4)."""

from __future__ import annotations

import base64

from ams_testkit import Ams, error_of
from starlette.testclient import TestClient

from pymod.emulator.app import create_app
from pymod.emulator.store import Store


def test_topic_lifecycle_and_exact_bytes(ams: Ams) -> None:
    reply = ams.call("PUT", "/projects/DEMO/topics/alerts")
    assert reply.content == (b'{\n   "name": "/projects/DEMO/topics/alerts",\n'
                             b'   "created_on": "2024-05-02T09:41:07Z"\n}')
    assert error_of(ams.call("PUT", "/projects/DEMO/topics/alerts")) == (
        409, "ALREADY_EXISTS", "Topic already exists")
    assert ams.call("GET", "/projects/DEMO/topics/alerts").json()["name"] == (
        "/projects/DEMO/topics/alerts")
    reply = ams.call("DELETE", "/projects/DEMO/topics/alerts")
    assert (reply.status_code, reply.content) == (200, b"")
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    reply = ams.call("GET", "/projects/DEMO/topics/alerts")
    assert reply.content == (b'{\n   "error": {\n      "code": 404,\n      "message": "Topic '
                             b'doesn\'t exist",\n      "status": "NOT_FOUND"\n   }\n}')
    assert reply.headers["content-type"] == "application/json; charset=utf-8"


def test_empty_topic_list_bytes(ams: Ams) -> None:
    assert ams.call("GET", "/projects/DEMO/topics").content == (
        b'{\n   "topics": [],\n   "nextPageToken": "",\n   "totalSize": 0\n}')


def test_create_body_rules(ams: Ams) -> None:
    reply = ams.call("PUT", "/projects/DEMO/topics/a", raw=b'{"schema": 5}')
    assert error_of(reply) == (400, "BAD_REQUEST", "Invalid Request Body")
    reply = ams.call("PUT", "/projects/DEMO/topics/a", body={"schema": "reading"})
    assert error_of(reply) == (400, "INVALID_ARGUMENT", "wrong schema name declaration")
    reply = ams.call("PUT", "/projects/DEMO/topics/a",
                     body={"schema": "projects/DEMO/schemas/none"})
    assert error_of(reply) == (404, "NOT_FOUND", "Schema doesn't exist")
    assert ams.call("PUT", "/projects/DEMO/topics/a", body={"schema": ""}).status_code == 200


def test_pagination_newest_first_with_opaque_tokens(ams: Ams) -> None:
    for name in ("t1", "t2", "t3"):
        ams.topic(name)
    first = ams.call("GET", "/projects/DEMO/topics", params={"pageSize": "2"}).json()
    assert [t["name"].rsplit("/", 1)[1] for t in first["topics"]] == ["t3", "t2"]
    assert first["totalSize"] == 3
    token = first["nextPageToken"]
    assert len(base64.b64decode(token)) == 24
    second = ams.call("GET", "/projects/DEMO/topics",
                      params={"pageSize": "2", "pageToken": token}).json()
    assert [t["name"].rsplit("/", 1)[1] for t in second["topics"]] == ["t1"]
    assert second["nextPageToken"] == ""
    rest = ams.call("GET", "/projects/DEMO/topics", params={"pageToken": token}).json()
    assert len(rest["topics"]) == 1
    reply = ams.call("GET", "/projects/DEMO/topics", params={"pageSize": "x"})
    assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid page size")
    for bad in ("%%%", base64.b64encode(b"short").decode()):
        reply = ams.call("GET", "/projects/DEMO/topics", params={"pageToken": bad})
        assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid page token")


def test_publish_assigns_consecutive_ids(ams: Ams) -> None:
    ams.topic()
    assert ams.publish("YQ==", "Yg==") == ["0", "1"]
    assert ams.publish("Yw==") == ["2"]
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:publish", body={"messages": []})
    assert reply.content == b'{\n   "messageIds": []\n}'


def test_publish_rejects_malformed_bodies(ams: Ams) -> None:
    ams.topic()
    for raw in (b"", b"{", b'{"messages": [{"data": 1}]}',
                b'{"messages": [{"data": "a", "attributes": ["x"]}]}',
                b'{"messages": [{"data": "a", "attributes": {"k": 1}}]}',
                b'{"messages": {}}', b"[]"):
        reply = ams.call("POST", "/projects/DEMO/topics/alerts:publish", raw=raw)
        assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid Message Arguments"), raw
    reply = ams.call("POST", "/projects/DEMO/topics/nope:publish", raw=b"")
    assert error_of(reply)[2] == "Topic doesn't exist"


def test_publish_keys_are_case_insensitive(ams: Ams) -> None:
    ams.topic()
    ams.sub()
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:publish",
                     body={"Messages": [{"DATA": "eA==", "unknown": 3}]})
    assert reply.json() == {"messageIds": ["0"]}
    assert ams.pull().json()["receivedMessages"][0]["message"]["data"] == "eA=="


def test_size_limit_stores_earlier_messages(store: Store) -> None:
    ams = Ams(TestClient(create_app(store, max_message_bytes=200)), store)
    ams.topic()
    big = "A" * 300
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:publish",
                     body={"messages": [{"data": "b2s="}, {"data": big}, {"data": "b2s="}]})
    assert error_of(reply) == (413, "INVALID_ARGUMENT", "Message size is too large")
    assert ams.call("GET", "/projects/DEMO/topics/alerts:metrics").json()[
        "metrics"][1]["timeseries"][0]["value"] == 1


def test_publisher_acl_and_listing_filter(ams: Ams) -> None:
    ams.topic("alerts")
    ams.topic("other")
    bob = ams.user("bob", ["publisher"])
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:publish", token=bob,
                     body={"messages": [{"data": "eA=="}]})
    assert error_of(reply) == (403, "FORBIDDEN", "Access to this resource is forbidden")
    assert ams.call("GET", "/projects/DEMO/topics", token=bob).json()["totalSize"] == 0
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:modifyAcl",
                     body={"authorized_users": ["bob"]})
    assert (reply.status_code, reply.content) == (200, b"")
    assert ams.publish("eA==", token=bob) == ["0"]
    listing = ams.call("GET", "/projects/DEMO/topics", token=bob).json()
    assert [t["name"] for t in listing["topics"]] == ["/projects/DEMO/topics/alerts"]
    assert listing["totalSize"] == 1
    assert ams.call("GET", "/projects/DEMO/topics/alerts:acl").content == (
        b'{\n   "authorized_users": [\n      "bob"\n   ]\n}')
    assert ams.call("GET", "/projects/DEMO/topics/other:metrics", token=bob).status_code == 403
    assert ams.call("GET", "/projects/DEMO/topics/alerts:metrics", token=bob).status_code == 200


def test_modify_acl_checks_users_and_topic(ams: Ams) -> None:
    ams.topic()
    ams.user("outsider")
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:modifyAcl",
                     body={"authorized_users": ["dave", "outsider", "dave"]})
    assert error_of(reply) == (404, "NOT_FOUND", "User(s): dave, outsider do not exist")
    reply = ams.call("POST", "/projects/DEMO/topics/alerts:modifyAcl", body={"users": []})
    assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid Topic ACL Arguments")
    # an unknown topic is 200 on the real server (its MongoDB update matches nothing)
    reply = ams.call("POST", "/projects/DEMO/topics/nope:modifyAcl",
                     body={"authorized_users": []})
    assert (reply.status_code, reply.content) == (200, b"")
    assert ams.call("GET", "/projects/DEMO/topics/nope:acl").status_code == 404
    reply = ams.call("GET", "/projects/DEMO/topics/alerts:acl")
    assert reply.json() == {"authorized_users": []}


def test_deleted_users_disappear_from_acls(ams: Ams) -> None:
    ams.topic()
    ams.user("bob", ["publisher"])
    ams.call("POST", "/projects/DEMO/topics/alerts:modifyAcl", body={"authorized_users": ["bob"]})
    assert ams.call("DELETE", "/users/bob").status_code == 200
    assert ams.call("GET", "/projects/DEMO/topics/alerts:acl").json()["authorized_users"] == []


def test_subscriptions_of_topic_is_compact(ams: Ams) -> None:
    ams.topic()
    assert ams.call("GET", "/projects/DEMO/topics/alerts/subscriptions").content == (
        b'{"subscriptions":[]}')
    ams.sub("s1")
    ams.sub("s2")
    assert ams.call("GET", "/projects/DEMO/topics/alerts/subscriptions").content == (
        b'{"subscriptions":["/projects/DEMO/subscriptions/s1","/projects/DEMO/subscriptions/s2"]}')
    assert ams.call("GET", "/projects/DEMO/topics/x/subscriptions").status_code == 404


def test_topic_metrics_shape(ams: Ams) -> None:
    ams.topic()
    ams.sub()
    ams.publish("YWJj", "ZA==")
    metrics = ams.call("GET", "/projects/DEMO/topics/alerts:metrics").json()["metrics"]
    assert [m["metric"] for m in metrics] == [
        "topic.number_of_subscriptions", "topic.number_of_messages", "topic.number_of_bytes",
        "topic.number_of_daily_messages", "topic.publishing_rate"]
    assert [m["timeseries"][0]["value"] for m in metrics[:3]] == [1, 2, 8]
    assert metrics[3]["timeseries"] == [{"timestamp": "2024-05-02", "value": 2}]
    assert metrics[4]["metric_type"] == "rate"
    assert metrics[4]["timeseries"][0] == {"timestamp": "2024-05-02T09:41:07Z", "value": 2}
    assert list(metrics[0]) == ["metric", "metric_type", "value_type", "resource_type",
                                "resource_name", "timeseries", "description"]
