"""Subscriptions: pull, acknowledge, offsets and push configuration (spec 5, 12)."""

from __future__ import annotations

import threading
import time

import pytest
from ams_testkit import Ams, FakeClock, error_of
from starlette.testclient import TestClient

from pymod.emulator.api import subscriptions as subscriptions_module
from pymod.emulator.app import create_app
from pymod.emulator.store import Store


@pytest.fixture
def setup(ams: Ams) -> Ams:
    ams.topic()
    ams.sub()
    return ams


def offsets(ams: Ams, sub: str = "alerts-sub") -> dict[str, int]:
    return dict(ams.call("GET", f"/projects/DEMO/subscriptions/{sub}:offsets").json())


def pulled_ids(ams: Ams, **kwargs: str) -> list[str]:
    reply = ams.pull(**kwargs)
    assert reply.status_code == 200, reply.text
    return [m["message"]["messageId"] for m in reply.json()["receivedMessages"]]


def test_new_subscription_starts_at_topic_end(ams: Ams) -> None:
    ams.topic()
    ams.publish("YQ==", "Yg==")
    ams.sub()
    assert offsets(ams) == {"max": 2, "min": 0, "current": 2}
    assert ams.pull().content == b'{\n   "receivedMessages": []\n}'
    ams.publish("Yw==")
    assert pulled_ids(ams) == ["2"]


def test_pull_message_layout(setup: Ams) -> None:
    setup.publish("ZGF0YQ==", attributes={"z": "1", "a": "<&>"})
    message = setup.pull().json()["receivedMessages"][0]
    assert message["ackId"] == "projects/DEMO/subscriptions/alerts-sub:0"
    assert list(message["message"]) == ["messageId", "attributes", "data", "publishTime"]
    assert list(message["message"]["attributes"]) == ["a", "z"]
    assert message["message"]["publishTime"] == "2024-05-02T09:41:07.25Z"
    assert b'"a": "\\u003c\\u0026\\u003e"' in setup.pull().content


def test_pull_options_must_be_strings(setup: Ams) -> None:
    for raw in (b'{"maxMessages": 10}', b'{"returnImmediately": true}', b"", b"[1]"):
        reply = setup.call("POST", "/projects/DEMO/subscriptions/alerts-sub:pull", raw=raw)
        assert error_of(reply) == (400, "INVALID_ARGUMENT",
                                   "Invalid Pull Parameters Arguments"), raw
    reply = setup.call("POST", "/projects/DEMO/subscriptions/alerts-sub:pull", raw=b"{}")
    assert reply.status_code == 200


@pytest.mark.parametrize("max_messages", ["0", "-3", "abc", "", "99999999999999999999"])
def test_invalid_max_messages_means_one(setup: Ams, max_messages: str) -> None:
    setup.publish("YQ==", "Yg==", "Yw==")
    assert pulled_ids(setup, max_messages=max_messages) == ["0"]


def test_cumulative_ack_and_redelivery(setup: Ams) -> None:
    setup.publish("YQ==", "Yg==", "Yw==")
    assert pulled_ids(setup) == ["0", "1", "2"]
    assert pulled_ids(setup) == ["0", "1", "2"]  # not hidden: pulled again
    reply = setup.ack(1)
    assert (reply.status_code, reply.content) == (200, b"{}")
    assert offsets(setup)["current"] == 2
    assert pulled_ids(setup) == ["2"]
    assert setup.ack(0, 2).status_code == 200  # lower ids are ignored
    assert pulled_ids(setup) == []


def test_ack_errors(setup: Ams) -> None:
    setup.publish("YQ==", "Yg==", "Yw==")
    assert error_of(setup.ack(0)) == (500, "INTERNAL_SERVER_ERROR", "no ack pending")
    pulled_ids(setup, max_messages="2")
    assert error_of(setup.ack(2)) == (500, "INTERNAL_SERVER_ERROR", "wrong ack")
    assert setup.ack(0).status_code == 200
    assert error_of(setup.ack(0)) == (500, "INTERNAL_SERVER_ERROR", "no ack pending")
    pulled_ids(setup)
    assert error_of(setup.ack(0))[2] == "wrong ack"  # from an older window
    path = "/projects/DEMO/subscriptions/alerts-sub:acknowledge"
    for ids in ([], ["projects/DEMO/subscriptions/other:1"], ["alerts-sub:1"],
                ["projects/DEMO/subscriptions/alerts-sub:x"]):
        reply = setup.call("POST", path, body={"ackIds": ids})
        assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid ack id"), ids
    for raw in (b"", b'{"ackIds": "x"}', b'{"ackIds": [1]}'):
        reply = setup.call("POST", path, raw=raw)
        assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid ack parameter"), raw
    reply = setup.call("POST", "/projects/DEMO/subscriptions/nope:acknowledge", body={})
    assert error_of(reply)[2] == "Subscription doesn't exist"


def test_empty_pull_quirk(setup: Ams) -> None:
    assert pulled_ids(setup) == []
    assert error_of(setup.ack(0))[2] == "no ack pending"  # offset 0: window is 0
    setup.publish("YQ==")
    pulled_ids(setup)
    setup.ack(0)
    assert pulled_ids(setup) == []
    assert error_of(setup.ack(0))[2] == "wrong ack"


def test_ack_deadline_in_whole_seconds(setup: Ams, clock: FakeClock) -> None:
    setup.publish("YQ==")
    pulled_ids(setup)
    clock.advance(10.0)
    assert setup.ack(0).status_code == 200  # exactly at the deadline still succeeds
    setup.publish("Yg==")
    pulled_ids(setup)
    clock.advance(11.0)
    assert error_of(setup.ack(1)) == (408, "TIMEOUT", "ack timeout")
    assert offsets(setup)["current"] == 1  # nothing changed
    assert pulled_ids(setup) == ["1"]  # pulling again restarts the clock
    assert setup.ack(1).status_code == 200


def test_modify_ack_deadline(setup: Ams, clock: FakeClock) -> None:
    path = "/projects/DEMO/subscriptions/alerts-sub:modifyAckDeadline"
    message = "Invalid ackDeadlineSeconds(needs value between 0 and 600) Arguments"
    for raw in (b'{"ackDeadlineSeconds": 601}', b'{"ackDeadlineSeconds": -1}',
                b'{"ackDeadlineSeconds": "5"}', b'{"ackDeadlineSeconds": 1.5}', b"x"):
        assert error_of(setup.call("POST", path, raw=raw)) == (400, "INVALID_ARGUMENT", message)
    assert setup.call("POST", path, body={"ackDeadlineSeconds": 0}).status_code == 200
    setup.publish("YQ==")
    pulled_ids(setup)
    clock.advance(1.0)
    assert error_of(setup.ack(0))[0] == 408


def test_modify_offset(setup: Ams) -> None:
    setup.publish("YQ==", "Yg==", "Yw==")
    path = "/projects/DEMO/subscriptions/alerts-sub:modifyOffset"
    assert error_of(setup.call("POST", path, body={"offset": 4})) == (
        400, "INVALID_ARGUMENT", "Offset out of bounds")
    # the real server answers 400 and still stores it (its handler lacks a return)
    assert offsets(setup) == {"max": 3, "min": 0, "current": 4}
    setup.call("POST", path, body={"offset": -2})
    assert offsets(setup) == {"max": 3, "min": 0, "current": 0}  # below min: reset to min
    assert error_of(setup.call("POST", path, body={"offset": "1"}))[2] == (
        "Invalid Offset Arguments")
    reply = setup.call("POST", path, body={"offset": 1})
    assert (reply.status_code, reply.content) == (200, b"")
    assert pulled_ids(setup) == ["1", "2"]
    assert setup.call("POST", path, body={"offset": 3}).status_code == 200
    assert pulled_ids(setup) == []
    setup.call("POST", path, body={"offset": 0})
    assert error_of(setup.ack(1))[2] == "no ack pending"  # the window was cleared
    assert pulled_ids(setup, max_messages="1") == ["0"]


def test_time_to_offset(setup: Ams, clock: FakeClock) -> None:
    setup.publish("YQ==")  # 09:41:07.250
    clock.advance(1.0)
    setup.publish("Yg==")  # 09:41:08.250
    path = "/projects/DEMO/subscriptions/alerts-sub:timeToOffset"
    reply = setup.call("GET", path, params={"time": "2024-05-02T09:41:07.251Z"})
    assert reply.content == b'{"offset":1}'
    reply = setup.call("GET", path, params={"time": "2024-05-02T9:41:07.250Z"})
    assert reply.json() == {"offset": 0}
    reply = setup.call("GET", path, params={"time": "2024-05-02T09:41:08.251Z"})
    assert error_of(reply) == (
        409, "CONFLICT", "Timestamp is out of bounds for the subscription's topic/partition")
    for bad in ("2024-05-02T09:41:07Z", "2024-05-02T09:41:07.25Z", "2024-05-02 09:41:07.250Z",
                "2024-05-02T09:41:07.250+00:00", "2024-13-02T09:41:07.250Z", ""):
        reply = setup.call("GET", path, params={"time": bad})
        assert error_of(reply) == (400, "INVALID_ARGUMENT",
                                   "Time is not in valid Zulu format."), bad
    reply = setup.call("GET", "/projects/DEMO/subscriptions/nope:timeToOffset",
                       params={"time": "bad"})
    assert error_of(reply)[0] == 404


def test_consumer_acl_and_listing(setup: Ams) -> None:
    carol = setup.user("carol", ["consumer"])
    setup.sub("other")
    assert error_of(setup.pull(token=carol))[0] == 403
    assert setup.call("GET", "/projects/DEMO/subscriptions", token=carol).json()[
        "totalSize"] == 0
    setup.call("POST", "/projects/DEMO/subscriptions/alerts-sub:modifyAcl",
               body={"authorized_users": ["carol"]})
    assert setup.pull(token=carol).status_code == 200
    assert setup.ack(0, token=carol).status_code in (200, 500)  # no ACL check on acknowledge
    listing = setup.call("GET", "/projects/DEMO/subscriptions", token=carol).json()
    assert [s["name"] for s in listing["subscriptions"]] == [
        "/projects/DEMO/subscriptions/alerts-sub"]
    assert setup.call("GET", "/projects/DEMO/subscriptions").json()["totalSize"] == 2
    user = setup.call("GET", "/users/carol").json()
    assert user["projects"][0]["subscriptions"] == ["alerts-sub"]


def test_topic_deletion_keeps_subscriptions(setup: Ams) -> None:
    setup.call("DELETE", "/projects/DEMO/topics/alerts")
    assert setup.call("GET", "/projects/DEMO/subscriptions/alerts-sub").status_code == 200
    assert error_of(setup.pull()) == (409, "CONFLICT", "Subscription's topic doesn't exist")
    setup.topic()
    assert setup.publish("YQ==") == ["0"]
    assert pulled_ids(setup) == ["0"]


def test_subscription_create_rules(ams: Ams) -> None:
    ams.topic()
    path = "/projects/DEMO/subscriptions/s"
    for topic in ("alerts", "/projects/DEMO/topics/alerts", "x/DEMO/y/alerts"):
        reply = ams.call("PUT", path, body={"topic": topic})
        assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid Topic name"), topic
    assert error_of(ams.call("PUT", path, body={"topic": 5}))[2] == (
        "Invalid Subscription Arguments")
    assert error_of(ams.call("PUT", path, body={"topic": "projects/DEMO/topics/x"}))[2] == (
        "Topic doesn't exist")
    created = ams.call("PUT", path, body={"topic": "projects/DEMO/topics/alerts",
                                          "ackDeadlineSeconds": 900}).json()
    assert created["ackDeadlineSeconds"] == 900
    assert error_of(ams.call("PUT", path, body={"topic": "projects/DEMO/topics/alerts"})) == (
        409, "ALREADY_EXISTS", "Subscription already exists")


def test_long_poll_waits_for_new_messages(setup: Ams) -> None:
    setup.publish("YQ==")
    with TestClient(setup.client.app) as client:
        waiting = Ams(client, setup.store)
        result: dict[str, list[str]] = {}

        def pull() -> None:
            result["ids"] = pulled_ids(waiting, max_messages="3", immediately="false")

        worker = threading.Thread(target=pull)
        worker.start()
        time.sleep(0.2)
        assert worker.is_alive()
        waiting.publish("Yg==")
        time.sleep(0.1)
        assert worker.is_alive()
        waiting.publish("Yw==", "ZA==")
        worker.join(5)
    assert result["ids"] == ["0", "1", "2"]


def test_long_poll_gives_up_after_the_cap(setup: Ams, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriptions_module, "PULL_WAIT_SECONDS", 0.2)
    setup.publish("YQ==")
    started = time.monotonic()
    assert pulled_ids(setup, max_messages="5", immediately="false") == ["0"]
    assert 0.15 < time.monotonic() - started < 3
    started = time.monotonic()
    assert pulled_ids(setup, max_messages="5") == ["0"]  # returnImmediately: no wait
    setup.ack(0)
    assert pulled_ids(setup, max_messages="5", immediately="false") == []  # nothing: at once
    assert time.monotonic() - started < 0.15


def test_unescaped_attributes_make_pull_fail(setup: Ams) -> None:
    setup.publish("YQ==", attributes={"k": 'say "hi"'})
    assert error_of(setup.pull()) == (
        500, "INTERNAL_SERVER_ERROR",
        "Message retrieved from broker network has invalid JSON Structure")


def test_subscription_metrics(setup: Ams) -> None:
    setup.publish("YWJj")
    pulled_ids(setup)
    pulled_ids(setup)
    metrics = setup.call("GET", "/projects/DEMO/subscriptions/alerts-sub:metrics").json()
    values = [m["timeseries"][0]["value"] for m in metrics["metrics"]]
    assert [m["metric"] for m in metrics["metrics"]] == [
        "subscription.number_of_messages", "subscription.number_of_bytes",
        "subscription.consumption_rate"]
    assert values[:2] == [2, 8]


def test_delete_subscription(setup: Ams) -> None:
    reply = setup.call("DELETE", "/projects/DEMO/subscriptions/alerts-sub")
    assert (reply.status_code, reply.content) == (200, b"")
    assert setup.call("DELETE", "/projects/DEMO/subscriptions/alerts-sub").status_code == 404


def test_publish_pull_ack_10000_messages_is_fast(setup: Ams) -> None:
    started = time.monotonic()
    for batch in range(100):
        setup.call("POST", "/projects/DEMO/topics/alerts:publish",
                   body={"messages": [{"data": f"{batch}-{i}"} for i in range(100)]})
    total = 0
    while True:
        received = setup.pull(max_messages="100").json()["receivedMessages"]
        if not received:
            break
        total += len(received)
        assert setup.call("POST", "/projects/DEMO/subscriptions/alerts-sub:acknowledge",
                          body={"ackIds": [received[-1]["ackId"]]}).status_code == 200
    assert total == 10_000
    assert time.monotonic() - started < 15


def test_push_subscription_rules(ams: Ams) -> None:
    ams.topic()
    created = ams.sub("push", pushConfig={"type": "http_endpoint",
                                          "pushEndpoint": "https://receiver.example.org/ams"})
    push = created["pushConfig"]
    assert push["maxMessages"] == 1
    assert push["authorizationHeader"]["type"] == "autogen"
    assert len(push["authorizationHeader"]["value"]) == 64
    assert push["retryPolicy"] == {"type": "linear", "period": 3000}
    assert len(push["verificationHash"]) == 64 and push["verified"] is False
    path = "/projects/DEMO/subscriptions/push2"
    cases = [
        ({"type": "http_endpoint", "pushEndpoint": "http://x.org"},
         "Push endpoint should be addressed by a valid https url"),
        ({"type": "http_endpoint", "pushEndpoint": "https://x.org",
          "authorizationHeader": {"type": "basic"}},
         "Authorization header type can only be of 'autogen' or 'disabled' type"),
        ({"type": "mattermost"}, "Field mattermostUrl cannot be empty"),
        ({"pushEndpoint": "https://x.org"},
         "Push configuration type can only be of 'http_endpoint' or 'mattermost'"),
        ({"type": "mattermost", "mattermostUrl": "https://mm", "retryPolicy": {"type": "x"}},
         "Retry policy can only be of 'linear' or 'slowstart' type"),
    ]
    for config, message in cases:
        reply = ams.call("PUT", path, body={"topic": "projects/DEMO/topics/alerts",
                                            "pushConfig": config})
        assert error_of(reply) == (400, "INVALID_ARGUMENT", message), config
    mattermost = ams.sub("mm", pushConfig={"type": "mattermost", "mattermostUrl": "https://mm",
                                           "retryPolicy": {"type": "slowstart", "period": 5}})
    assert mattermost["pushConfig"]["verified"] is True
    assert mattermost["pushConfig"]["retryPolicy"] == {"type": "slowstart"}
    assert [s.name for s in ams.store.active_push_subscriptions()] == ["mm"]
    alice = ams.user("alice", ["project_admin"])
    assert error_of(ams.pull("mm", token=alice)) == (
        403, "FORBIDDEN", "Access to this resource is forbidden")
    assert ams.pull("mm").status_code == 200  # service_admin may pull
    worker = ams.store.token_for_user("ams-push-worker")
    assert worker is not None
    assert ams.pull("mm", token=worker).status_code == 200


def test_modify_push_config(ams: Ams) -> None:
    ams.topic()
    created = ams.sub("push", pushConfig={"type": "http_endpoint",
                                          "pushEndpoint": "https://a.example.org/x",
                                          "authorizationHeader": {"type": "disabled"}})
    path = "/projects/DEMO/subscriptions/push:modifyPushConfig"
    config = {"type": "http_endpoint", "pushEndpoint": "https://a.example.org/x",
              "maxMessages": 5}
    assert ams.call("POST", path, body={"pushConfig": config}).content == b""
    shown = ams.call("GET", "/projects/DEMO/subscriptions/push").json()["pushConfig"]
    assert shown["verificationHash"] == created["pushConfig"]["verificationHash"]
    assert shown["authorizationHeader"] == {"type": "disabled"}
    assert shown["maxMessages"] == 5
    config["pushEndpoint"] = "https://b.example.org/x"
    ams.call("POST", path, body={"pushConfig": config})
    shown = ams.call("GET", "/projects/DEMO/subscriptions/push").json()["pushConfig"]
    assert shown["verificationHash"] != created["pushConfig"]["verificationHash"]
    assert ams.call("POST", path, body={"pushConfig": {}}).status_code == 200
    shown = ams.call("GET", "/projects/DEMO/subscriptions/push").json()["pushConfig"]
    assert shown["type"] == "" and shown["maxMessages"] == 0
    assert error_of(ams.call("POST", path, raw=b"nope"))[2] == "Invalid Subscription Arguments"


def test_push_disabled(store: Store) -> None:
    ams = Ams(TestClient(create_app(store, push_enabled=False)), store)
    ams.topic()
    reply = ams.call("PUT", "/projects/DEMO/subscriptions/p", body={
        "topic": "projects/DEMO/topics/alerts",
        "pushConfig": {"type": "mattermost", "mattermostUrl": "https://mm"}})
    assert error_of(reply) == (409, "CONFLICT", "Push functionality is currently disabled")
    ams.sub("s", pushConfig={"type": "", "maxMessages": 0})  # all-zero config = pull
    reply = ams.call("POST", "/projects/DEMO/subscriptions/s:verifyPushEndpoint")
    assert error_of(reply)[1] == "CONFLICT"
