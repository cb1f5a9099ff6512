"""Mapping of replies and transport failures to exceptions (the one place: exception_from_reply)."""

from __future__ import annotations

import datetime

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from pymod import (
    AmsBalancerException,
    AmsBalancerTimeoutException,
    AmsConnectionException,
    AmsException,
    AmsResponseException,
    AmsServiceException,
    AmsTimeoutException,
)
from pymod.amsexceptions import exception_from_reply

from ._support import (
    BASE,
    HTML_CT,
    JSON_CT,
    OTHER_TOKEN,
    TEXT_CT,
    TOKEN,
    ams_error,
    html_page,
)

TOPIC_URL = BASE + "/projects/DEMO/topics/alerts"
DT = datetime.datetime(2024, 5, 2, 9, 50, 1)

#: (id, HTTP status, body, content type, exact class, code, AMS status, text in msg)
REPLIES = [
    ("400-invalid-argument", 400, ams_error(400, "INVALID_ARGUMENT", "Invalid topic name"), JSON_CT,
     AmsServiceException, 400, "INVALID_ARGUMENT", "Invalid topic name"),
    ("400-bad-request", 400, ams_error(400, "BAD_REQUEST", "Invalid Request Body"), JSON_CT,
     AmsServiceException, 400, "BAD_REQUEST", "Invalid Request Body"),
    ("401", 401, ams_error(401, "UNAUTHORIZED", "Unauthorized"), TEXT_CT,
     AmsServiceException, 401, "UNAUTHORIZED", "Unauthorized"),
    ("403", 403, ams_error(403, "FORBIDDEN", "Access to this resource is forbidden"), JSON_CT,
     AmsServiceException, 403, "FORBIDDEN", "Access to this resource is forbidden"),
    ("404", 404, ams_error(404, "NOT_FOUND", "Topic doesn't exist"), JSON_CT,
     AmsServiceException, 404, "NOT_FOUND", "Topic doesn't exist"),
    ("404-project-text-plain", 404, ams_error(404, "NOT_FOUND", "project doesn't exist"), TEXT_CT,
     AmsServiceException, 404, "NOT_FOUND", "project doesn't exist"),
    ("409-exists", 409, ams_error(409, "ALREADY_EXISTS", "Topic already exists"), JSON_CT,
     AmsServiceException, 409, "ALREADY_EXISTS", "Topic already exists"),
    ("409-conflict", 409, ams_error(409, "CONFLICT", "Push functionality is currently disabled"),
     JSON_CT, AmsServiceException, 409, "CONFLICT", "Push functionality is currently disabled"),
    ("413", 413, ams_error(413, "INVALID_ARGUMENT", "Message size is too large"), JSON_CT,
     AmsServiceException, 413, "INVALID_ARGUMENT", "Message size is too large"),
    ("500", 500, ams_error(500, "INTERNAL_SERVER_ERROR", "Backend Error"), JSON_CT,
     AmsServiceException, 500, "INTERNAL_SERVER_ERROR", "Backend Error"),
    ("408-ams-ack-timeout", 408, ams_error(408, "TIMEOUT", "ack timeout"), JSON_CT,
     AmsTimeoutException, 408, "TIMEOUT", "ack timeout"),
    ("502-html", 502, html_page(502, "Bad Gateway", "The server returned an invalid response."),
     HTML_CT, AmsBalancerException, 502, "", "502 Bad Gateway"),
    ("503-html", 503, html_page(503, "Service Unavailable", "No server is available."), HTML_CT,
     AmsBalancerException, 503, "", "503 Service Unavailable"),
    ("504-html", 504, html_page(504, "Gateway Time-out", "The server didn't respond in time."),
     HTML_CT, AmsBalancerTimeoutException, 504, "", "504 Gateway Time-out"),
    ("408-html", 408, html_page(408, "Request Time-out", "Your browser didn't send a request."),
     HTML_CT, AmsBalancerTimeoutException, 408, "", "408 Request Time-out"),
    ("404-router-text", 404, "404 page not found\n", TEXT_CT, AmsServiceException, 404, "",
     "404 page not found"),
    ("405-empty", 405, "", TEXT_CT, AmsServiceException, 405, "", "405"),
    ("418-garbage", 418, "\x00\xff I'm a teapot {{{", TEXT_CT, AmsServiceException, 418, "",
     "teapot"),
    ("599-garbage", 599, "<<garbage>>", "application/octet-stream", AmsServiceException, 599, "",
     "garbage"),
    ("500-json-without-error", 500, '{"message": "oops"}', JSON_CT, AmsServiceException, 500, "",
     "oops"),
    ("500-json-error-str", 500, '{"error": "boom"}', JSON_CT, AmsServiceException, 500, "", "boom"),
    ("500-json-list", 500, "[1, 2]", JSON_CT, AmsServiceException, 500, "", "[1, 2]"),
    ("302-redirect", 302, "", HTML_CT, AmsServiceException, 302, "", "302"),
]


@pytest.mark.parametrize(
    ("status", "body", "ctype", "cls", "code", "ams_status", "text"),
    [pytest.param(*row[1:], id=row[0]) for row in REPLIES],
)
def test_reply_maps_to_exception(ams, rsps, status, body, ctype, cls, code, ams_status, text):
    rsps.get(TOPIC_URL, body=body, status=status, content_type=ctype)
    with pytest.raises(AmsException) as info:
        ams.get_topic("alerts")
    exc = info.value
    assert type(exc) is cls
    assert exc.code == code
    assert exc.status == ams_status
    assert text in exc.msg
    assert exc.msg.startswith("While trying the [topic_get]: ")  # the original's route name
    assert exc.route == "topics:show"
    assert exc.body == body[:4096]
    assert TOKEN not in str(exc) and TOKEN not in repr(exc)
    assert len(str(exc)) < 400


def test_ams_408_is_a_timeout_but_not_a_balancer_error(ams, rsps):
    rsps.get(TOPIC_URL, body=ams_error(408, "TIMEOUT", "ack timeout"), status=408,
             content_type=JSON_CT)
    with pytest.raises(AmsTimeoutException) as info:
        ams.get_topic("alerts")
    assert not isinstance(info.value, AmsBalancerException)


@pytest.mark.parametrize("status", [504, 408])
def test_balancer_timeouts_are_both_kinds(ams, rsps, status):
    rsps.get(TOPIC_URL, body=html_page(status, "Time-out"), status=status, content_type=HTML_CT)
    with pytest.raises(AmsBalancerTimeoutException) as info:
        ams.get_topic("alerts")
    assert isinstance(info.value, AmsTimeoutException)
    assert isinstance(info.value, AmsBalancerException)
    assert isinstance(info.value, AmsServiceException)


@pytest.mark.parametrize("status", [502, 503])
def test_balancer_errors_are_not_timeouts(ams, rsps, status):
    rsps.get(TOPIC_URL, body=html_page(status, "Bad"), status=status, content_type=HTML_CT)
    with pytest.raises(AmsBalancerException) as info:
        ams.get_topic("alerts")
    assert not isinstance(info.value, AmsTimeoutException)


def test_json_error_body_with_text_plain_content_type_is_parsed(ams, rsps):
    rsps.get(TOPIC_URL, body=ams_error(401, "UNAUTHORIZED", "Unauthorized"), status=401,
             content_type=TEXT_CT)
    with pytest.raises(AmsServiceException) as info:
        ams.get_topic("alerts")
    assert (info.value.code, info.value.status, info.value.error_message) == (
        401, "UNAUTHORIZED", "Unauthorized")


@pytest.mark.parametrize("body", ["<html>ok</html>", "not json", "{truncated"],
                         ids=["html", "text", "truncated"])
def test_200_with_non_json_body_is_a_response_exception(ams, rsps, body):
    rsps.get(TOPIC_URL, body=body, status=200, content_type=JSON_CT)
    with pytest.raises(AmsResponseException) as info:
        ams.get_topic("alerts")
    assert info.value.code == 200
    assert info.value.body == body


def test_200_with_empty_body_is_an_empty_dict(ams, rsps):
    rsps.delete(TOPIC_URL, body="", status=200, content_type=JSON_CT)
    assert ams.delete_topic("alerts") == {}


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectionError("Connection refused"),
        requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"),
        requests.exceptions.ConnectTimeout("Connect timed out"),
        requests.exceptions.SSLError("certificate verify failed"),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
    ],
    ids=["connection", "read-timeout", "connect-timeout", "ssl", "chunked"],
)
def test_transport_failures_are_connection_exceptions(ams, rsps, error):
    rsps.get(TOPIC_URL, body=error)
    with pytest.raises(AmsConnectionException) as info:
        ams.get_topic("alerts")
    exc = info.value
    # a copy of the same type and text: the original carries the request, token header included
    assert type(exc.exp) is type(error) and str(exc.exp) == str(error)
    assert getattr(exc.exp, "request", None) is None and error.request is not None
    assert exc.route == "topics:show"
    assert type(error).__name__ in str(exc)
    assert exc.__cause__ is None and exc.__suppress_context__


# ---- the token never appears in exception texts -----------------------------------------------
def _texts(exc: BaseException) -> list:
    return [str(exc), repr(exc), getattr(exc, "msg", ""), *map(str, exc.args)]


@pytest.mark.parametrize(
    ("status", "body", "ctype"),
    [
        (404, ams_error(404, "NOT_FOUND", "User doesn't exist"), JSON_CT),
        (401, ams_error(401, "UNAUTHORIZED", "Unauthorized"), TEXT_CT),
        (502, html_page(502, "Bad Gateway"), HTML_CT),
        (504, html_page(504, "Gateway Time-out"), HTML_CT),
        (404, "404 page not found\n", TEXT_CT),
        (200, "<html>", HTML_CT),
    ],
)
def test_get_user_by_token_errors_do_not_show_the_token(ams, rsps, status, body, ctype):
    rsps.get(f"{BASE}/users:byToken/{OTHER_TOKEN}", body=body, status=status, content_type=ctype)
    with pytest.raises(AmsServiceException) as info:
        ams.get_user_by_token(OTHER_TOKEN)
    for text in _texts(info.value):
        assert OTHER_TOKEN not in text
        assert TOKEN not in text


@pytest.mark.parametrize(
    "error_cls",
    [requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout,
     requests.exceptions.SSLError],
)
def test_connection_error_messages_with_the_url_are_redacted(ams, rsps, error_cls):
    url = f"{BASE}/users:byToken/{OTHER_TOKEN}"
    error = error_cls(
        f"HTTPSConnectionPool(host='msg.example.org', port=443): Max retries exceeded with url: "
        f"/v1/users:byToken/{OTHER_TOKEN} (Caused by NewConnectionError('refused'))"
    )
    rsps.get(url, body=error)
    with pytest.raises(AmsConnectionException) as info:
        ams.get_user_by_token(OTHER_TOKEN)
    for text in _texts(info.value):
        assert OTHER_TOKEN not in text
    assert "users:byToken/***" in str(info.value)


def test_key_query_parameter_is_redacted_from_connection_errors(ams, rsps):
    error = requests.exceptions.ConnectionError(
        f"Max retries exceeded with url: /v1/projects/DEMO/topics/alerts?key={TOKEN}")
    rsps.get(TOPIC_URL, body=error)
    with pytest.raises(AmsConnectionException) as info:
        ams.get_topic("alerts")
    for text in _texts(info.value):
        assert TOKEN not in text


def test_str_stays_short_for_large_error_pages(ams, rsps):
    sentence = "An error page with a lot of explanation. " * 200
    rsps.get(TOPIC_URL, body=html_page(502, "Bad Gateway", sentence), status=502,
             content_type=HTML_CT)
    rsps.get(TOPIC_URL, body="x" * 50_000, status=500, content_type=TEXT_CT)
    for _ in range(2):
        with pytest.raises(AmsServiceException) as info:
            ams.get_topic("alerts")
        assert len(str(info.value)) < 400
        assert len(info.value.body) == 4096  # the raw body is kept (truncated) for diagnostics


def test_str_stays_short_for_huge_connection_errors(ams, rsps):
    rsps.get(TOPIC_URL, body=requests.exceptions.ConnectionError("reset " * 10_000))
    with pytest.raises(AmsConnectionException) as info:
        ams.get_topic("alerts")
    assert len(str(info.value)) < 400


# ---- exception_from_reply directly ------------------------------------------------------------
def test_exception_from_reply_keeps_envelope_code_and_status():
    exc = exception_from_reply(404, ams_error(404, "NOT_FOUND", "Schema doesn't exist"),
                               "schemas:show")
    assert type(exc) is AmsServiceException
    assert (exc.code, exc.status, exc.route) == (404, "NOT_FOUND", "schemas:show")
    assert exc.msg == "While trying the [schemas:show]: Schema doesn't exist"
    assert exc.error_message == "Schema doesn't exist"


def test_exception_from_reply_envelope_without_code_uses_http_status():
    exc = exception_from_reply(409, '{"error": {"message": "exists", "status": "ALREADY_EXISTS"}}',
                               "topics:create")
    assert exc.code == 409 and exc.status == "ALREADY_EXISTS"


@settings(max_examples=200, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599).filter(lambda s: s != 200),
    text=st.text(max_size=300).filter(lambda t: not t.lstrip().startswith("{")),
)
def test_any_non_json_reply_maps_to_a_typed_exception(status, text):
    exc = exception_from_reply(status, text, "topics:show")
    assert isinstance(exc, AmsServiceException)
    assert exc.code == status
    assert exc.status == ""
    assert isinstance(str(exc), str) and len(str(exc)) < 400
    if status in (502, 503, 504, 408):
        assert isinstance(exc, AmsBalancerException)


@settings(max_examples=100, deadline=None)
@given(
    status=st.integers(min_value=300, max_value=599),
    code=st.one_of(st.integers(min_value=100, max_value=599), st.text(max_size=5), st.none()),
    message=st.text(max_size=100),
    ams_status=st.one_of(st.sampled_from(["NOT_FOUND", "CONFLICT", ""]), st.none()),
)
def test_any_json_envelope_maps_without_key_errors(status, code, message, ams_status):
    import json

    body = json.dumps({"error": {"code": code, "message": message, "status": ams_status}})
    exc = exception_from_reply(status, body, "topics:show")
    assert isinstance(exc, AmsServiceException)
    assert isinstance(exc.code, int)
    assert exc.status == (ams_status or "")
    assert message in exc.msg


# ---- 200 replies that are JSON but not the shape the route promises --------------------------
@pytest.mark.parametrize(
    ("method", "path", "reply", "call"),
    [
        ("POST", "/projects/DEMO/subscriptions/alerts-sub:pull", "[]",
         lambda c: c.pull_sub("alerts-sub")),
        ("POST", "/projects/DEMO/subscriptions/alerts-sub:pull", '{"receivedMessages": [{}]}',
         lambda c: c.pull_sub("alerts-sub")),
        pytest.param("GET", "/projects/DEMO/subscriptions/alerts-sub:timeToOffset", "{}",
                   lambda c: c.time_to_offset_sub("alerts-sub", DT)),
        pytest.param("GET", "/projects/DEMO/subscriptions/alerts-sub:timeToOffset",
                   '{"offset": "abc"}', lambda c: c.time_to_offset_sub("alerts-sub", DT)),
        pytest.param("GET", "/projects/DEMO/subscriptions/alerts-sub:offsets", "{}",
                   lambda c: c.getoffsets_sub("alerts-sub", "current")),
        pytest.param("GET", "/projects/DEMO/subscriptions/alerts-sub:offsets", "[]",
                   lambda c: c.getoffsets_sub("alerts-sub")),
        pytest.param("GET", "/projects/DEMO/topics/alerts", "{}",
                   lambda c: c.get_topic("alerts", retobj=True)),
        pytest.param("GET", "/projects/DEMO/subscriptions/alerts-sub", "{}",
                   lambda c: c.get_sub("alerts-sub", retobj=True)),
        pytest.param("GET", "/projects/DEMO/topics/alerts", "{}", lambda c: c.topic("alerts")),
        pytest.param("GET", "/projects/DEMO/topics", "[]", lambda c: c.list_topics()),
        pytest.param("POST", "/projects/DEMO/topics/alerts:publish", "[]",
                   lambda c: c.publish("alerts", {"data": "YQ=="})),
        pytest.param("GET", "/users/alice", "[]", lambda c: c.get_user("alice")),
        pytest.param("GET", "/users", "[]", lambda c: c.list_users()),
    ],
    ids=["pull-list", "pull-item", "tto-missing", "tto-str", "offsets-missing", "offsets-list",
         "topic-retobj", "sub-retobj", "topic()", "list_topics-list", "publish-list",
         "get_user-list", "list_users-list"],
)
def test_malformed_200_reply_is_a_response_exception(ams, rsps, method, path, reply, call):
    rsps.add(method, BASE + path, body=reply, status=200, content_type=JSON_CT)
    with pytest.raises(AmsResponseException):
        call(ams)
