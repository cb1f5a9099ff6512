"""The bad-input matrix: every locally invalid input raises a specific exception with a clear
message before any request is sent.

Invalid resource names are covered for every method in ``test_facade_common.py``; malformed
replies (non-JSON, truncated, HTML, wrong content type) in ``test_errors.py``. This module covers
the other arguments: message data and attributes, numbers, ackIds, timestamps, lists, paging.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable

import pytest
import responses

from pymod import (
    AmsArgumentException,
    AmsMessage,
    AmsMessageException,
    AmsServiceException,
    AmsUserProject,
    ArgoMessagingService,
)

ACK = "projects/DEMO/subscriptions/sub:3"
BIG = b"x" * 1_200_000  # Base64 > 1.5 MB

Call = Callable[[ArgoMessagingService], Any]

#: (id, call, exception, fragment of the message)
MATRIX: list[tuple[str, Call, type, str]] = [
    # ---- message data and attributes
    ("data-int", lambda c: c.publish("t", AmsMessage(data=5)), AmsMessageException, "b64encode()"),
    ("data-list", lambda c: c.publish("t", AmsMessage(data=["a"])), AmsMessageException, "b64encode()"),
    ("data-none-no-attrs", lambda c: c.publish("t", AmsMessage()), AmsMessageException, "At least data"),
    ("dict-data-bytes", lambda c: c.publish("t", {"data": b"raw"}), AmsMessageException, "Base64 str"),
    ("dict-no-keys", lambda c: c.publish("t", {"payload": "x"}), AmsMessageException, "'data'"),
    ("dict-data-none", lambda c: c.publish("t", {"data": None}), AmsMessageException, "needs data"),
    ("msg-not-a-message", lambda c: c.publish("t", 42), AmsMessageException, "AmsMessage"),
    ("msg-list-of-int", lambda c: c.publish("t", [1, 2]), AmsMessageException, "AmsMessage"),
    ("data-over-limit", lambda c: c.publish("t", AmsMessage(data=BIG)), AmsMessageException, "too large"),
    ("over-limit-second", lambda c: c.publish("t", [AmsMessage(data="ok"), AmsMessage(data=BIG)]),
     AmsMessageException, "message 1 is too large"),
    ("attrs-list", lambda c: c.publish("t", AmsMessage(data="x", attributes=["a"])),
     AmsMessageException, "dict of str"),
    ("attrs-int-value", lambda c: c.publish("t", AmsMessage(data="x", attributes={"a": 1})),
     AmsMessageException, "must be str"),
    ("attrs-int-key", lambda c: c.publish("t", AmsMessage(data="x", attributes={1: "a"})),
     AmsMessageException, "must be str"),
    ("attrs-quote", lambda c: c.publish("t", AmsMessage(data="x", attributes={"a": 'say "hi"'})),
     AmsMessageException, "not allowed"),
    ("attrs-newline", lambda c: c.publish("t", {"data": "eA==", "attributes": {"a\n": "b"}}),
     AmsMessageException, "not allowed"),
    # ---- numbers
    ("pull-num-0", lambda c: c.pull_sub("sub", num=0), AmsArgumentException, "num must be >= 1"),
    ("pull-num-negative", lambda c: c.pull_sub("sub", num=-5), AmsArgumentException, "num"),
    ("pull-num-str", lambda c: c.pull_sub("sub", num="10"), AmsArgumentException, "must be an int"),
    ("pull-num-bool", lambda c: c.pull_sub("sub", num=True), AmsArgumentException, "must be an int"),
    ("ackdeadline-negative", lambda c: c.create_sub("sub", "t", ackdeadline=-1),
     AmsArgumentException, "between 0 and 600"),
    ("ackdeadline-601", lambda c: c.create_sub("sub", "t", ackdeadline=601),
     AmsArgumentException, "between 0 and 600"),
    ("modify-deadline-9999", lambda c: c.modifyackdeadline_sub("sub", 9999),
     AmsArgumentException, "between 0 and 600"),
    ("modify-deadline-float", lambda c: c.modifyackdeadline_sub("sub", 1.5),
     AmsArgumentException, "must be an int"),
    ("offset-negative", lambda c: c.modifyoffset_sub("sub", -1), AmsArgumentException, ">= 0"),
    ("offset-str", lambda c: c.modifyoffset_sub("sub", "five"), AmsArgumentException, "must be an int"),
    ("page-size-negative", lambda c: c.list_topics(page_size=-1), AmsArgumentException, ">= 0"),
    ("page-token-int", lambda c: c.list_subs(page_token=5), AmsArgumentException, "page_token"),
    ("retry-negative", lambda c: c.publish("t", AmsMessage(data="x"), retry=-1),
     AmsArgumentException, "retry must be"),
    ("retrysleep-negative", lambda c: c.pull_sub("sub", retry=1, retrysleep=-3),
     AmsArgumentException, "retrysleep"),
    ("push-period-0", lambda c: c.pushconfig_sub("sub", "https://x.example.org", retry_policy_period=0),
     AmsArgumentException, "retry_policy_period"),
    # ---- ackIds
    # (ackIds that are strings go to AMS as given, as argo-ams-library sent them)
    ("ack-str-not-list", lambda c: c.ack_sub("sub", ACK), AmsArgumentException, "list of str"),
    ("ack-int-in-list", lambda c: c.ack_sub("sub", [ACK, 4]), AmsArgumentException, "list of str"),
    # ---- timestamps, dates
    ("time-str", lambda c: c.time_to_offset_sub("sub", "2024-05-02T09:00:00Z"),
     AmsArgumentException, "datetime"),
    ("time-date", lambda c: c.time_to_offset_sub("sub", datetime.date(2024, 5, 2)),
     AmsArgumentException, "datetime"),
    ("time-epoch", lambda c: c.time_to_offset_sub("sub", 1714640400), AmsArgumentException,
     "datetime"),
    ("report-date-str", lambda c: c.va_metrics(start_date="2024-01-01"), AmsArgumentException,
     "start_date"),
    # ---- lists and other arguments
    ("acl-str", lambda c: c.modifyacl_topic("t", "alice"), AmsArgumentException, "list of str"),
    ("acl-int", lambda c: c.modifyacl_sub("sub", [1]), AmsArgumentException, "list of str"),
    ("roles-str", lambda c: c.add_project_member("bob", roles="consumer"), AmsArgumentException,
     "list of str"),
    ("user-not-amsuser", lambda c: c.create_user({"name": "bob"}), AmsArgumentException, "AmsUser"),
    ("user-projects-str", lambda c: c.update_user("bob", projects=["DEMO"]), AmsArgumentException,
     "AmsUserProject"),
    ("schema-type", lambda c: c.create_schema("s", "xml", {}), AmsArgumentException, "'json' or 'avro'"),
    ("schema-doc-str", lambda c: c.create_schema("s", "json", "{}"), AmsArgumentException, "dict"),
    ("push-http", lambda c: c.pushconfig_sub("sub", "http://insecure.example.org"),
     AmsArgumentException, "https://"),
    ("push-type", lambda c: c.create_sub("sub", "t", push_type="sms"), AmsArgumentException,
     "push_type"),
    ("push-policy", lambda c: c.pushconfig_sub("sub", "https://x.example.org", retry_policy_type="fast"),
     AmsArgumentException, "retry_policy_type"),
    ("auth-header", lambda c: c.pushconfig_sub("sub", "https://x.example.org", authorization_header="x"),
     AmsArgumentException, "authorization_header"),
    ("mattermost-no-url", lambda c: c.pushconfig_sub("sub", push_type="mattermost"),
     AmsArgumentException, "mattermost_url"),
    ("token-not-str", lambda c: setattr(c, "token", 123), AmsArgumentException, "token must be a str"),
    # ---- per-call timeouts: refused before the request, not by it
    *[
        (f"call-timeout-{name}", (lambda v: lambda c: c.get_topic("t", timeout=v))(value),
         AmsArgumentException, "timeout")
        for name, value in (
            ("negative", -1), ("zero", 0), ("nan", float("nan")), ("inf", float("inf")),
            ("1-tuple", (1,)), ("3-tuple", (1, 2, 3)), ("str", "5"), ("bool", True),
            ("pair-negative", (1, -1)), ("pair-nan", (float("nan"), 5)), ("list", [1, 2]),
        )
    ],
    ("pull-timeout-nan", lambda c: c.pull_sub("sub", 5, timeout=float("nan")),
     AmsArgumentException, "timeout"),
    # ---- other requests keywords and call arguments
    ("kwarg-unknown", lambda c: c.get_topic("t", foo=1), AmsArgumentException, "unknown keyword"),
    ("kwarg-data", lambda c: c.get_topic("t", data="x"), AmsArgumentException, "data"),
    ("kwarg-json", lambda c: c.publish("t", {"data": "eA=="}, json={}), AmsArgumentException, "json"),
    ("kwarg-headers-str", lambda c: c.get_topic("t", headers="x"), AmsArgumentException, "headers"),
    ("kwarg-headers-int", lambda c: c.get_topic("t", headers={"X-A": 1}), AmsArgumentException,
     "headers"),
    ("kwarg-verify-int", lambda c: c.get_topic("t", verify=5), AmsArgumentException, "verify"),
    ("pullopt-object", lambda c: c.set_pullopt("maxMessages", object()), AmsArgumentException,
     "pull option"),
    ("registration-name-int", lambda c: c.create_registration(5), AmsArgumentException,
     "name must be a str"),
    # ---- bodies that JSON cannot hold, and other wrong types
    ("body-bytes", lambda c: c.create_project("P2", b"about"), AmsArgumentException,
     "cannot be sent as JSON"),
    ("body-nan", lambda c: c.create_schema("s", "json", {"maximum": float("nan")}),
     AmsArgumentException, "cannot be sent as JSON"),
    ("body-object", lambda c: c.validate_schema_message("s", {"a": object()}),
     AmsArgumentException, "cannot be sent as JSON"),
    ("pullopt-get-unhashable", lambda c: c.get_pullopt({"a": 1}), AmsServiceException,
     "Invalid pull option"),
    ("user-projects-bool", lambda c: c.update_user("bob", projects=True), AmsArgumentException,
     "projects must be a list"),
    ("route-name-dict", lambda c: c.do_get("https://x/v1/status", {"a": 1}), AmsArgumentException,
     "route_name"),
    ("url-for-route-int", lambda c: c.url_for(5), AmsArgumentException, "route_name"),
]

#: Client settings refused at construction: (id, keyword arguments, fragment of the message).
BAD_SETTINGS: list[tuple[str, dict[str, Any], str]] = [
    *[(f"timeout-{name}", {"timeout": value}, "timeout") for name, value in (
        ("negative", -1), ("zero", 0), ("nan", float("nan")), ("inf", float("inf")),
        ("1-tuple", (1,)), ("str", "30"), ("bool", False), ("pair-inf", (5, float("inf"))),
        ("pair-str", ("5", 5)),
    )],
    *[(f"endpoint-{name}", {"endpoint": value}, "invalid endpoint") for name, value in (
        ("port-0", "msg.example.org:0"), ("port-65536", "msg.example.org:65536"),
        ("port-99999", "msg.example.org:99999"), ("port-arabic-digits", "msg.example.org:٨٤"),
        ("port-fullwidth", "msg.example.org:８４４３"), ("port-empty", "msg.example.org:"),
        ("ipv6-port-0", "[::1]:0"), ("not-str", 8443),
    )],
    ("session-str", {"session": "http://proxy"}, "session must be a requests.Session"),
    ("verify-int", {"verify": 5}, "verify must be"),
    ("retry-policy-str", {"retry_policy": "exponential"}, "retry_policy must be"),
    ("pool-maxsize-str", {"pool_maxsize": "4"}, "pool_maxsize"),
    ("pool-maxsize-0", {"pool_maxsize": 0}, "pool_maxsize"),
    ("cert-int", {"token": "", "cert": 5, "key": "k.pem"}, "cert must be"),
    ("key-list", {"token": "", "cert": "c.pem", "key": ["k.pem"]}, "key must be"),
    *[(f"authn-port-{name}", {"authn_port": value}, "authn_port") for name, value in (
        ("0", 0), ("65536", 65536), ("str", "8443"), ("bool", True), ("negative", -1),
    )],
]


@pytest.mark.parametrize(("kwargs", "fragment"), [pytest.param(*row[1:], id=row[0])
                                                  for row in BAD_SETTINGS])
def test_bad_settings_are_refused_at_construction(nonet: responses.RequestsMock,
                                                  kwargs: dict[str, Any], fragment: str) -> None:
    kwargs = {"endpoint": "msg.example.org", "token": "t", "project": "DEMO", **kwargs}
    with pytest.raises(AmsArgumentException) as info:
        ArgoMessagingService(**kwargs)
    assert fragment in str(info.value)
    assert len(nonet.calls) == 0


@pytest.mark.parametrize("timeout", [None, 0.5, 30, (3.05, 27), (None, 10), (5, None)])
def test_valid_timeouts_are_accepted(nonet: responses.RequestsMock, timeout: Any) -> None:
    client = ArgoMessagingService("msg.example.org:443", token="t", project="DEMO", timeout=timeout)
    assert client.timeout == timeout
    client.close()


@pytest.mark.parametrize("endpoint", ["msg.example.org:1", "msg.example.org:65535", "[::1]:8443",
                                      "127.0.0.1"])
def test_valid_endpoints_are_accepted(endpoint: str) -> None:
    assert ArgoMessagingService(endpoint, token="t").endpoint == endpoint


@pytest.mark.parametrize(("call", "exc", "fragment"), [pytest.param(*row[1:], id=row[0]) for row in MATRIX])
def test_bad_input_is_refused_before_sending(ams: ArgoMessagingService, nonet: responses.RequestsMock,
                                             call: Call, exc: type, fragment: str) -> None:
    with pytest.raises(exc) as info:
        call(ams)
    assert fragment in str(info.value)
    assert len(nonet.calls) == 0


def test_an_over_limit_message_in_a_big_batch_publishes_nothing(ams: ArgoMessagingService,
                                                                 nonet: responses.RequestsMock) -> None:
    batch = [AmsMessage(data=f"m{i}") for i in range(5000)] + [AmsMessage(data=BIG)]
    with pytest.raises(AmsMessageException, match="message 5000 is too large"):
        ams.publish("t", batch)
    assert len(nonet.calls) == 0


def test_naive_timestamps_are_taken_as_utc(ams: ArgoMessagingService) -> None:
    """A deliberate choice, for scripts that pass ``datetime.utcnow()``: naive means UTC."""
    with responses.RequestsMock() as mock:
        mock.get("https://msg.example.org/v1/projects/DEMO/subscriptions/sub:timeToOffset",
                 json={"offset": 7})
        naive = datetime.datetime(2024, 5, 2, 9, 50, 1, 123999)
        assert ams.time_to_offset_sub("sub", naive) == 7
        assert mock.calls[0].request.url.endswith("time=2024-05-02T09:50:01.123Z")


def test_empty_data_and_unicode_are_valid(ams: ArgoMessagingService) -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://msg.example.org/v1/projects/DEMO/topics/t:publish",
                  json={"messageIds": ["0", "1"]})
        unicode_msg = AmsMessage(data="ünïcødé ✓", attributes={"ключ": "значение"})
        ids = ams.publish("t", [AmsMessage(data=""), unicode_msg])
        assert ids == {"messageIds": ["0", "1"]}
        body = mock.calls[0].request.body
        assert '"data":""' in body


def test_user_projects_accept_amsuserproject(ams: ArgoMessagingService) -> None:
    with responses.RequestsMock() as mock:
        mock.put("https://msg.example.org/v1/users/bob", json={"name": "bob"})
        ams.update_user("bob", projects=[AmsUserProject("DEMO", ["consumer"])])
        assert '"projects":[{"project":"DEMO","roles":["consumer"]}]' in mock.calls[0].request.body
