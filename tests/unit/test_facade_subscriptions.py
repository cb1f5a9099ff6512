"""Subscription methods of ArgoMessagingService: routes, bodies, pull/ack, offsets, pullack."""

from __future__ import annotations

import datetime

import pytest
import requests

from pymod import (
    AmsArgumentException,
    AmsConnectionException,
    AmsMessage,
    AmsServiceException,
    AmsSubscription,
    AmsTimeoutException,
)

from ._support import (
    ACK_PREFIX,
    ACL,
    BASE,
    EMPTY_PULL,
    JSON_CT,
    OFFSETS,
    PULL_REPLY,
    PUSH_SUB,
    SUB,
    SUB_METRICS,
    SUBS_PAGE,
    TOPIC,
    Case,
    ams_error,
    body_of,
    compact,
    exercise,
    pretty,
    query_of,
)

S = "/v1/projects/DEMO/subscriptions/alerts-sub"
#: argo-ams-library fetched the topic before creating a subscription, the subscription before
#: its ACL and before returning it from subscription(): so does pymod.
GET_TOPIC = (("GET", "/v1/projects/DEMO/topics/alerts", {"name": "/projects/DEMO/topics/alerts"}),)
GET_SUB = (("GET", S, SUB),)
PUSH_CONFIG_HTTP = {
    "type": "http_endpoint",
    "pushEndpoint": "https://receiver.example.org/ams",
    "retryPolicy": {"type": "linear", "period": 3000},
}


def _is_sub(result, client) -> bool:
    return (
        isinstance(result, AmsSubscription)
        and result.name == "alerts-sub"
        and result.fullname == "/projects/DEMO/subscriptions/alerts-sub"
        and result.topic.name == "alerts"
        and result.ackdeadline == 10
        and result.push_endpoint == ""
        and result.init is client
    )


def _is_pull_result(result, client) -> bool:
    assert [ack for ack, _ in result] == [ACK_PREFIX + "41", ACK_PREFIX + "42"]
    first, second = (msg for _, msg in result)
    assert isinstance(first, AmsMessage) and isinstance(second, AmsMessage)
    assert first.get_data() == b"disk full on node7"
    assert first.get_attr() == {"host": "node7", "severity": "high"}
    assert first.get_msgid() == "41"
    assert first.get_publishtime() == "2024-05-02T09:50:01.482117309Z"
    assert second.get_data() == b"cpu high on node3"
    assert second.get_attr() == {}  # attributes omitted by AMS
    return True


CASES = [
    Case("create_sub", "create_sub", lambda c: c.create_sub("alerts-sub", "alerts", ackdeadline=30),
         "PUT", S, body={"topic": "projects/DEMO/topics/alerts", "ackDeadlineSeconds": 30},
         reply=SUB, check=lambda r, c: r == SUB, before=GET_TOPIC),
    Case("create_sub-defaults-retobj", "create_sub",
         lambda c: c.create_sub("alerts-sub", "alerts", retobj=True), "PUT", S,
         body={"topic": "projects/DEMO/topics/alerts", "ackDeadlineSeconds": 10},
         reply=SUB, check=_is_sub, before=GET_TOPIC),
    Case("create_sub-push", "create_sub",
         lambda c: c.create_sub("alerts-push", "alerts",
                                push_endpoint="https://receiver.example.org/ams",
                                retry_policy_period=3000, retobj=True),
         "PUT", "/v1/projects/DEMO/subscriptions/alerts-push",
         body={"topic": "projects/DEMO/topics/alerts", "ackDeadlineSeconds": 10,
               "pushConfig": PUSH_CONFIG_HTTP},
         reply=PUSH_SUB,
         check=lambda r, c: isinstance(r, AmsSubscription)
         and r.push_endpoint == "https://receiver.example.org/ams"
         and r.retry_policy_type == "linear" and r.retry_policy_period == 3000,
         before=GET_TOPIC),
    Case("create_sub-push-options", "create_sub",
         lambda c: c.create_sub("alerts-push", "alerts",
                                push_endpoint="https://receiver.example.org/ams",
                                retry_policy_type="slowstart", max_messages=5,
                                authorization_header="disabled", base64_decode=True),
         "PUT", "/v1/projects/DEMO/subscriptions/alerts-push",
         body={"topic": "projects/DEMO/topics/alerts", "ackDeadlineSeconds": 10,
               "pushConfig": {"type": "http_endpoint",
                              "pushEndpoint": "https://receiver.example.org/ams",
                              "retryPolicy": {"type": "slowstart", "period": 300},
                              "maxMessages": 5, "authorizationHeader": {"type": "disabled"},
                              "base64Decode": True}},
         reply=PUSH_SUB, check=lambda r, c: r == PUSH_SUB, before=GET_TOPIC),
    Case("create_sub-mattermost", "create_sub",
         lambda c: c.create_sub("alerts-mm", "alerts",
                                mattermost_url="https://mm.example.org/hooks/x",
                                mattermost_username="ams", mattermost_channel="alerts"),
         "PUT", "/v1/projects/DEMO/subscriptions/alerts-mm",
         body={"topic": "projects/DEMO/topics/alerts", "ackDeadlineSeconds": 10,
               "pushConfig": {"type": "mattermost",
                              "retryPolicy": {"type": "linear", "period": 300},
                              "mattermostUrl": "https://mm.example.org/hooks/x",
                              "mattermostUsername": "ams", "mattermostChannel": "alerts"}},
         reply=SUB, check=lambda r, c: isinstance(r, dict), before=GET_TOPIC),
    Case("get_sub", "get_sub", lambda c: c.get_sub("alerts-sub"), "GET", S, reply=SUB,
         check=lambda r, c: r == SUB),
    Case("get_sub-retobj", "get_sub", lambda c: c.get_sub("alerts-sub", retobj=True), "GET", S,
         reply=SUB, check=_is_sub),
    Case("list_subs", "list_subs", lambda c: c.list_subs(), "GET",
         "/v1/projects/DEMO/subscriptions", reply=SUBS_PAGE, check=lambda r, c: r == SUBS_PAGE),
    Case("list_subs-page", "list_subs", lambda c: c.list_subs(page_size=5, page_token="abc="),
         "GET", "/v1/projects/DEMO/subscriptions", query={"pageSize": "5", "pageToken": "abc="},
         reply=SUBS_PAGE, check=lambda r, c: r["subscriptions"] == [SUB]),
    Case("delete_sub", "delete_sub", lambda c: c.delete_sub("alerts-sub"), "DELETE", S,
         check=lambda r, c: r == {}),
    Case("delete_sub-verified-push", "delete_sub", lambda c: c.delete_sub("alerts-push"), "DELETE",
         "/v1/projects/DEMO/subscriptions/alerts-push",
         reply=compact({"message": "Subscription /projects/DEMO/subscriptions/alerts-push "
                                   "deactivated"}),
         check=lambda r, c: r["message"].endswith("deactivated")),
    Case("has_sub", "has_sub", lambda c: c.has_sub("alerts-sub"), "GET", S, reply=SUB,
         check=lambda r, c: r is True),
    Case("pull_sub-defaults", "pull_sub", lambda c: c.pull_sub("alerts-sub"), "POST", S + ":pull",
         body={"maxMessages": "1", "returnImmediately": "false"}, reply=PULL_REPLY,
         check=_is_pull_result),
    Case("pull_sub-10-wait", "pull_sub",
         lambda c: c.pull_sub("alerts-sub", num=10, return_immediately=False), "POST", S + ":pull",
         body={"maxMessages": "10", "returnImmediately": "false"}, reply=PULL_REPLY,
         check=_is_pull_result),
    Case("pull_sub-immediate", "pull_sub",
         lambda c: c.pull_sub("alerts-sub", 3, True), "POST", S + ":pull",
         body={"maxMessages": "3", "returnImmediately": "true"}, reply=EMPTY_PULL,
         check=lambda r, c: r == []),
    Case("ack_sub", "ack_sub",
         lambda c: c.ack_sub("alerts-sub", [ACK_PREFIX + "41", ACK_PREFIX + "42"]), "POST",
         S + ":acknowledge", body={"ackIds": [ACK_PREFIX + "41", ACK_PREFIX + "42"]}, reply="{}",
         check=lambda r, c: r is True),
    Case("getoffsets_sub", "getoffsets_sub", lambda c: c.getoffsets_sub("alerts-sub"), "GET",
         S + ":offsets", reply=OFFSETS, check=lambda r, c: r == OFFSETS),
    Case("getoffsets_sub-current", "getoffsets_sub",
         lambda c: c.getoffsets_sub("alerts-sub", "current"), "GET", S + ":offsets", reply=OFFSETS,
         check=lambda r, c: r == 41 and isinstance(r, int)),
    Case("getoffsets_sub-max", "getoffsets_sub", lambda c: c.getoffsets_sub("alerts-sub", "max"),
         "GET", S + ":offsets", reply=OFFSETS, check=lambda r, c: r == 43),
    Case("getoffsets_sub-min", "getoffsets_sub", lambda c: c.getoffsets_sub("alerts-sub", "min"),
         "GET", S + ":offsets", reply=OFFSETS, check=lambda r, c: r == 0),
    Case("modifyoffset_sub", "modifyoffset_sub", lambda c: c.modifyoffset_sub("alerts-sub", 17),
         "POST", S + ":modifyOffset", body={"offset": 17}, check=lambda r, c: r == {}),
    Case("time_to_offset_sub", "time_to_offset_sub",
         lambda c: c.time_to_offset_sub(
             "alerts-sub", datetime.datetime(2019, 9, 2, 13, 39, 11, 500000,
                                             tzinfo=datetime.timezone.utc)),
         "GET", S + ":timeToOffset", query={"time": "2019-09-02T13:39:11.500Z"},
         reply=compact({"offset": 640}), check=lambda r, c: r == 640 and isinstance(r, int)),
    Case("getacl_sub", "getacl_sub", lambda c: c.getacl_sub("alerts-sub"), "GET", S + ":acl",
         reply=ACL, check=lambda r, c: r == ACL and c.subs[SUB["name"]].acls == ACL["authorized_users"],
         before=GET_SUB),
    Case("getacl_sub-empty", "getacl_sub", lambda c: c.getacl_sub("alerts-sub"), "GET", S + ":acl",
         reply={"authorized_users": []}, check=lambda r, c: r == {"authorized_users": []},
         before=GET_SUB),
    Case("modifyacl_sub", "modifyacl_sub", lambda c: c.modifyacl_sub("alerts-sub", ["carol"]),
         "POST", S + ":modifyAcl", body={"authorized_users": ["carol"]},
         check=lambda r, c: r is True and c.subs[SUB["name"]].acls == ["carol"], before=GET_SUB),
    Case("modifyackdeadline_sub", "modifyackdeadline_sub",
         lambda c: c.modifyackdeadline_sub("alerts-sub", 60), "POST", S + ":modifyAckDeadline",
         body={"ackDeadlineSeconds": 60}, check=lambda r, c: r is None),
    Case("pushconfig_sub-http", "pushconfig_sub",
         lambda c: c.pushconfig_sub("alerts-sub", "https://receiver.example.org/ams",
                                    retry_policy_period=3000),
         "POST", S + ":modifyPushConfig", body={"pushConfig": PUSH_CONFIG_HTTP},
         check=lambda r, c: r == {}),
    Case("pushconfig_sub-clear", "pushconfig_sub", lambda c: c.pushconfig_sub("alerts-sub"),
         "POST", S + ":modifyPushConfig", body={"pushConfig": {}}, check=lambda r, c: r == {}),
    Case("verifypushendpoint_sub", "verifypushendpoint_sub",
         lambda c: c.verifypushendpoint_sub("alerts-sub"), "POST", S + ":verifyPushEndpoint",
         check=lambda r, c: r is None),
    Case("getmetrics_sub", "getmetrics_sub", lambda c: c.getmetrics_sub("alerts-sub"), "GET",
         S + ":metrics", reply=SUB_METRICS, check=lambda r, c: r == SUB_METRICS),
    Case("subscription-existing", "subscription",
         lambda c: c.subscription("alerts-sub", "alerts"), "GET", S, reply=SUB, check=_is_sub,
         before=GET_SUB),  # has_sub, then get_sub, as argo-ams-library
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_subscription_route(any_ams, case):
    exercise(any_ams, case)


# ---- time_to_offset_sub: timestamp formatting -------------------------------------------------
CEST = datetime.timezone(datetime.timedelta(hours=2))
EST = datetime.timezone(datetime.timedelta(hours=-5))


@pytest.mark.parametrize(
    ("timestamp", "wire"),
    [
        (datetime.datetime(2019, 9, 2, 15, 39, 11, 500000, tzinfo=CEST), "2019-09-02T13:39:11.500Z"),
        (datetime.datetime(2019, 9, 2, 13, 39, 11, 500000), "2019-09-02T13:39:11.500Z"),
        (datetime.datetime(2019, 9, 2, 13, 39, 11, 999999), "2019-09-02T13:39:11.999Z"),
        (datetime.datetime(2019, 9, 2, 13, 39, 11, 1999), "2019-09-02T13:39:11.001Z"),
        (datetime.datetime(2019, 9, 2, 13, 39, 11), "2019-09-02T13:39:11.000Z"),
        (datetime.datetime(2019, 9, 1, 23, 30, 0, 250000, tzinfo=EST), "2019-09-02T04:30:00.250Z"),
    ],
    ids=["aware-cest", "naive", "micro-truncated", "micro-1999", "whole-second", "aware-est"],
)
def test_time_to_offset_formats_zulu_millis(ams, rsps, timestamp, wire):
    rsps.get(BASE + "/projects/DEMO/subscriptions/alerts-sub:timeToOffset",
             body=compact({"offset": 7}), content_type=JSON_CT)
    assert ams.time_to_offset_sub("alerts-sub", timestamp) == 7
    assert query_of(rsps.calls[0].request.url) == {"time": wire}


@pytest.mark.parametrize("bad", ["2019-09-02T13:39:11.500Z", datetime.date(2019, 9, 2), 1567431551],
                         ids=["str", "date", "epoch"])
def test_time_to_offset_rejects_non_datetimes(ams, nonet, bad):
    with pytest.raises(AmsArgumentException):
        ams.time_to_offset_sub("alerts-sub", bad)
    assert len(nonet.calls) == 0


def test_time_to_offset_out_of_bounds_is_409(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/subscriptions/alerts-sub:timeToOffset",
             body=ams_error(409, "CONFLICT",
                            "Timestamp is out of bounds for the subscription's topic/partition"),
             status=409, content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.time_to_offset_sub("alerts-sub", datetime.datetime(2030, 1, 1))
    assert info.value.code == 409 and info.value.status == "CONFLICT"


# ---- pull_sub: pull options and timeouts ------------------------------------------------------
def test_pull_leaves_pullopts_unchanged_after_success_and_error(ams, rsps):
    before = dict(ams.pullopts)
    url = BASE + "/projects/DEMO/subscriptions/alerts-sub:pull"
    rsps.post(url, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(url, body=ams_error(404, "NOT_FOUND", "Subscription doesn't exist"), status=404,
              content_type=JSON_CT)
    ams.pull_sub("alerts-sub", num=10, return_immediately=True)
    assert ams.pullopts == before
    with pytest.raises(AmsServiceException):
        ams.pull_sub("alerts-sub", num=5, return_immediately=False)
    assert ams.pullopts == before
    assert ams.get_pullopt("maxMessages") == before["maxMessages"]
    assert ams.get_pullopt("returnImmediately") == before["returnImmediately"]


def test_pullopts_get_set(ams, nonet):
    assert ams.get_pullopt("maxMessages") == "1"
    assert ams.get_pullopt("returnImmediately") == "false"
    ams.set_pullopt("maxMessages", 5)
    ams.set_pullopt("returnImmediately", True)
    assert ams.get_pullopt("maxMessages") == "5"
    assert ams.get_pullopt("returnImmediately") == "true"
    with pytest.raises(AmsServiceException) as info:
        ams.get_pullopt("nope")
    assert info.value.code == 400
    ams.set_pullopt("nope", 1)  # any option, sent with every pull (as argo-ams-library)
    assert ams.pullopts == {"maxMessages": "5", "returnImmediately": "true", "nope": "1"}
    assert len(nonet.calls) == 0


def test_pull_body_values_are_strings_even_after_set_pullopt(ams, rsps):
    ams.set_pullopt("maxMessages", 7)
    rsps.post(BASE + "/projects/DEMO/subscriptions/alerts-sub:pull", body=pretty(EMPTY_PULL),
              content_type=JSON_CT)
    ams.pull_sub("alerts-sub", num=2, return_immediately=True)
    body = body_of(rsps.calls[0].request)
    assert body == {"maxMessages": "2", "returnImmediately": "true"}
    assert ams.get_pullopt("maxMessages") == "7"


def test_long_pull_raises_read_timeout_unless_given(ams, rsps):
    url = BASE + "/projects/DEMO/subscriptions/alerts-sub:pull"
    for _ in range(3):
        rsps.post(url, body=pretty(EMPTY_PULL), content_type=JSON_CT)
    ams.pull_sub("alerts-sub", num=10)  # waits up to 300 s on the server
    ams.pull_sub("alerts-sub", num=10, timeout=12)
    ams.pull_sub("alerts-sub", num=10, return_immediately=True)
    timeouts = [call.request.req_kwargs["timeout"] for call in rsps.calls]
    assert timeouts[0] == (30.0, 310.0)
    assert timeouts[1] == 12
    assert timeouts[2] == 30.0


@pytest.mark.parametrize("num", [0, -1, 1.5, "10", True])
def test_pull_rejects_bad_num(ams, nonet, num):
    with pytest.raises(AmsArgumentException):
        ams.pull_sub("alerts-sub", num=num)
    assert len(nonet.calls) == 0


def test_pull_malformed_reply_is_a_response_error(ams, rsps):
    from pymod import AmsResponseException

    rsps.post(BASE + "/projects/DEMO/subscriptions/alerts-sub:pull",
              body=pretty({"receivedMessages": [{"ackId": "x"}]}), content_type=JSON_CT)
    with pytest.raises(AmsResponseException):
        ams.pull_sub("alerts-sub")


# ---- ack_sub: ackIds are checked before sending ---------------------------------------------
@pytest.mark.parametrize(
    "ids",
    [ACK_PREFIX + "4", [4]],
    ids=["bare-str", "int"],
)
def test_ack_with_ids_that_are_not_a_list_of_str_raises_before_sending(ams, nonet, ids):
    with pytest.raises(AmsArgumentException):
        ams.ack_sub("alerts-sub", ids)
    assert len(nonet.calls) == 0


@pytest.mark.parametrize("ids", [["1221"], ["projects/DEMO/subscriptions/other:4"], []])
def test_ack_ids_go_to_ams_as_given(ams, rsps, ids):
    # argo-ams-library sent any ackIds; AMS judges them (a security guard is not at stake)
    rsps.post(ACK_URL, body=ams_error(400, "INVALID_ARGUMENT", "Invalid ack id"), status=400,
              content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.ack_sub("alerts-sub", ids)
    assert info.value.code == 400
    assert body_of(rsps.calls[0].request) == {"ackIds": ids}


def test_ack_timeout_is_a_timeout_exception(ams, rsps):
    rsps.post(BASE + "/projects/DEMO/subscriptions/alerts-sub:acknowledge",
              body=ams_error(408, "TIMEOUT", "ack timeout"), status=408, content_type=JSON_CT)
    with pytest.raises(AmsTimeoutException) as info:
        ams.ack_sub("alerts-sub", [ACK_PREFIX + "41"])
    assert info.value.code == 408 and info.value.status == "TIMEOUT"


# ---- pullack_sub ------------------------------------------------------------------------------
PULL_URL = BASE + "/projects/DEMO/subscriptions/alerts-sub:pull"
ACK_URL = BASE + "/projects/DEMO/subscriptions/alerts-sub:acknowledge"
OFFSETS_URL = BASE + "/projects/DEMO/subscriptions/alerts-sub:offsets"


def _routes(rsps):
    return [call.request.url.rsplit(":", 1)[1] for call in rsps.calls]


def test_pullack_pulls_then_acks_every_id(ams, rsps):
    rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(ACK_URL, body="{}", content_type=JSON_CT)
    msgs = ams.pullack_sub("alerts-sub", num=2, return_immediately=True)
    assert [m.get_data() for m in msgs] == [b"disk full on node7", b"cpu high on node3"]
    assert all(isinstance(m, AmsMessage) for m in msgs)
    assert body_of(rsps.calls[0].request) == {"maxMessages": "2", "returnImmediately": "true"}
    assert body_of(rsps.calls[1].request) == {"ackIds": [ACK_PREFIX + "41", ACK_PREFIX + "42"]}


def test_pullack_empty_pull_sends_no_ack(ams, rsps):
    rsps.post(PULL_URL, body=pretty(EMPTY_PULL), content_type=JSON_CT)
    assert ams.pullack_sub("alerts-sub", return_immediately=True) == []
    assert len(rsps.calls) == 1


def test_pullack_repulls_at_most_retry_times(ams, rsps, sleeps):
    for _ in range(3):
        rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
        rsps.post(ACK_URL, body=ams_error(408, "TIMEOUT", "ack timeout"), status=408,
                  content_type=JSON_CT)
    with pytest.raises(AmsTimeoutException):
        ams.pullack_sub("alerts-sub", num=2, retry=2, retrysleep=5)
    assert _routes(rsps) == ["pull", "acknowledge"] * 3
    assert sleeps.calls == [5, 5]


def test_pullack_without_retry_never_repulls(ams, rsps, sleeps):
    rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(ACK_URL, body=ams_error(500, "INTERNAL_SERVER_ERROR", "wrong ack"), status=500,
              content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.pullack_sub("alerts-sub", num=2)
    assert info.value.code == 500
    assert len(rsps.calls) == 2
    assert sleeps.calls == []


def test_pullack_recovers_after_failed_ack(ams, rsps, sleeps):
    rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(ACK_URL, body=ams_error(408, "TIMEOUT", "ack timeout"), status=408,
              content_type=JSON_CT)
    rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(ACK_URL, body="{}", content_type=JSON_CT)
    msgs = ams.pullack_sub("alerts-sub", num=2, retry=3, retrybackoff=2)
    assert len(msgs) == 2
    assert _routes(rsps) == ["pull", "acknowledge", "pull", "acknowledge"]
    assert sleeps.calls == [2]


def test_pullack_returns_batch_when_broken_ack_landed(ams, rsps, sleeps):
    rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(ACK_URL, body=requests.exceptions.ConnectionError("connection reset"))
    rsps.get(OFFSETS_URL, body=pretty({"max": 43, "min": 0, "current": 43}), content_type=JSON_CT)
    msgs = ams.pullack_sub("alerts-sub", num=2, retry=1, retrysleep=5)
    assert [m.get_msgid() for m in msgs] == ["41", "42"]
    assert _routes(rsps) == ["pull", "acknowledge", "offsets"]
    assert sleeps.calls == []


def test_pullack_broken_ack_that_did_not_land_repulls(ams, rsps, sleeps):
    for _ in range(2):
        rsps.post(PULL_URL, body=pretty(PULL_REPLY), content_type=JSON_CT)
        rsps.post(ACK_URL, body=requests.exceptions.ConnectionError("connection reset"))
        rsps.get(OFFSETS_URL, body=pretty(OFFSETS), content_type=JSON_CT)  # current 41: not acked
    with pytest.raises(AmsConnectionException):
        ams.pullack_sub("alerts-sub", num=2, retry=1, retrysleep=5)
    assert _routes(rsps) == ["pull", "acknowledge", "offsets"] * 2
    assert sleeps.calls == [5]


# ---- subscription() / iter_subs ---------------------------------------------------------------
def test_subscription_creates_on_404(ams, rsps):
    url = BASE + "/projects/DEMO/subscriptions/alerts-sub"
    rsps.get(url, body=ams_error(404, "NOT_FOUND", "Subscription doesn't exist"), status=404,
             content_type=JSON_CT)
    rsps.get(BASE + "/projects/DEMO/topics/alerts", body=pretty(TOPIC), content_type=JSON_CT)
    rsps.put(url, body=pretty({**SUB, "ackDeadlineSeconds": 30}), content_type=JSON_CT)
    sub = ams.subscription("alerts-sub", "alerts", ackdeadline=30)
    assert isinstance(sub, AmsSubscription) and sub.name == "alerts-sub" and sub.ackdeadline == 30
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "PUT"]  # sub, topic, create
    assert body_of(rsps.calls[2].request) == {"topic": "projects/DEMO/topics/alerts",
                                              "ackDeadlineSeconds": 30}


def test_subscription_other_errors_are_raised(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/subscriptions/alerts-sub",
             body=ams_error(403, "FORBIDDEN", "Access to this resource is forbidden"), status=403,
             content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.subscription("alerts-sub", "alerts")
    assert info.value.code == 403
    assert len(rsps.calls) == 1


def test_has_sub_false_on_404(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/subscriptions/nope",
             body=ams_error(404, "NOT_FOUND", "Subscription doesn't exist"), status=404,
             content_type=JSON_CT)
    assert ams.has_sub("nope") is False


def test_iter_subs_walks_pages_and_filters_by_topic(ams, rsps):
    url = BASE + "/projects/DEMO/subscriptions"
    audit = {**SUB, "name": "/projects/DEMO/subscriptions/audit-sub",
             "topic": "/projects/DEMO/topics/audit"}
    rsps.get(url, body=pretty({"subscriptions": [SUB, audit], "nextPageToken": "cGFnZTI=",
                               "totalSize": 3}), content_type=JSON_CT)
    rsps.get(url, body=pretty({"subscriptions": [PUSH_SUB], "nextPageToken": "", "totalSize": 3}),
             content_type=JSON_CT)
    subs = list(ams.iter_subs(topic="alerts", page_size=2))
    assert [s.name for s in subs] == ["alerts-sub", "alerts-push"]
    assert subs[1].push_endpoint == "https://receiver.example.org/ams"
    assert query_of(rsps.calls[0].request.url) == {"pageSize": "2"}
    assert query_of(rsps.calls[1].request.url) == {"pageSize": "2", "pageToken": "cGFnZTI="}


def test_iter_subs_without_topic_yields_all(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/subscriptions",
             body=pretty({"subscriptions": [SUB, PUSH_SUB], "nextPageToken": "", "totalSize": 2}),
             content_type=JSON_CT)
    assert [s.name for s in ams.iter_subs()] == ["alerts-sub", "alerts-push"]
    assert query_of(rsps.calls[0].request.url) == {}  # one listing of all, as argo-ams-library
    assert list(ams.subs) == [SUB["name"], PUSH_SUB["name"]]


@pytest.mark.parametrize(
    "kwargs",
    [{"ackdeadline": 601}, {"ackdeadline": -1}, {"push_endpoint": "http://insecure.example.org/"},
     {"push_endpoint": "https://x.example.org", "retry_policy_type": "exponential"},
     {"push_type": "carrier-pigeon"}, {"push_type": "mattermost"}],
    ids=["deadline-high", "deadline-negative", "http-endpoint", "policy", "type", "mm-no-url"],
)
def test_create_sub_rejects_bad_arguments_locally(ams, nonet, kwargs):
    with pytest.raises(AmsArgumentException):
        ams.create_sub("alerts-sub", "alerts", **kwargs)
    assert len(nonet.calls) == 0


@pytest.mark.parametrize("bad", [-1, 601, "60", None])
def test_modifyackdeadline_rejects_out_of_range(ams, nonet, bad):
    with pytest.raises(AmsArgumentException):
        ams.modifyackdeadline_sub("alerts-sub", bad)
    assert len(nonet.calls) == 0


def test_offset_argument_errors(ams, nonet):
    with pytest.raises(AmsArgumentException):
        ams.modifyoffset_sub("alerts-sub", -3)
    with pytest.raises(AmsArgumentException):
        ams.modifyoffset_sub("alerts-sub", "seventeen")
    assert len(nonet.calls) == 0


def test_unknown_offset_name_is_a_service_exception_after_the_request(ams, rsps):
    rsps.get(BASE + "/projects/DEMO/subscriptions/alerts-sub:offsets", body=pretty(OFFSETS),
             content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:  # as argo-ams-library
        ams.getoffsets_sub("alerts-sub", "newest")
    assert info.value.msg == "While trying the [sub_offsets]: 'newest' is not valid offset position"
