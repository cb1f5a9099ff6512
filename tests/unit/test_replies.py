"""Replies checked against their requests (pymod.replies): publish ids, pull ackIds, the ack
reply; mismatches typed, retried only where the request is safe to repeat; the Consumer goes
on after an unusable pull or ack reply and checkpoints only what AMS committed."""

from __future__ import annotations

import base64

import pytest
import requests

from pymod import AmsMessage, AmsPublishException
from pymod.amsexceptions import AmsReplyMismatchException, AmsResponseException
from pymod.consumer import Consumer
from pymod.replies import ack_check, publish_check, pull_check

from ._support import ACK_PREFIX, BASE, JSON_CT, PULL_REPLY, SUB, TEXT_CT, pretty

PUBLISH_URL = BASE + "/projects/DEMO/topics/alerts:publish"
SUB_URL = BASE + "/projects/DEMO/subscriptions/alerts-sub"
OTHER_PREFIX = "projects/DEMO/subscriptions/other-sub:"


def _json(rsps, method, url, obj):
    rsps.add(method, url, body=pretty(obj), content_type=JSON_CT)


# ---- the checks themselves --------------------------------------------------------------------
@pytest.mark.parametrize("reply", [
    {}, {"messageIds": []}, {"messageIds": ["1"]}, {"messageIds": ["1", "2", "3"]},
    {"messageIds": ["1", 2]}, {"messageIds": ["1", None]}, {"messageIds": "12"},
    {"receivedMessages": []},
], ids=["empty", "no-ids", "fewer", "more", "int-id", "null-id", "str", "pull-reply"])
def test_publish_check_wants_one_string_id_per_message(reply):
    with pytest.raises(AmsReplyMismatchException) as info:
        publish_check(2)(reply)
    assert info.value.retryable is False and info.value.route == "topics:publish"


def test_publish_check_returns_the_ids():
    assert publish_check(2)({"messageIds": ["7", "8"]}) == ["7", "8"]


@pytest.mark.parametrize("reply", [
    {}, {"messageIds": ["1"]}, {"receivedMessages": {}},
    {"receivedMessages": [{"ackId": OTHER_PREFIX + "1", "message": {}}]},
    {"receivedMessages": [{"ackId": ACK_PREFIX + "x1", "message": {}}]},
    {"receivedMessages": [{"ackId": ACK_PREFIX, "message": {}}]},
    {"receivedMessages": [{"ackId": ACK_PREFIX + "\u0663", "message": {}}]},
    {"receivedMessages": [{"ackId": 5, "message": {}}]},
    {"receivedMessages": [{"message": {}}]},
    {"receivedMessages": ["x"]},
    {"receivedMessages": [{"ackId": ACK_PREFIX + "1\n" + ACK_PREFIX + "2", "message": {}}]},
    {"receivedMessages": [{"ackId": ACK_PREFIX + "1", "message": {}},
                          {"ackId": OTHER_PREFIX + "2", "message": {}}]},
], ids=["ack-reply", "publish-reply", "not-a-list", "other-sub", "not-digits", "no-offset",
        "unicode-digit", "int-ackid", "no-ackid", "str-item", "newline", "second-other-sub"])
def test_pull_check_wants_received_messages_of_this_subscription(reply):
    with pytest.raises(AmsReplyMismatchException) as info:
        pull_check(ACK_PREFIX)(reply)
    assert info.value.retryable is True


def test_pull_check_returns_the_received_messages():
    got = pull_check(ACK_PREFIX)(PULL_REPLY)
    assert got == PULL_REPLY["receivedMessages"]
    assert pull_check(ACK_PREFIX)({"receivedMessages": []}) == []


def test_ack_check_wants_an_empty_object():
    assert ack_check({}) is True
    with pytest.raises(AmsReplyMismatchException) as info:
        ack_check({"receivedMessages": []})
    assert info.value.retryable is True and "receivedMessages" in str(info.value)


# ---- through the client -----------------------------------------------------------------------
@pytest.mark.parametrize("reply", [{"messageIds": []}, {"messageIds": ["1", "2"]},
                                   {"messageIds": [1]}, {}])
def test_publish_mismatch_is_typed_and_never_retried(any_ams, rsps, sleeps, reply):
    _json(rsps, "POST", PUBLISH_URL, reply)
    with pytest.raises(AmsReplyMismatchException):
        any_ams.publish("alerts", AmsMessage(data="x"), retry=3, retrysleep=1)
    assert len(rsps.calls) == 1 and sleeps.calls == []


def test_publish_non_json_200_is_typed_and_not_retried(any_ams, rsps, sleeps):
    rsps.post(PUBLISH_URL, body="<html>ok</html>", content_type=TEXT_CT)
    with pytest.raises(AmsResponseException):
        any_ams.publish("alerts", AmsMessage(data="x"), retry=3, retrysleep=1)
    assert len(rsps.calls) == 1


def test_split_publish_with_a_malformed_later_reply_says_what_was_published(ams, rsps):
    ams.max_request_messages = 2
    _json(rsps, "POST", PUBLISH_URL, {"messageIds": ["0", "1"]})
    _json(rsps, "POST", PUBLISH_URL, {"messageIds": ["2"]})  # 2 sent, 1 id back
    messages = [AmsMessage(data=f"m{i}") for i in range(5)]
    with pytest.raises(AmsPublishException) as info:
        ams.publish("alerts", messages)
    exc = info.value
    assert exc.published_ids == ["0", "1"] and exc.unpublished_indices == [2, 3, 4]
    assert isinstance(exc.cause, AmsReplyMismatchException)


_OTHER_SUB_PULL = {"receivedMessages": [
    {"ackId": OTHER_PREFIX + "3", "message": PULL_REPLY["receivedMessages"][0]["message"]}]}


@pytest.mark.parametrize("bad", [{}, {"messageIds": ["9"]}, _OTHER_SUB_PULL, "not json"],
                         ids=["ack-reply", "publish-reply", "other-sub", "text"])
def test_pull_mismatch_is_retried_then_the_right_reply_counts(any_ams, rsps, sleeps, bad):
    if isinstance(bad, str):
        rsps.post(SUB_URL + ":pull", body=bad, content_type=TEXT_CT)
    else:
        _json(rsps, "POST", SUB_URL + ":pull", bad)
    _json(rsps, "POST", SUB_URL + ":pull", PULL_REPLY)
    got = any_ams.pull_sub("alerts-sub", 2, True, retry=1, retrysleep=3)
    assert [a for a, _ in got] == [ACK_PREFIX + "41", ACK_PREFIX + "42"]
    assert sleeps.calls == [3]


def test_pull_mismatch_without_retry_is_typed(ams, rsps):
    _json(rsps, "POST", SUB_URL + ":pull", {})
    with pytest.raises(AmsReplyMismatchException, match="receivedMessages"):
        ams.pull_sub("alerts-sub", 1, True)


def test_ack_taking_a_pull_reply_is_a_mismatch_retried_when_asked(any_ams, rsps, sleeps):
    _json(rsps, "POST", SUB_URL + ":acknowledge", PULL_REPLY)
    with pytest.raises(AmsReplyMismatchException):
        any_ams.ack_sub("alerts-sub", [ACK_PREFIX + "41"])
    _json(rsps, "POST", SUB_URL + ":acknowledge", {"receivedMessages": []})
    rsps.post(SUB_URL + ":acknowledge", body="", content_type=JSON_CT)
    assert any_ams.ack_sub("alerts-sub", [ACK_PREFIX + "41"], retry=1, retrysleep=1) is True


# ---- the Consumer -----------------------------------------------------------------------------
def _msg(offset):
    return {"messageId": str(offset), "attributes": {},
            "data": base64.b64encode(f"m{offset}".encode()).decode(),
            "publishTime": "2024-05-02T09:50:01Z"}


def _batch(*offsets):
    return {"receivedMessages": [{"ackId": ACK_PREFIX + str(o), "message": _msg(o)}
                                 for o in offsets]}


def test_consumer_goes_on_after_unusable_pull_and_ack_replies(ams, rsps):
    _json(rsps, "GET", SUB_URL, SUB)
    rsps.post(SUB_URL + ":pull", body="<html>oops</html>", content_type=TEXT_CT)
    _json(rsps, "POST", SUB_URL + ":pull", {})  # an ack's reply taken for the pull's
    _json(rsps, "POST", SUB_URL + ":pull", _batch(0, 1))
    _json(rsps, "POST", SUB_URL + ":acknowledge", {"receivedMessages": []})  # a pull's reply
    _json(rsps, "GET", SUB_URL + ":offsets", {"max": 2, "min": 0, "current": 0})  # not stored
    _json(rsps, "POST", SUB_URL + ":pull", _batch(0, 1))
    _json(rsps, "POST", SUB_URL + ":acknowledge", {})
    _json(rsps, "POST", SUB_URL + ":pull", {"receivedMessages": []})
    handled, checkpoints, sleeps = [], [], []
    consumer = Consumer(ams, "alerts-sub", lambda m: handled.append(m.get_msgid()),
                        checkpoint=checkpoints.append, stop_when_empty=True,
                        install_signal_handlers=False, sleep=sleeps.append)
    result = consumer.run()
    assert handled == ["0", "1", "0", "1"]  # redelivered: the first ack was not stored
    assert checkpoints == [2]  # only after the acknowledgement AMS answered with {}
    assert result.errors == 3 and result.acked == 2 and result.stop_reason == "empty"


def test_consumer_lost_ack_reply_that_did_land_checkpoints_it(ams, rsps):
    _json(rsps, "GET", SUB_URL, SUB)
    _json(rsps, "POST", SUB_URL + ":pull", _batch(0, 1))
    rsps.post(SUB_URL + ":acknowledge", body=requests.exceptions.ConnectionError("reset"))
    _json(rsps, "GET", SUB_URL + ":offsets", {"max": 2, "min": 0, "current": 2})  # stored
    _json(rsps, "POST", SUB_URL + ":pull", {"receivedMessages": []})
    checkpoints = []
    Consumer(ams, "alerts-sub", lambda m: None, checkpoint=checkpoints.append,
             stop_when_empty=True, install_signal_handlers=False, sleep=lambda s: None).run()
    assert checkpoints == [2]
