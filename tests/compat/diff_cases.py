"""The table of differential cases: each call is made through both libraries.

A case lists the mocked replies (served in order), the call, and the public methods it exercises.
``differs`` names the entry of docs/migration.rst that explains a deliberate difference; such a
case asserts pymod's own behaviour with ``check`` instead of equality with the original.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence

from differential import Outcome, R, connection_error, err, html

P = "/projects/TEST"
TOPIC = {"name": f"{P}/topics/t1"}
TOPIC2 = {"name": f"{P}/topics/t2"}
PULL_CFG = {"pushEndpoint": "", "retryPolicy": {}}
SUB = {"name": f"{P}/subscriptions/s1", "topic": f"{P}/topics/t1", "pushConfig": PULL_CFG,
       "ackDeadlineSeconds": 10}
SUB2 = {"name": f"{P}/subscriptions/s2", "topic": f"{P}/topics/t2", "pushConfig": PULL_CFG,
        "ackDeadlineSeconds": 30}
PUSH_CFG = {"pushEndpoint": "https://push.example.org/in",
            "retryPolicy": {"type": "linear", "period": 300}}
PUSH_SUB = dict(SUB, pushConfig=PUSH_CFG)
USER = {
    "uuid": "u-1", "name": "bob", "token": "bobs-token", "email": "bob@example.org",
    "projects": [{"project": "TEST", "roles": ["consumer"], "topics": ["t1"],
                  "subscriptions": ["s1"]}],
    "service_roles": [], "first_name": "Bob", "last_name": "Builder", "organization": "ORG",
    "description": "a user", "created_on": "2020-01-01T00:00:00Z", "modified_on":
    "2021-01-01T00:00:00Z", "created_by": "admin",
}
USERS = {"users": [USER], "totalSize": 1, "nextPageToken": ""}
ACK0 = "projects/TEST/subscriptions/s1:0"
MSG = {"messageId": "0", "attributes": {"k": "v"}, "data": "aGk=",
       "publishTime": "2020-01-01T00:00:00.000000001Z"}
PULLED = {"receivedMessages": [{"ackId": ACK0, "message": MSG}]}
OFFSETS = {"max": 5, "min": 0, "current": 2}
PROJECT = {"name": "TEST", "created_on": "2020", "modified_on": "2020", "created_by": "admin",
           "description": "d"}
WHEN = datetime.datetime(2019, 9, 2, 13, 39, 11, 500000)
DAY = datetime.datetime(2019, 9, 2)
OK: R = R(200, json={})
EMPTY: R = R(200, body="")


@dataclass
class Case:
    id: str
    replies: Sequence[R]
    call: Callable[[Any, Any], Any]
    methods: Sequence[str]
    differs: Optional[str] = None  # a phrase of docs/migration.rst
    check: Optional[Callable[[Outcome, Outcome], None]] = None  # (original, pymod): pymod's
    # behaviour, for differs cases
    tags: List[str] = field(default_factory=list)


# ---- checks of pymod's side of a deliberate difference ----------------------------------------
def _is_or_derives(ours: object, orig: object) -> bool:
    """Whether ``ours`` is of the class of ``orig`` (by name: the libraries are separate)."""
    return type(orig).__name__ in [c.__name__ for c in type(ours).__mro__]


def _clean_text_error(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests == ours.requests
    assert _is_or_derives(ours.error, orig.error)  # the same class or a subclass of it
    assert orig.error.msg.split(": ", 1)[1].startswith("b'")  # type: ignore[union-attr]
    text = ours.error.msg.split(": ", 1)[1]  # type: ignore[union-attr]
    assert not text.startswith("b'") and "<" not in text and text
    assert ours.error.code == orig.error.code  # type: ignore[union-attr]


def _subclass_error(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests == ours.requests
    assert _is_or_derives(ours.error, orig.error)
    assert ours.error.code == orig.error.code  # type: ignore[union-attr]


def _json_500_not_balancer(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests == ours.requests
    assert type(orig.error).__name__ == "AmsBalancerException"
    assert type(ours.error).__name__ == "AmsServiceException"
    assert ours.error.msg == orig.error.msg  # type: ignore[union-attr]


def _capped_jittered_backoff(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests == ours.requests and orig.value is not None
    assert [s for s in orig.sleeps] == [1.0]  # 2 * 2**-1 after the 2nd attempt, none before
    assert len(ours.sleeps) == 2 and 0.75 * 2 <= ours.sleeps[0] <= 2
    assert 0.75 * 4 <= ours.sleeps[1] <= 4


def _typed_not_key_error(orig: Outcome, ours: Outcome) -> None:
    assert type(orig.error) is KeyError
    assert type(ours.error).__name__ == "AmsServiceException" and ours.error.code == 404  # type: ignore[union-attr]


def _token_is_assigned(orig: Outcome, ours: Outcome) -> None:
    assert orig.value[1] == "s3cr3t-token" and ours.value[1] == "other"


def _list_users_params(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests[0][1].endswith("/v1/users?details=True&pageSize=0&nextPageToken=")
    assert ours.requests[0][1].endswith("/v1/users?details=true")
    assert [u.name for u in ours.value.users] == [u.name for u in orig.value.users]


def _zulu_time(orig: Outcome, ours: Outcome) -> None:
    assert orig.requests[0][1].endswith("timeToOffset?time=2019-09-02%2000:00:00.000Z")
    assert ours.requests[0][1].endswith("timeToOffset?time=2019-09-02T00:00:00.000Z")


def _push_type_in_one_request(orig: Outcome, ours: Outcome) -> None:
    assert [r[0] for r in orig.requests] == ["GET", "PUT", "POST"]  # create, then modifyPushConfig
    assert [r[0] for r in ours.requests] == ["GET", "PUT"]
    config = ours.requests[1][2][1]["pushConfig"]
    assert config["type"] == "http_endpoint"
    assert config["pushEndpoint"] == PUSH_CFG["pushEndpoint"]


def _push_type(orig: Outcome, ours: Outcome) -> None:
    assert "type" not in orig.requests[0][2][1]["pushConfig"]
    assert ours.requests[0][2][1]["pushConfig"] == dict(PUSH_CFG, type="http_endpoint")


def _pushconfig_fetches(orig: Outcome, ours: Outcome) -> None:
    assert [r[0] for r in orig.requests] == ["GET", "POST"] and orig.value[1] == {}
    assert [r[0] for r in ours.requests] == ["GET", "POST", "GET"]
    assert ours.value[1]["name"] == SUB["name"]


def _non_json_200_raises(orig: Outcome, ours: Outcome) -> None:
    assert orig.error is None and orig.value == {"error": {"code": 200, "message": b"<html>ok</html>"}}
    # an AmsResponseException (pymod raises its subclass AmsReplyMismatchException)
    assert "AmsResponseException" in {c.__name__ for c in type(ours.error).__mro__}
    assert ours.error.code == 200  # type: ignore[union-attr]


TEXT_ERRORS = "Error bodies that are not JSON are shown as text"


def _user(lib: Any) -> Any:
    return lib.AmsUser(name="bob", firstname="Bob", lastname="Builder", email="bob@example.org",
                       organization="ORG", description="a user", service_roles=["service_admin"],
                       projects=[lib.AmsUserProject(project="TEST", roles=["consumer"])])


def _msg(lib: Any, **kw: Any) -> Any:
    return lib.AmsMessage(**kw)


def _seq(*steps: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Several calls; the outcome is the list of their results."""
    return lambda lib, ams: [step(lib, ams) for step in steps]


def _raises(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return ("raised", type(exc).__name__, str(exc))
    return "no exception"


A = "ArgoMessagingService."
T = "AmsTopic."
S = "AmsSubscription."
M = "AmsMessage."

CASES: List[Case] = [
    # ---- service ------------------------------------------------------------------------------
    Case("status", [R(json={"status": "ok"})], lambda lib, a: a.status(), [A + "status"]),
    Case("metrics", [R(json={"metrics": []})], lambda lib, a: a.metrics(), [A + "metrics"]),
    Case("version", [R(json={"build_time": "x", "version": "1.0"})], lambda lib, a: a.version(),
         [A + "version"]),
    Case("va_metrics", [R(json={"projects_metrics": {}})],
         lambda lib, a: a.va_metrics(projects=["A", "B"], start_date=DAY, end_date=WHEN),
         [A + "va_metrics"]),
    Case("usage_report", [R(json={"va_metrics": {}, "operational_metrics": {}})],
         lambda lib, a: a.usage_report(projects=["A"], start_date=DAY, end_date=WHEN),
         [A + "usage_report"]),
    # ---- topics -------------------------------------------------------------------------------
    Case("create_topic", [R(json=TOPIC)], lambda lib, a: a.create_topic("t1"), [A + "create_topic"]),
    Case("create_topic_retobj", [R(json=TOPIC)],
         lambda lib, a: (a.create_topic("t1", retobj=True), list(a.topics)), [A + "create_topic"]),
    Case("create_topic_409", [err(409, "Topic already exists", "ALREADY_EXISTS")],
         lambda lib, a: a.create_topic("t1"), [A + "create_topic"]),
    Case("get_topic", [R(json=TOPIC)], lambda lib, a: a.get_topic("t1"), [A + "get_topic"]),
    Case("get_topic_retobj", [R(json=TOPIC)],
         lambda lib, a: (a.get_topic("t1", retobj=True), list(a.topics)), [A + "get_topic"]),
    Case("get_topic_404", [err(404, "Topic doesn't exist", "NOT_FOUND")],
         lambda lib, a: a.get_topic("nope"), [A + "get_topic"]),
    Case("get_topic_401", [err(401, "Unauthorized", "UNAUTHORIZED")],
         lambda lib, a: a.get_topic("t1"), [A + "get_topic"]),
    Case("get_topic_403", [err(403, "Access to this resource is forbidden", "FORBIDDEN")],
         lambda lib, a: a.get_topic("t1"), [A + "get_topic"]),
    Case("has_topic_yes", [R(json=TOPIC)], lambda lib, a: a.has_topic("t1"), [A + "has_topic"]),
    Case("has_topic_no", [err(404, "Topic doesn't exist", "NOT_FOUND")],
         lambda lib, a: a.has_topic("t1"), [A + "has_topic"]),
    Case("has_topic_403", [err(403, "Access to this resource is forbidden", "FORBIDDEN")],
         lambda lib, a: a.has_topic("t1"), [A + "has_topic"]),
    Case("list_topics", [R(json={"topics": [TOPIC, TOPIC2]})],
         lambda lib, a: (a.list_topics(), list(a.topics)), [A + "list_topics"]),
    Case("iter_topics", [R(json={"topics": [TOPIC, TOPIC2]})],
         lambda lib, a: list(a.iter_topics()), [A + "iter_topics"]),
    Case("delete_topic", [R(json=TOPIC), EMPTY],
         lambda lib, a: (a.get_topic("t1"), a.delete_topic("t1"), list(a.topics)),
         [A + "delete_topic"]),
    Case("topic_existing", [R(json=TOPIC), R(json=TOPIC)], lambda lib, a: a.topic("t1"),
         [A + "topic"]),
    Case("topic_new", [err(404, "Topic doesn't exist", "NOT_FOUND"), R(json=TOPIC)],
         lambda lib, a: a.topic("t1"), [A + "topic"]),
    Case("publish_message", [R(json={"messageIds": ["1"]})],
         lambda lib, a: a.publish("t1", _msg(lib, data="hello", attributes={"k": "v"})),
         [A + "publish"]),
    Case("publish_dict_list", [R(json={"messageIds": ["1", "2"]})],
         lambda lib, a: a.publish("t1", [{"data": "aGk="}, {"attributes": {"a": "b"}, "data": "eA=="}]),
         [A + "publish"]),
    Case("publish_messages_no_attributes", [R(json={"messageIds": ["1", "2"]})],
         lambda lib, a: a.publish("t1", [_msg(lib, data="x"), _msg(lib, data=b"\x00\xff")]),
         [A + "publish"]),
    Case("publish_413", [err(413, "Message size too large", "INVALID_ARGUMENT")],
         lambda lib, a: a.publish("t1", _msg(lib, data="x")), [A + "publish"]),
    Case("publish_retry_503", [html(503, "503 Service Unavailable"), R(json={"messageIds": ["1"]})],
         lambda lib, a: a.publish("t1", _msg(lib, data="x"), retry=2, retrysleep=1),
         [A + "publish"], tags=["retry"]),
    Case("publish_retry_gives_up", [html(502, "502 Bad Gateway")] * 3,
         lambda lib, a: a.publish("t1", _msg(lib, data="x"), retry=2, retrysleep=1),
         [A + "publish"], TEXT_ERRORS, _clean_text_error, tags=["retry"]),
    Case("publish_retry_connection", [connection_error(), R(json={"messageIds": ["1"]})],
         lambda lib, a: a.publish("t1", _msg(lib, data="x"), retry=1, retrysleep=1),
         [A + "publish"], tags=["retry"]),
    Case("publish_504", [html(504, "504 Gateway Time-out")],
         lambda lib, a: a.publish("t1", _msg(lib, data="x")), [A + "publish"],
         "AmsBalancerTimeoutException, a subclass of both", _subclass_error),
    Case("publish_408_json", [err(408, "Request timeout", "TIMEOUT")],
         lambda lib, a: a.publish("t1", _msg(lib, data="x")), [A + "publish"]),
    Case("getacl_topic", [R(json=TOPIC), R(json={"authorized_users": ["bob"]})],
         lambda lib, a: (a.getacl_topic("t1"), a.topics[TOPIC["name"]].acls), [A + "getacl_topic"]),
    Case("modifyacl_topic", [R(json=TOPIC), EMPTY],
         lambda lib, a: (a.modifyacl_topic("t1", ["bob"]), a.topics[TOPIC["name"]].acls),
         [A + "modifyacl_topic"]),
    # ---- AmsTopic -----------------------------------------------------------------------------
    Case("topic_object_methods",
         [R(json=TOPIC), R(json=TOPIC), R(json={"messageIds": ["1"]}), R(json=TOPIC),
          R(json={"authorized_users": []}), R(json=TOPIC), EMPTY,
          R(json=SUB), R(json=SUB),
          R(json={"subscriptions": [SUB, SUB2]}), EMPTY],
         lambda lib, a: (lambda t: [t, t.publish([_msg(lib, data="x")]), t.acl(), t.acl(["bob"]),
                                  t.subscription("s1"), list(t.iter_subs()), t.delete()])(
             a.topic("t1")),
         [T + "publish", T + "acl", T + "subscription", T + "iter_subs", T + "delete"]),
    Case("topic_subscription_new",
         [R(json=TOPIC), R(json=TOPIC), err(404, "Subscription doesn't exist", "NOT_FOUND"),
          R(json=TOPIC), R(json=SUB)],
         lambda lib, a: a.topic("t1").subscription("s1", ackdeadline=10),
         [T + "subscription"]),
    # ---- subscriptions ------------------------------------------------------------------------
    Case("create_sub", [R(json=TOPIC), R(json=SUB)],
         lambda lib, a: (a.create_sub("s1", "t1"), list(a.subs)), [A + "create_sub"]),
    Case("create_sub_retobj", [R(json=TOPIC), R(json=SUB)],
         lambda lib, a: a.create_sub("s1", "t1", ackdeadline=10, retobj=True), [A + "create_sub"]),
    Case("create_sub_unknown_topic", [err(404, "Topic doesn't exist", "NOT_FOUND")],
         lambda lib, a: a.create_sub("s1", "nope"), [A + "create_sub"]),
    Case("get_sub", [R(json=SUB)], lambda lib, a: (a.get_sub("s1"), list(a.subs), list(a.topics)),
         [A + "get_sub"]),
    Case("get_sub_retobj_push", [R(json=PUSH_SUB)], lambda lib, a: a.get_sub("s1", retobj=True),
         [A + "get_sub"]),
    Case("has_sub", [R(json=SUB), err(404, "Subscription doesn't exist", "NOT_FOUND")],
         lambda lib, a: (a.has_sub("s1"), a.has_sub("s2")), [A + "has_sub"]),
    Case("list_subs", [R(json={"subscriptions": [SUB, SUB2]})],
         lambda lib, a: (a.list_subs(), list(a.subs), list(a.topics)), [A + "list_subs"]),
    Case("iter_subs", [R(json={"subscriptions": [SUB, SUB2]}), R(json={"subscriptions": [SUB, SUB2]})],
         lambda lib, a: (list(a.iter_subs()), list(a.iter_subs(topic="t2"))), [A + "iter_subs"]),
    Case("delete_sub", [R(json=SUB), EMPTY],
         lambda lib, a: (a.get_sub("s1"), a.delete_sub("s1"), list(a.subs)), [A + "delete_sub"]),
    Case("pull_sub", [R(json=PULLED)], lambda lib, a: (a.pull_sub("s1", num=3), a.pullopts),
         [A + "pull_sub"]),
    Case("pull_sub_return_immediately", [R(json={"receivedMessages": []})],
         lambda lib, a: a.pull_sub("s1", 10, return_immediately=True), [A + "pull_sub"]),
    Case("pull_sub_no_attributes",
         [R(json={"receivedMessages": [{"ackId": ACK0, "message": {"messageId": "0", "data": "aGk=",
                                                                 "publishTime": "t"}}]})],
         lambda lib, a: [(i, m.get_data(), m.get_msgid(), m.get_publishtime(), m.dict())
                       for i, m in a.pull_sub("s1")],
         [A + "pull_sub"]),
    Case("pull_sub_502", [html(502, "502 Bad Gateway")], lambda lib, a: a.pull_sub("s1"),
         [A + "pull_sub"], TEXT_ERRORS, _clean_text_error),
    Case("pull_sub_500_json", [err(500, "Internal error", "INTERNAL_SERVER_ERROR")],
         lambda lib, a: a.pull_sub("s1"), [A + "pull_sub"], "AMS's own JSON errors are not retried",
         _json_500_not_balancer),
    Case("pull_sub_retry_backoff", [html(503, "503 Service Unavailable")] * 2 + [R(json=PULLED)],
         lambda lib, a: a.pull_sub("s1", retry=3, retrybackoff=2), [A + "pull_sub"],
         "Retry with a cap and jitter", _capped_jittered_backoff, tags=["retry"]),
    Case("pull_sub_connection_error", [connection_error()], lambda lib, a: a.pull_sub("s1"),
         [A + "pull_sub"]),
    Case("ack_sub", [EMPTY], lambda lib, a: a.ack_sub("s1", [ACK0]), [A + "ack_sub"]),
    Case("ack_sub_short_id", [err(400, "Invalid ack id", "INVALID_ARGUMENT")],
         lambda lib, a: a.ack_sub("s1", ["1221"]), [A + "ack_sub"]),
    Case("ack_sub_408", [err(408, "ack timeout", "TIMEOUT")],
         lambda lib, a: a.ack_sub("s1", [ACK0]), [A + "ack_sub"]),
    Case("pullack_sub", [R(json=PULLED), EMPTY], lambda lib, a: a.pullack_sub("s1", 3),
         [A + "pullack_sub"]),
    Case("pullack_sub_empty", [R(json={"receivedMessages": []})],
         lambda lib, a: a.pullack_sub("s1"), [A + "pullack_sub"]),
    Case("pullopts", [], lambda lib, a: (a.get_pullopt("maxMessages"),
                                       a.set_pullopt("maxMessages", 5), a.get_pullopt("maxMessages"),
                                       a.pullopts),
         [A + "get_pullopt", A + "set_pullopt"]),
    Case("getoffsets_sub", [R(json=OFFSETS)] * 4,
         lambda lib, a: (a.getoffsets_sub("s1"), a.getoffsets_sub("s1", "max"),
                       a.getoffsets_sub("s1", "min"), a.getoffsets_sub("s1", "current")),
         [A + "getoffsets_sub"]),
    Case("getoffsets_sub_unknown_name", [R(json=OFFSETS)],
         lambda lib, a: a.getoffsets_sub("s1", "newest"), [A + "getoffsets_sub"]),
    Case("modifyoffset_sub_str", [EMPTY], lambda lib, a: a.modifyoffset_sub("s1", "3"),
         [A + "modifyoffset_sub"]),
    Case("set_pullopt_new_key", [R(json={"receivedMessages": []})],
         lambda lib, a: (a.set_pullopt("maxWait", 5), a.pullopts, a.pull_sub("s1")),
         [A + "set_pullopt"]),
    Case("modifyoffset_sub", [EMPTY], lambda lib, a: a.modifyoffset_sub("s1", 3),
         [A + "modifyoffset_sub"]),
    Case("modifyoffset_sub_400", [err(400, "Offset out of bounds", "INVALID_ARGUMENT")],
         lambda lib, a: a.modifyoffset_sub("s1", 300), [A + "modifyoffset_sub"]),
    Case("time_to_offset_sub", [R(json={"offset": 4})],
         lambda lib, a: a.time_to_offset_sub("s1", WHEN), [A + "time_to_offset_sub"]),
    Case("time_to_offset_sub_409", [err(409, "Timestamp is out of bounds", "CONFLICT")],
         lambda lib, a: a.time_to_offset_sub("s1", WHEN), [A + "time_to_offset_sub"]),
    Case("pushconfig_sub_clear", [R(json=SUB)], lambda lib, a: a.pushconfig_sub("s1"),
         [A + "pushconfig_sub"]),
    Case("getacl_sub", [R(json=SUB), R(json={"authorized_users": ["bob"]})],
         lambda lib, a: (a.getacl_sub("s1"), a.subs[SUB["name"]].acls), [A + "getacl_sub"]),
    Case("modifyacl_sub", [R(json=SUB), EMPTY],
         lambda lib, a: (a.modifyacl_sub("s1", ["bob"]), a.subs[SUB["name"]].acls),
         [A + "modifyacl_sub"]),
    # ---- AmsSubscription ----------------------------------------------------------------------
    Case("subscription_object_methods",
         [R(json=SUB), R(json=PULLED), EMPTY, R(json=PULLED), EMPTY, R(json=OFFSETS), EMPTY,
          R(json=OFFSETS), R(json={"offset": 1}), R(json=SUB), R(json={"authorized_users": []}),
          R(json=SUB), EMPTY, R(json=SUB), EMPTY],
         lambda lib, a: (lambda s: [s, s.pull(num=2), s.ack([ACK0]), s.pullack(), s.offsets(),
                                  s.offsets(move_to=3), s.time_to_offset(WHEN), s.acl(),
                                  s.acl(["bob"]), s.pushconfig(), s.delete(), list(a.subs)])(
             a.get_sub("s1", retobj=True)),
         [S + "pull", S + "ack", S + "pullack", S + "offsets", S + "time_to_offset", S + "acl",
          S + "pushconfig", S + "delete"]),
    Case("subscription_pushconfig_empty_reply", [R(json=SUB), EMPTY, R(json=SUB)],
         lambda lib, a: (lambda s: [s, s.pushconfig()])(a.get_sub("s1", retobj=True)),
         [S + "pushconfig"], "returns the subscription as fetched", _pushconfig_fetches),
    # ---- users --------------------------------------------------------------------------------
    Case("create_user", [R(json=USER)], lambda lib, a: a.create_user(_user(lib)), [A + "create_user"]),
    Case("update_user", [R(json=USER)],
         lambda lib, a: a.update_user("bob", first_name="B", email="e@x", username="bobby",
                                    service_roles=[], projects=[]),
         [A + "update_user"]),
    Case("update_user_projects", [R(json=USER)],
         lambda lib, a: a.update_user("bob", description="d", organization="o", last_name="L",
                                    service_roles=["service_admin"],
                                    projects=[lib.AmsUserProject(project="TEST", roles=["publisher"])]),
         [A + "update_user"]),
    Case("get_user", [R(json=USER)], lambda lib, a: a.get_user("bob"), [A + "get_user"]),
    Case("get_user_404", [err(404, "User doesn't exist", "NOT_FOUND")],
         lambda lib, a: a.get_user("bob"), [A + "get_user"]),
    Case("get_user_by_token", [R(json=USER)], lambda lib, a: a.get_user_by_token("bobs-token"),
         [A + "get_user_by_token"]),
    Case("get_user_by_uuid", [R(json=USER)], lambda lib, a: a.get_user_by_uuid("u-1"),
         [A + "get_user_by_uuid"]),
    Case("get_user_profile", [R(json=USER)], lambda lib, a: a.get_user_profile(),
         [A + "get_user_profile"]),
    Case("delete_user", [EMPTY], lambda lib, a: a.delete_user("bob"), [A + "delete_user"]),
    Case("refresh_user_token", [R(json=USER)], lambda lib, a: a.refresh_user_token("bob"),
         [A + "refresh_user_token"]),
    # ---- projects -----------------------------------------------------------------------------
    Case("add_project_member", [R(json=USER)],
         lambda lib, a: a.add_project_member("bob", roles=["consumer"]), [A + "add_project_member"]),
    Case("add_project_member_other", [R(json=USER)],
         lambda lib, a: a.add_project_member("bob", project="OTHER"), [A + "add_project_member"]),
    Case("create_project_member", [R(json=USER)],
         lambda lib, a: a.create_project_member("bob", roles=["publisher"], email="b@x"),
         [A + "create_project_member"]),
    Case("get_project_member", [R(json=USER)], lambda lib, a: a.get_project_member("bob"),
         [A + "get_project_member"]),
    Case("remove_project_member", [EMPTY], lambda lib, a: a.remove_project_member("bob", "TEST"),
         [A + "remove_project_member"]),
    Case("create_project", [R(json=PROJECT)], lambda lib, a: a.create_project("NEW", "a project"),
         [A + "create_project"]),
    Case("update_project", [R(json=PROJECT)],
         lambda lib, a: a.update_project("TEST", description="d2", updated_name="TEST2"),
         [A + "update_project"]),
    Case("get_project", [R(json=PROJECT)], lambda lib, a: a.get_project("TEST"), [A + "get_project"]),
    Case("delete_project", [EMPTY], lambda lib, a: a.delete_project("TEST"), [A + "delete_project"]),
    # ---- other error replies ------------------------------------------------------------------
    Case("plain_text_400", [R(400, body="Bad Request")], lambda lib, a: a.get_sub("s1"),
         [A + "get_sub"], TEXT_ERRORS, _clean_text_error),
    Case("json_500_non_balancer", [err(500, "Internal error", "INTERNAL_SERVER_ERROR")],
         lambda lib, a: a.get_topic("t1"), [A + "get_topic"]),
    Case("html_502_non_balancer", [html(502, "502 Bad Gateway")], lambda lib, a: a.list_topics(),
         [A + "list_topics"], TEXT_ERRORS, _clean_text_error),
    Case("json_error_without_status", [R(404, json={"error": {"code": 404, "message": "gone"}})],
         lambda lib, a: a.get_project("TEST"), [A + "get_project"]),
    # ---- objects without the network ----------------------------------------------------------
    Case("message_forms", [],
         lambda lib, a: (lambda m: [m.dict(), m.json(), str(m), m.get_data(), m.get_attr(),
                                  m.get_msgid(), m.get_publishtime()])(
             _msg(lib, data="hello", attributes={"k": "v"})),
         [M + "dict", M + "json", M + "get_data", M + "get_attr", M + "get_msgid",
          M + "get_publishtime"]),
    Case("message_without_attributes", [],
         lambda lib, a: (lambda m: [m.dict(), m.json(), str(m), m.get_data()])(_msg(lib, data=b"\x01")),
         [M + "dict", M + "json"]),
    Case("message_set_attr_and_data", [],
         lambda lib, a: (lambda m: [m.set_attr("k", "v"), m.set_data("new"), m.dict()])(
             _msg(lib, data="x", attributes={})),
         [M + "set_attr", M + "set_data"]),
    Case("message_call_keeps_fields", [],
         lambda lib, a: (lambda m: [m(data="second"), m.dict(), m(attributes={"b": "2"}),
                                  m.get_attr()])(_msg(lib, data="first", attributes={"a": "1"})),
         [M + "__call__"]),
    Case("message_empty_raises", [],
         lambda lib, a: (lambda m: [_raises(m.dict), _raises(m.get_data), _raises(m.get_attr),
                                  _raises(m.json)])(_msg(lib)),
         [M + "dict"]),
    Case("message_bad_data", [], lambda lib, a: _raises(lambda: _msg(lib, data=123)), [M + "set_data"]),
    Case("user_objects", [],
         lambda lib, a: (lambda u: [u, json.loads(u.to_json()), lib.AmsUser().load_from_dict(USER),
                                  lib.AmsUserProject().load_from_dict({"project": "X"})])(_user(lib)),
         ["AmsUser.to_json", "AmsUser.load_from_dict", "AmsUserProject.load_from_dict"]),
    Case("user_defaults", [], lambda lib, a: [lib.AmsUser(), json.loads(lib.AmsUser().to_json()),
                                            lib.AmsUserProject()],
         ["AmsUser.to_json"]),
    Case("exceptions_built_directly", [],
         lambda lib, a: [
             (lambda e: (e.msg, e.code, e.status, str(e)))(lib.AmsServiceException(
                 json={"error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}},
                 request="topic_get")),
             (lambda e: (e.msg, str(e)))(lib.AmsMessageException("bad")),
             (lambda e: (e.msg, str(e)))(lib.AmsConnectionException(ValueError("x"), "sub_pull")),
             (lambda e: (e.msg, e.code, str(e)))(lib.AmsTimeoutException(
                 json={"error": {"code": 408, "message": "t"}}, request="sub_ack")),
             (lambda e: (e.msg, e.code, str(e)))(lib.AmsBalancerException(
                 json={"error": {"code": 502, "message": "b"}}, request="sub_pull")),
         ],
         ["AmsServiceException", "AmsMessageException", "AmsConnectionException",
          "AmsTimeoutException", "AmsBalancerException"]),
    Case("no_token_no_cert", [],
         lambda lib, a: lib.ArgoMessagingService(endpoint="mock_host", project="TEST"),
         [A + "__init__"]),
    Case("auth_via_cert", [R(json={"token": "from-cert"})],
         lambda lib, a: a.auth_via_cert("/nonexistent/cert.pem", "/nonexistent/key.pem"),
         [A + "auth_via_cert"]),
    Case("do_methods_with_route_names", [R(json=TOPIC), R(json={}), R(json={}), EMPTY],
         lambda lib, a: [
             a.do_get("https://mock_host/v1/projects/TEST/topics/t1", "topic_get"),
             a.do_post("https://mock_host/v1/projects/TEST/subscriptions/s1:modifyOffset",
                       json.dumps({"offset": 1}), "sub_mod_offset"),
             a.do_put("https://mock_host/v1/projects/TEST/topics/t1", "", "topic_create"),
             a.do_delete("https://mock_host/v1/projects/TEST/topics/t1", "topic_delete"),
         ],
         [A + "do_get", A + "do_post", A + "do_put", A + "do_delete"]),
    Case("do_get_error_route_name", [err(404, "Subscription doesn't exist", "NOT_FOUND")],
         lambda lib, a: a.do_get("https://mock_host/v1/projects/TEST/subscriptions/s1:offsets",
                               "sub_offsets"),
         [A + "do_get"], "instead of a KeyError", _typed_not_key_error),
    Case("routes_table", [], lambda lib, a: a.routes, []),
    Case("routes_table_used_for_a_url", [R(json=TOPIC)],
         lambda lib, a: a.do_get(a.routes["topic_get"][1].format(a.endpoint, a.project, "t1"),
                                 "topic_get"),
         [A + "do_get"]),
    Case("transport_alone", [R(json=TOPIC), err(404, "Topic doesn't exist", "NOT_FOUND")],
         lambda lib, a: (lambda t: [t.do_get("https://mock_host/v1/projects/TEST/topics/t1",
                                             "topic_get"),
                                    _raises(lambda: t.do_get(
                                        "https://mock_host/v1/projects/TEST/topics/t2",
                                        "topic_get"))])(
             lib.ams.AmsHttpRequests("mock_host", 8443, "tok")),
         ["AmsHttpRequests.do_get"]),
    Case("non_json_200", [R(200, body="<html>ok</html>")], lambda lib, a: a.get_project("TEST"),
         [A + "get_project"], "A 200 reply that is not JSON", _non_json_200_raises),
    Case("assign_token", [], lambda lib, a: (a.assign_token("other", "", ""), a.token),
         [A + "assign_token"], "assign_token(token", _token_is_assigned),
    Case("list_users", [R(json=USERS)], lambda lib, a: a.list_users(), [A + "list_users"],
         "User listing uses the parameters AMS reads", _list_users_params),
    Case("time_to_offset_sub_whole_seconds", [R(json={"offset": 4})],
         lambda lib, a: a.time_to_offset_sub("s1", DAY), [A + "time_to_offset_sub"],
         "timeToOffset sends the format AMS accepts", _zulu_time),
    Case("create_sub_push", [R(json=TOPIC), R(json=PUSH_SUB), R(json=PUSH_SUB)],
         lambda lib, a: a.create_sub("s1", "t1", push_endpoint=PUSH_CFG["pushEndpoint"]),
         [A + "create_sub"], "Push configurations include their", _push_type_in_one_request),
    Case("pushconfig_sub_push", [R(json=PUSH_SUB)],
         lambda lib, a: a.pushconfig_sub("s1", PUSH_CFG["pushEndpoint"]), [A + "pushconfig_sub"],
         "Push configurations include their", _push_type),
]
