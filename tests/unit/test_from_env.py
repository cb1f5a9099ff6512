"""``ArgoMessagingService.from_env()`` (pymod.envconfig) and the client-wide retry policy."""

from __future__ import annotations

import inspect
import json

import pytest
import responses

from pymod import AmsArgumentException, ArgoMessagingService, RetryPolicy
from pymod.envconfig import ENV_VARS

from ._support import BASE, HOST, PROJECT, TOKEN, SleepRecorder

P = f"{BASE}/projects/{PROJECT}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def test_from_env_reads_every_variable(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until a request")
    env = {"AMS_HOST": f"{HOST}:8443", "AMS_TOKEN": TOKEN, "AMS_PROJECT": PROJECT,
           "AMS_CA": str(ca), "AMS_TIMEOUT": "7.5", "AMS_RETRY": "3", "AMS_RETRY_BACKOFF": "0.5"}
    ams = ArgoMessagingService.from_env(env)
    assert (ams.endpoint, ams.project, ams.token, ams.timeout) == (f"{HOST}:8443", PROJECT, TOKEN, 7.5)
    assert ams._defaults["verify"] == str(ca)
    assert ams.retry_policy.retry == 3 and ams.retry_policy.retrybackoff == 0.5


def test_from_env_defaults_to_os_environ_and_keywords_win(monkeypatch):
    monkeypatch.setenv("AMS_HOST", HOST)
    monkeypatch.setenv("AMS_TOKEN", TOKEN)
    monkeypatch.setenv("AMS_PROJECT", PROJECT)
    policy = RetryPolicy(retry=1)
    ams = ArgoMessagingService.from_env(project="OTHER", retry_policy=policy)
    assert (ams.endpoint, ams.project, ams.retry_policy) == (HOST, "OTHER", policy)
    assert isinstance(ams, ArgoMessagingService)


def test_token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    ams = ArgoMessagingService.from_env({"AMS_HOST": HOST, "AMS_TOKEN_FILE": str(path)})
    assert ams.token == TOKEN and ams.project == ""


@pytest.mark.parametrize("env, text", [
    ({}, "no AMS host: set AMS_HOST"),
    ({"AMS_HOST": HOST}, "no token: set AMS_TOKEN"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_TOKEN_FILE": "/x"}, "not both"),
    ({"AMS_HOST": HOST, "AMS_TOKEN_FILE": "/nonexistent/token"},
     "AMS_TOKEN_FILE: cannot read the token file '/nonexistent/token'"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_CA": "/nonexistent/ca.pem"},
     "AMS_CA: CA file '/nonexistent/ca.pem' does not exist"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_TIMEOUT": "soon"}, "AMS_TIMEOUT must be a number > 0"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_TIMEOUT": "0"}, "AMS_TIMEOUT must be a number > 0"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_RETRY": "-1"}, "AMS_RETRY must be an integer >= 0"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_RETRY_BACKOFF": "nan"}, "AMS_RETRY_BACKOFF must be"),
    ({"AMS_HOST": "https://x/", "AMS_TOKEN": TOKEN}, "invalid endpoint"),
    ({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_PROJECT": "../users"}, "project"),
])
def test_missing_or_invalid_variables_are_typed_errors_without_the_token(env, text):
    with pytest.raises(AmsArgumentException) as info:
        ArgoMessagingService.from_env(env)
    assert text in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_cert_needs_key(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(AmsArgumentException, match="AMS_CERT and AMS_KEY go together"):
        ArgoMessagingService.from_env({"AMS_HOST": HOST, "AMS_CERT": str(cert)})


def test_empty_token_file_is_refused_by_name(tmp_path):
    path = tmp_path / "token"
    path.write_text("\n")
    with pytest.raises(AmsArgumentException, match="is empty"):
        ArgoMessagingService.from_env({"AMS_HOST": HOST, "AMS_TOKEN_FILE": str(path)})


# ---- the client-wide retry policy ----------------------------------------------------------
def test_seed_per_call_defaults_stay():
    for method in (ArgoMessagingService.publish, ArgoMessagingService.pull_sub):
        params = inspect.signature(method).parameters
        assert (params["retry"].default, params["retrysleep"].default,
                params["retrybackoff"].default) == (0, 60, None)


def _flaky(mock: responses.RequestsMock, failures: int) -> None:
    for _ in range(failures):
        mock.get(f"{P}/topics/t", status=503, body="<html>503</html>", content_type="text/html")
    mock.get(f"{P}/topics/t", json={"name": f"/projects/{PROJECT}/topics/t"})


def test_client_policy_retries_calls_without_retry_arguments():
    sleeps = SleepRecorder()
    ams = ArgoMessagingService(HOST, token=TOKEN, project=PROJECT,
                               retry_policy=RetryPolicy(retry=2, jitter=0, sleep=sleeps))
    with responses.RequestsMock() as mock:
        _flaky(mock, 2)
        assert ams.get_topic("t")["name"].endswith("/t")
        assert len(mock.calls) == 3
    assert sleeps.calls == [1.0, 2.0]  # the policy's backoff: 1 s, then 2 s


def test_a_calls_own_retry_wins_over_the_policy():
    sleeps = SleepRecorder()
    ams = ArgoMessagingService(HOST, token=TOKEN, project=PROJECT,
                               retry_policy=RetryPolicy(retry=5, jitter=0, sleep=sleeps))
    with responses.RequestsMock() as mock:
        _flaky(mock, 1)
        ams.get_topic("t", retry=1, retrysleep=7)
    assert sleeps.calls == [7.0]


def test_default_policy_retries_nothing():
    ams = ArgoMessagingService(HOST, token=TOKEN, project=PROJECT)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _flaky(mock, 1)
        with pytest.raises(Exception, match="503"):
            ams.get_topic("t")
        assert len(mock.calls) == 1


def test_policy_rejects_bad_retry_values():
    with pytest.raises(AmsArgumentException):
        RetryPolicy(retry=-1)
    with pytest.raises(AmsArgumentException):
        RetryPolicy(retrybackoff=-2)


def test_from_env_retry_reaches_the_publish_path():
    sleeps = SleepRecorder()
    ams = ArgoMessagingService.from_env({"AMS_HOST": HOST, "AMS_TOKEN": TOKEN,
                                         "AMS_PROJECT": PROJECT, "AMS_RETRY": "1",
                                         "AMS_RETRY_BACKOFF": "0"})
    ams.retry_policy.sleep = sleeps
    with responses.RequestsMock() as mock:
        mock.post(f"{P}/topics/t:publish", status=502, body="bad gateway", content_type="text/html")
        mock.post(f"{P}/topics/t:publish", json={"messageIds": ["0"]})
        from pymod import AmsMessage

        assert ams.publish("t", [AmsMessage(data="x")])["messageIds"] == ["0"]
        assert json.loads(mock.calls[1].request.body)["messages"][0]["data"] == "eA=="
    assert sleeps.calls == [0.0]
