"""RetryPolicy and is_retryable: sleep times and retry decisions (network-free), then retries
through the client with ``responses``. Nothing here ever really sleeps."""

from __future__ import annotations

import logging
import random
import time

import pytest
import requests

from pymod import (
    AmsArgumentException,
    AmsBalancerException,
    AmsConnectionException,
    AmsMessage,
    AmsMessageException,
    AmsPublishException,
    AmsResponseException,
    AmsServiceException,
    AmsTimeoutException,
    RetryPolicy,
)
from pymod.amsexceptions import exception_from_reply
from pymod.retry import is_retryable

from ._support import (
    ACK_PREFIX,
    BASE,
    EMPTY_PULL,
    HTML_CT,
    JSON_CT,
    TOKEN,
    SleepRecorder,
    ams_error,
    html_page,
    make_client,
    pretty,
)


def conn_error() -> AmsConnectionException:
    return AmsConnectionException(requests.exceptions.ConnectionError("reset"), "topics:publish")


def balancer(status: int = 503) -> AmsServiceException:
    return exception_from_reply(status, html_page(status, "Service Unavailable"), "topics:publish")


def ams_json(status: int, ams_status: str, message: str) -> AmsServiceException:
    return exception_from_reply(status, ams_error(status, ams_status, message), "topics:publish")


class Script:
    """A callable that raises or returns the scripted outcomes in order, counting calls."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


# ---- delays -----------------------------------------------------------------------------------
def test_static_sleep():
    assert RetryPolicy(jitter=0).delays(3, retrysleep=5) == [5.0, 5.0, 5.0]


def test_default_retrysleep_is_60():
    assert RetryPolicy(jitter=0).delays(2) == [60.0, 60.0]


def test_no_retry_no_delays():
    assert RetryPolicy(jitter=0).delays(0, retrysleep=5) == []


def test_backoff_doubles():
    assert RetryPolicy(jitter=0).delays(5, retrysleep=99, retrybackoff=2) == [2, 4, 8, 16, 32]


def test_backoff_fractional_factor():
    assert RetryPolicy(jitter=0).delays(3, retrybackoff=0.5) == [0.5, 1.0, 2.0]


def test_backoff_is_capped():
    assert RetryPolicy(jitter=0, max_sleep=10).delays(5, retrybackoff=3) == [3, 6, 10, 10, 10]


def test_static_sleep_is_capped_by_default_at_300():
    assert RetryPolicy(jitter=0).delays(2, retrysleep=600) == [300.0, 300.0]


def test_jitter_shortens_within_bounds():
    policy = RetryPolicy(jitter=0.25, rng=random.Random(1234))
    delays = policy.delays(200, retrysleep=8)
    assert all(6.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 100  # really randomised
    assert min(delays) < 6.5 and max(delays) > 7.5  # spread over the range


def test_jitter_applies_after_the_cap():
    policy = RetryPolicy(jitter=0.5, max_sleep=10, rng=random.Random(7))
    delays = policy.delays(50, retrybackoff=4)
    assert all(0 < d <= 10 for d in delays)
    assert all(d >= 5.0 for d in delays[2:])  # capped at 10, shortened by at most half


def test_jitter_is_reproducible_with_a_seeded_rng():
    a = RetryPolicy(jitter=0.3, rng=random.Random(42)).delays(10, retrybackoff=1)
    b = RetryPolicy(jitter=0.3, rng=random.Random(42)).delays(10, retrybackoff=1)
    assert a == b


def test_full_jitter_bounds():
    delays = RetryPolicy(jitter=1.0, rng=random.Random(3)).delays(100, retrysleep=4)
    assert all(0.0 <= d <= 4.0 for d in delays)


def test_default_policy_uses_real_sleep_and_jitter():
    policy = RetryPolicy()
    assert policy.sleep is time.sleep
    assert policy.jitter == 0.25 and policy.max_sleep == 300.0


@pytest.mark.parametrize(
    ("retry", "retrysleep", "retrybackoff"),
    [(-1, 60, None), (1.5, 60, None), (True, 60, None), ("2", 60, None), (None, 60, None),
     (2, -1, None), (2, "5", None), (2, True, None), (2, 60, -2), (2, 60, "1"), (2, 60, False)],
)
def test_invalid_retry_arguments(retry, retrysleep, retrybackoff):
    with pytest.raises(AmsArgumentException):
        RetryPolicy(jitter=0).delays(retry, retrysleep, retrybackoff)
    with pytest.raises(AmsArgumentException):
        RetryPolicy(jitter=0, sleep=SleepRecorder()).run(Script("never"), retry, retrysleep,
                                                          retrybackoff)


@pytest.mark.parametrize("kwargs", [{"jitter": -0.1}, {"jitter": 1.5}, {"max_sleep": -1}])
def test_invalid_policy_settings(kwargs):
    with pytest.raises(AmsArgumentException):
        RetryPolicy(**kwargs)


# ---- run --------------------------------------------------------------------------------------
@pytest.mark.parametrize("retry", [0, 1, 3])
def test_run_gives_up_after_retry_plus_one_attempts(retry):
    sleeps = SleepRecorder()
    script = Script(*[conn_error() for _ in range(retry + 1)])
    with pytest.raises(AmsConnectionException):
        RetryPolicy(jitter=0, sleep=sleeps).run(script, retry, retrysleep=5)
    assert script.calls == retry + 1
    assert sleeps.calls == [5] * retry  # no sleep after the last attempt


def test_run_returns_first_success():
    sleeps = SleepRecorder()
    script = Script(balancer(503), conn_error(), "ok", "unused")
    assert RetryPolicy(jitter=0, sleep=sleeps).run(script, 5, retrybackoff=1) == "ok"
    assert script.calls == 3
    assert sleeps.calls == [1, 2]


def test_run_success_at_first_attempt_never_sleeps():
    sleeps = SleepRecorder()
    assert RetryPolicy(sleep=sleeps).run(Script(42), 3) == 42
    assert sleeps.calls == []


def test_run_sleeps_jittered_delays_in_order():
    sleeps = SleepRecorder()
    policy = RetryPolicy(jitter=0.25, sleep=sleeps, rng=random.Random(9))
    expected = RetryPolicy(jitter=0.25, rng=random.Random(9)).delays(3, retrybackoff=2)
    with pytest.raises(AmsBalancerException):
        policy.run(Script(*[balancer(502) for _ in range(4)]), 3, retrybackoff=2)
    assert sleeps.calls == expected


@pytest.mark.parametrize(
    "error",
    [
        ams_json(400, "INVALID_ARGUMENT", "Invalid Message Arguments"),
        ams_json(401, "UNAUTHORIZED", "Unauthorized"),
        ams_json(403, "FORBIDDEN", "Access to this resource is forbidden"),
        ams_json(404, "NOT_FOUND", "Topic doesn't exist"),
        ams_json(409, "CONFLICT", "Subscription's topic doesn't exist"),
        ams_json(413, "INVALID_ARGUMENT", "Message size is too large"),
        ams_json(500, "INTERNAL_SERVER_ERROR", "Backend Error"),
        ams_json(408, "TIMEOUT", "ack timeout"),
        exception_from_reply(404, "404 page not found\n", "topics:publish"),
        AmsResponseException({"error": {"code": 200, "message": "not JSON"}}, "topics:publish"),
        AmsMessageException("too large"),
        AmsArgumentException("bad name"),
    ],
    ids=["400", "401", "403", "404", "409", "413", "500", "ams-408", "router-404", "response",
         "message", "argument"],
)
def test_non_retryable_errors_are_raised_at_once(error):
    sleeps = SleepRecorder()
    script = Script(error, "unused")
    with pytest.raises(type(error)):
        RetryPolicy(jitter=0, sleep=sleeps).run(script, 5, retrysleep=1)
    assert script.calls == 1
    assert sleeps.calls == []


def test_non_ams_errors_propagate_at_once():
    script = Script(ValueError("bug"), "unused")
    with pytest.raises(ValueError):
        RetryPolicy(jitter=0, sleep=SleepRecorder()).run(script, 3)
    assert script.calls == 1


def test_run_logs_a_warning_per_retry_without_the_token(caplog):
    caplog.set_level(logging.WARNING, logger="pymod")
    error = AmsConnectionException(
        requests.exceptions.ConnectionError(f"url: /v1/users:byToken/{TOKEN}"), "users:byToken")
    with pytest.raises(AmsConnectionException):
        RetryPolicy(jitter=0, sleep=SleepRecorder()).run(Script(error, error, error), 2,
                                                          retrysleep=3, what="users:byToken")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("users:byToken" in r.getMessage() for r in warnings)
    assert TOKEN not in caplog.text


# ---- is_retryable -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (conn_error(), True),
        (AmsConnectionException(requests.exceptions.ReadTimeout("read"), "x"), True),
        (balancer(502), True),
        (balancer(503), True),
        (balancer(504), True),
        (exception_from_reply(408, html_page(408, "Request Time-out"), "x"), True),
        (ams_json(408, "TIMEOUT", "ack timeout"), False),
        (ams_json(500, "INTERNAL_SERVER_ERROR", "Backend Error"), False),
        (ams_json(404, "NOT_FOUND", "Topic doesn't exist"), False),
        (ams_json(409, "ALREADY_EXISTS", "Topic already exists"), False),
        (exception_from_reply(599, "garbage", "x"), False),
        (AmsResponseException({"error": {"code": 200}}, "x"), False),
        (AmsMessageException("m"), False),
        (AmsArgumentException("a"), False),
        (AmsPublishException(conn_error(), ["1"], [{"data": "eA=="}], 1), False),
        (AmsTimeoutException({"error": {"code": 408, "message": "ack timeout"}}, "x"), False),
        (ValueError("v"), False),
    ],
    ids=["connection", "read-timeout", "502", "503", "504", "html-408", "ams-408", "500", "404",
         "409", "599", "response", "message", "argument", "publish", "timeout-ctor", "valueerror"],
)
def test_is_retryable_truth_table(error, expected):
    assert is_retryable(error) is expected


# ---- through the client -----------------------------------------------------------------------
PUBLISH_URL = BASE + "/projects/DEMO/topics/alerts:publish"


def _html(rsps, status, url=PUBLISH_URL, method="POST"):
    rsps.add(method, url, body=html_page(status, "Service Unavailable"), status=status,
             content_type=HTML_CT)


def test_publish_retries_503_twice_then_succeeds(ams, rsps, sleeps):
    _html(rsps, 503)
    _html(rsps, 503)
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["5"]}), content_type=JSON_CT)
    result = ams.publish("alerts", AmsMessage(data="x"), retry=2, retrysleep=5)
    assert result == {"messageIds": ["5"]}
    assert len(rsps.calls) == 3
    assert sleeps.calls == [5, 5]
    bodies = {call.request.body for call in rsps.calls}
    assert len(bodies) == 1  # the same request every time


def test_publish_backoff_through_the_client(ams, rsps, sleeps):
    _html(rsps, 502)
    rsps.post(PUBLISH_URL, body=requests.exceptions.ConnectionError("reset"))
    _html(rsps, 504)
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["9"]}), content_type=JSON_CT)
    assert ams.publish("alerts", AmsMessage(data="x"), retry=3, retrybackoff=3)["messageIds"] == ["9"]
    assert sleeps.calls == [3, 6, 12]


def test_publish_exhausted_retries_raise_the_last_error(ams, rsps, sleeps):
    for _ in range(3):
        _html(rsps, 503)
    with pytest.raises(AmsBalancerException) as info:
        ams.publish("alerts", AmsMessage(data="x"), retry=2, retrysleep=5)
    assert info.value.code == 503
    assert len(rsps.calls) == 3
    assert sleeps.calls == [5, 5]


def test_no_retry_by_default(ams, rsps, sleeps):
    _html(rsps, 503)
    with pytest.raises(AmsBalancerException):
        ams.publish("alerts", AmsMessage(data="x"))
    assert len(rsps.calls) == 1 and sleeps.calls == []


def test_ams_json_error_is_not_retried_through_client(ams, rsps, sleeps):
    rsps.post(PUBLISH_URL, body=ams_error(500, "INTERNAL_SERVER_ERROR", "Backend Error"),
              status=500, content_type=JSON_CT)
    with pytest.raises(AmsServiceException):
        ams.publish("alerts", AmsMessage(data="x"), retry=5, retrysleep=1)
    assert len(rsps.calls) == 1 and sleeps.calls == []


def test_ack_timeout_is_not_retried(ams, rsps, sleeps):
    rsps.post(BASE + "/projects/DEMO/subscriptions/alerts-sub:acknowledge",
              body=ams_error(408, "TIMEOUT", "ack timeout"), status=408, content_type=JSON_CT)
    with pytest.raises(AmsTimeoutException):
        ams.ack_sub("alerts-sub", [ACK_PREFIX + "3"], retry=3, retrysleep=1)
    assert len(rsps.calls) == 1 and sleeps.calls == []


def test_pull_retries_read_timeouts(ams, rsps, sleeps):
    url = BASE + "/projects/DEMO/subscriptions/alerts-sub:pull"
    rsps.post(url, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(url, body=pretty(EMPTY_PULL), content_type=JSON_CT)
    assert ams.pull_sub("alerts-sub", retry=1, retrysleep=2) == []
    assert len(rsps.calls) == 2 and sleeps.calls == [2]


def test_retry_applies_to_plain_routes_through_reqkwargs(ams, rsps, sleeps):
    url = BASE + "/projects/DEMO/topics/alerts"
    _html(rsps, 502, url=url, method="GET")
    rsps.get(url, body=pretty({"name": "/projects/DEMO/topics/alerts"}), content_type=JSON_CT)
    assert ams.get_topic("alerts", retry=1, retrysleep=4)["name"].endswith("alerts")
    assert sleeps.calls == [4]


@pytest.mark.parametrize("kwargs", [{"retry": -1}, {"retry": 2, "retrysleep": -5},
                                    {"retry": "3"}, {"retry": 1, "retrybackoff": -1}])
def test_invalid_retry_arguments_through_client_send_nothing(ams, nonet, kwargs):
    with pytest.raises(AmsArgumentException):
        ams.publish("alerts", AmsMessage(data="x"), **kwargs)
    with pytest.raises(AmsArgumentException):
        ams.pullack_sub("alerts-sub", **kwargs)
    assert len(nonet.calls) == 0


def test_client_default_policy_is_a_retry_policy():
    from pymod import ArgoMessagingService

    from ._support import HOST

    client = ArgoMessagingService(HOST, token=TOKEN, project="DEMO")
    assert isinstance(client.retry_policy, RetryPolicy)
    assert client.retry_policy.sleep is time.sleep


# ---- lazy delays, non-finite values, 429 and Retry-After, deadlines ---------------------------
def test_delays_are_computed_lazily_for_a_huge_retry():
    import tracemalloc

    tracemalloc.start()
    delays = RetryPolicy(jitter=0).iter_delays(10**7, 1)
    first = [next(delays) for _ in range(3)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert first == [1.0, 1.0, 1.0]
    assert peak < 1_000_000  # a list of 10**7 floats would be ~80 MB


def test_a_long_backoff_does_not_overflow():
    delays = RetryPolicy(jitter=0, max_sleep=300).delays(2000, retrybackoff=1)
    assert len(delays) == 2000
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0] and delays[-1] == 300.0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("name", ["retrysleep", "retrybackoff"])
def test_non_finite_sleeps_are_refused_before_any_request(ams, nonet, name, value):
    with pytest.raises(AmsArgumentException, match=name):
        ams.publish("alerts", AmsMessage(data="x"), retry=2, **{name: value})


@pytest.mark.parametrize("kwargs", [{"max_sleep": float("nan")}, {"max_sleep": float("inf")},
                                    {"jitter": float("nan")}, {"deadline": 0},
                                    {"deadline": float("nan")}, {"deadline": "5"}])
def test_non_finite_policy_values_are_refused(kwargs):
    with pytest.raises(AmsArgumentException):
        RetryPolicy(**kwargs)


def _too_many(rsps, retry_after=None, url=PUBLISH_URL):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    rsps.post(url, body=ams_error(429, "TOO_MANY_REQUESTS", "slow down"), status=429,
              content_type=JSON_CT, headers=headers)


def test_429_is_retried_and_retry_after_replaces_the_sleep(ams, rsps, sleeps):
    _too_many(rsps, "7")
    _too_many(rsps)
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    assert ams.publish("alerts", AmsMessage(data="x"), retry=3, retrysleep=2) == {
        "messageIds": ["1"]}
    assert sleeps.calls == [7.0, 2.0]


def test_retry_after_is_capped_by_max_sleep(rsps, sleeps):
    client = make_client(sleeps, retry_policy=RetryPolicy(jitter=0, sleep=sleeps, max_sleep=5))
    _too_many(rsps, "3600")
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    client.publish("alerts", AmsMessage(data="x"), retry=1, retrysleep=1)
    assert sleeps.calls == [5.0]


def test_retry_after_past_the_deadline_raises_at_once(ams, rsps, sleeps):
    _too_many(rsps, "120")
    with pytest.raises(AmsServiceException) as info:
        ams.publish("alerts", AmsMessage(data="x"), retry=3, retrysleep=1, deadline=60)
    assert info.value.code == 429 and info.value.retry_after == 120.0
    assert sleeps.calls == [] and len(rsps.calls) == 1


def test_a_sleep_that_would_end_past_the_deadline_is_not_slept(ams, rsps, sleeps):
    _html(rsps, 503)
    _html(rsps, 503)
    with pytest.raises(AmsServiceException):
        ams.publish("alerts", AmsMessage(data="x"), retry=5, retrybackoff=20, deadline=30)
    assert sleeps.calls == [20.0] and len(rsps.calls) == 2  # 20 s fits, the next 40 s does not


def test_client_wide_deadline_from_the_policy(rsps, sleeps):
    client = make_client(sleeps, retry_policy=RetryPolicy(jitter=0, sleep=sleeps, deadline=10))
    _html(rsps, 503)
    with pytest.raises(AmsServiceException):
        client.publish("alerts", AmsMessage(data="x"), retry=5, retrysleep=11)
    assert sleeps.calls == [] and len(rsps.calls) == 1


@pytest.mark.parametrize("header", ["", "soon", "nan", "inf", "-5"])
def test_unusable_retry_after_falls_back_to_the_computed_sleep(ams, rsps, sleeps, header):
    _too_many(rsps, header)
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    ams.publish("alerts", AmsMessage(data="x"), retry=1, retrysleep=2)
    assert sleeps.calls == ([0.0] if header == "-5" else [2.0])


def test_retry_after_as_an_http_date(ams, rsps, sleeps):
    import email.utils
    import time as _time

    _too_many(rsps, email.utils.formatdate(_time.time() + 30, usegmt=True))
    rsps.post(PUBLISH_URL, body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    ams.publish("alerts", AmsMessage(data="x"), retry=1, retrysleep=2)
    assert len(sleeps.calls) == 1 and 27 <= sleeps.calls[0] <= 30
