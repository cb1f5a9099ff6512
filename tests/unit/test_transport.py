"""AmsHttpRequests: session reuse and ownership, timeouts, TLS/proxy settings from the
environment, redirects, the token (header, repr, logs) and the x509 token exchange."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
import requests
import requests.adapters
import responses

from pymod import (
    AmsArgumentException,
    AmsConnectionException,
    AmsHttpRequests,
    AmsMessage,
    AmsServiceException,
    ArgoMessagingService,
    RetryPolicy,
)
from pymod.transport import DEFAULT_TIMEOUT

from ._support import (
    ACK_PREFIX,
    ALICE,
    BASE,
    HOST,
    HTML_CT,
    JSON_CT,
    OTHER_TOKEN,
    PULL_REPLY,
    TOKEN,
    TOPIC,
    SleepRecorder,
    ams_error,
    body_of,
    html_page,
    make_client,
    pretty,
)

TOPIC_URL = BASE + "/projects/DEMO/topics/alerts"
AUTHN_URL = f"https://{HOST}:8443/v1/service-types/ams/hosts/{HOST}:authx509"


def _topic(rsps, times=1):
    for _ in range(times):
        rsps.get(TOPIC_URL, body=pretty(TOPIC), content_type=JSON_CT)


# ---- one session, reused, owned or injected ---------------------------------------------------
def _spy_sessions():
    """Patch ``Session.send`` (every path of the transport ends there) and ``Session.close``."""
    real_send = requests.Session.send
    return (mock.patch.object(requests.Session, "send", autospec=True, side_effect=real_send),
            mock.patch.object(requests.Session, "close", autospec=True))


def test_owned_session_is_reused_and_closed_by_close(rsps):
    _topic(rsps, 3)
    rsps.post(TOPIC_URL + ":publish", body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    patch_send, patch_close = _spy_sessions()
    with patch_send as spy_send, patch_close as spy_close:
        client = make_client()
        for _ in range(3):
            client.get_topic("alerts")
        client.publish("alerts", AmsMessage(data="x"), timeout=5)
        sessions = {id(call.args[0]) for call in spy_send.call_args_list}
        assert spy_send.call_count == 4
        assert len(sessions) == 1  # one keep-alive session for every call
        spy_close.assert_not_called()
        client.close()
        assert spy_close.call_count == 1
        assert id(spy_close.call_args.args[0]) in sessions


def test_owned_session_is_closed_by_with(rsps):
    _topic(rsps)
    patch_send, patch_close = _spy_sessions()
    with patch_send as spy_send, patch_close as spy_close:
        with make_client() as client:
            assert isinstance(client, ArgoMessagingService)
            client.get_topic("alerts")
        assert spy_close.call_count == 1
        assert spy_close.call_args.args[0] is spy_send.call_args.args[0]


def test_owned_session_keeps_connections_alive():
    client = make_client(pool_maxsize=7)
    adapter = client._session.get_adapter("https://msg.example.org/v1/status")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    assert adapter._pool_maxsize == 7
    assert adapter.max_retries.total == 0  # retries are the client's business, not urllib3's
    assert "Connection" not in client._session.headers or (
        client._session.headers["Connection"].lower() == "keep-alive")


def test_injected_session_is_used_and_left_open(rsps):
    _topic(rsps, 2)
    session = requests.Session()
    with mock.patch.object(session, "request", wraps=session.request) as spy_request, \
            mock.patch.object(session, "close", wraps=session.close) as spy_close:
        client = make_client(session=session)
        client.get_topic("alerts")
        with client:
            client.get_topic("alerts")
        client.close()
        assert spy_request.call_count == 2
        spy_close.assert_not_called()
    assert rsps.calls[0].request.headers["x-api-key"] == TOKEN


def test_injected_session_settings_are_left_as_they_are(rsps, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    _topic(rsps)
    session = requests.Session()
    session.verify = "/etc/pki/session-ca.pem"
    client = make_client(session=session)
    assert session.trust_env is True
    client.get_topic("alerts")
    sent = rsps.calls[0].request.req_kwargs
    assert sent["verify"] == "/etc/pki/session-ca.pem"
    assert sent["proxies"].get("https") == "http://proxy.example.org:3128"


# ---- timeouts -------------------------------------------------------------------------------
def test_default_timeout_applies_and_per_call_timeout_wins(ams, rsps):
    _topic(rsps, 3)
    ams.get_topic("alerts")
    ams.get_topic("alerts", timeout=3)
    ams.get_topic("alerts", timeout=(1.5, 9))
    timeouts = [call.request.req_kwargs["timeout"] for call in rsps.calls]
    assert timeouts == [DEFAULT_TIMEOUT, 3, (1.5, 9)]
    assert DEFAULT_TIMEOUT == 30.0


def test_client_timeout_setting(rsps):
    _topic(rsps)
    make_client(timeout=(2, 20)).get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["timeout"] == (2, 20)


def test_timeout_applies_with_injected_session(rsps):
    _topic(rsps)
    make_client(session=requests.Session()).get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["timeout"] == DEFAULT_TIMEOUT


# ---- TLS verification and proxies from the environment ----------------------------------------
def test_requests_ca_bundle_is_honoured(rsps, monkeypatch, tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    _topic(rsps, 2)
    client = make_client()
    client.get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["verify"] == str(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/elsewhere.pem")  # settings are resolved once
    client.get_topic("alerts")
    assert rsps.calls[1].request.req_kwargs["verify"] == str(bundle)


def test_curl_ca_bundle_is_honoured(rsps, monkeypatch):
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/pki/curl-ca.pem")
    _topic(rsps)
    make_client().get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["verify"] == "/etc/pki/curl-ca.pem"


def test_explicit_verify_wins_over_the_environment(rsps, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/pki/env-ca.pem")
    _topic(rsps, 2)
    make_client(verify="/etc/pki/ams-ca.pem").get_topic("alerts")
    make_client().get_topic("alerts", verify="/etc/pki/call-ca.pem")
    assert rsps.calls[0].request.req_kwargs["verify"] == "/etc/pki/ams-ca.pem"
    assert rsps.calls[1].request.req_kwargs["verify"] == "/etc/pki/call-ca.pem"


def test_verify_defaults_to_true(rsps):
    _topic(rsps)
    make_client().get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["verify"] is True


def test_https_proxy_is_honoured(rsps, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    _topic(rsps)
    make_client().get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["proxies"].get("https") == "http://proxy.example.org:3128"


@pytest.mark.parametrize("no_proxy", ["msg.example.org", ".example.org", "example.org", "*",
                                      "other.org,msg.example.org"])
def test_no_proxy_is_honoured(rsps, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    _topic(rsps)
    make_client().get_topic("alerts")
    assert "https" not in rsps.calls[0].request.req_kwargs["proxies"]


def test_no_proxy_for_other_hosts_keeps_the_proxy(rsps, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example.org:3128")
    monkeypatch.setenv("no_proxy", "internal.example.net")
    _topic(rsps)
    make_client().get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["proxies"]["https"] == "http://proxy.example.org:3128"


def test_verify_false_warns_once(rsps, caplog, monkeypatch):
    monkeypatch.setattr(AmsHttpRequests, "_warned_unverified", False)
    caplog.set_level(logging.WARNING, logger="pymod")
    _topic(rsps, 3)
    client = make_client(verify=False)
    for _ in range(3):
        client.get_topic("alerts")
    assert rsps.calls[0].request.req_kwargs["verify"] is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "verif" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


# ---- redirects are never followed ------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(status):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(TOPIC_URL, status=status, headers={"Location": "https://evil.example.net/steal"})
        rsps.get("https://evil.example.net/steal", body="{}", content_type=JSON_CT)
        client = make_client()
        with pytest.raises(AmsServiceException) as info:
            client.get_topic("alerts")
        assert info.value.code == status
        # the other host never sees a request, so it never sees the x-api-key header
        assert [c.request.url for c in rsps.calls] == [TOPIC_URL]


# ---- the token -------------------------------------------------------------------------------
def test_repr_has_no_token():
    client = make_client()
    for text in (repr(client), str(client)):
        assert TOKEN not in text
        assert HOST in text
    transport = AmsHttpRequests(HOST, 8443, token=TOKEN)
    assert TOKEN not in repr(transport)


def test_token_is_sent_as_x_api_key_header_only(ams, rsps):
    _topic(rsps)
    ams.get_topic("alerts")
    request = rsps.calls[0].request
    assert request.headers["x-api-key"] == TOKEN
    assert "key=" not in request.url and TOKEN not in request.url


def test_assign_token_replaces_the_header(ams, rsps):
    _topic(rsps, 2)
    ams.assign_token(OTHER_TOKEN, "", "")
    ams.get_topic("alerts")
    assert ams.token == OTHER_TOKEN
    assert rsps.calls[0].request.headers["x-api-key"] == OTHER_TOKEN
    ams.token = TOKEN
    ams.get_topic("alerts")
    assert rsps.calls[1].request.headers["x-api-key"] == TOKEN


def test_assign_token_without_token_or_cert_fails_locally(ams, nonet):
    with pytest.raises(AmsServiceException) as info:
        ams.assign_token("", "", "")
    assert info.value.code == 400
    assert len(nonet.calls) == 0


def test_debug_logging_never_contains_the_token(ams, rsps, caplog):
    caplog.set_level(logging.DEBUG)
    publish_url = TOPIC_URL + ":publish"
    sub = BASE + "/projects/DEMO/subscriptions/alerts-sub"
    by_token = f"{BASE}/users:byToken/{OTHER_TOKEN}"
    by_own_token = f"{BASE}/users:byToken/{TOKEN}"
    _topic(rsps)
    rsps.post(publish_url, body=html_page(503, "Service Unavailable"), status=503,
              content_type=HTML_CT)
    rsps.post(publish_url, body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    rsps.post(sub + ":pull", body=pretty(PULL_REPLY), content_type=JSON_CT)
    rsps.post(sub + ":acknowledge", body="{}", content_type=JSON_CT)
    rsps.get(by_token, body=pretty(ALICE), content_type=JSON_CT)
    rsps.get(by_own_token, body=ams_error(404, "NOT_FOUND", "User doesn't exist"), status=404,
             content_type=JSON_CT)
    rsps.get(by_token, body=requests.exceptions.ConnectionError(
        f"Max retries exceeded with url: /v1/users:byToken/{OTHER_TOKEN}"))
    rsps.get(by_token, body=pretty(ALICE), content_type=JSON_CT)

    ams.get_topic("alerts")
    ams.publish("alerts", AmsMessage(data="x"), retry=1, retrysleep=1)
    msgs = ams.pull_sub("alerts-sub", num=2, return_immediately=True)
    ams.ack_sub("alerts-sub", [msgs[-1][0]])
    ams.get_user_by_token(OTHER_TOKEN)
    with pytest.raises(AmsServiceException):
        ams.get_user_by_token(TOKEN)
    ams.get_user_by_token(OTHER_TOKEN, retry=1, retrysleep=1)

    assert len(rsps.calls) == 9
    pymod_records = [r for r in caplog.records if r.name.startswith("pymod")]
    assert len(pymod_records) >= 9  # every call was logged ...
    assert any("users:byToken/***" in r.getMessage() for r in pymod_records)
    for record in caplog.records:  # ... and no record of any logger shows a token
        text = record.getMessage()
        assert TOKEN not in text and OTHER_TOKEN not in text
    assert TOKEN not in caplog.text and OTHER_TOKEN not in caplog.text


# ---- x509 token exchange --------------------------------------------------------------------
@pytest.fixture
def certfiles(tmp_path):
    cert, key = tmp_path / "user.pem", tmp_path / "user.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    return str(cert), str(key)


def test_auth_via_cert_on_construction(rsps, certfiles):
    cert, key = certfiles
    rsps.get(AUTHN_URL, body=pretty({"token": TOKEN}), content_type=JSON_CT)
    _topic(rsps)
    client = ArgoMessagingService(HOST, project="DEMO", cert=cert, key=key,
                                  retry_policy=RetryPolicy(jitter=0, sleep=SleepRecorder()))
    assert client.token == TOKEN
    authn = rsps.calls[0].request
    assert authn.method == "GET"
    assert authn.url == AUTHN_URL
    assert "x-api-key" not in authn.headers
    assert authn.req_kwargs["cert"] == (cert, key)
    assert authn.req_kwargs["timeout"] == DEFAULT_TIMEOUT
    client.get_topic("alerts")
    assert rsps.calls[1].request.headers["x-api-key"] == TOKEN


def test_auth_via_cert_uses_authn_port_and_bare_host(rsps, certfiles):
    cert, key = certfiles
    url = f"https://{HOST}:9443/v1/service-types/ams/hosts/{HOST}:authx509"
    rsps.get(url, body=pretty({"token": TOKEN}), content_type=JSON_CT)
    client = ArgoMessagingService(f"{HOST}:8080", project="DEMO", cert=cert, key=key,
                                  authn_port=9443)
    assert client.token == TOKEN
    assert rsps.calls[0].request.url == url


def test_auth_via_cert_never_sends_the_current_token(ams, rsps, certfiles):
    cert, key = certfiles
    rsps.get(AUTHN_URL, body=pretty({"token": OTHER_TOKEN}), content_type=JSON_CT)
    assert ams.auth_via_cert(cert, key, timeout=5) == OTHER_TOKEN
    request = rsps.calls[0].request
    assert "x-api-key" not in request.headers
    assert request.req_kwargs["timeout"] == 5
    assert ams.token == TOKEN  # auth_via_cert only returns the token


def test_token_given_skips_the_exchange(nonet, certfiles):
    cert, key = certfiles
    client = ArgoMessagingService(HOST, token=TOKEN, project="DEMO", cert=cert, key=key)
    assert client.token == TOKEN
    assert len(nonet.calls) == 0


def test_no_token_and_no_cert_fails_locally(nonet):
    with pytest.raises(AmsServiceException) as info:
        ArgoMessagingService(HOST, project="DEMO")
    assert info.value.code == 400
    assert "No certificate provided. No token provided." in info.value.msg
    assert len(nonet.calls) == 0


@pytest.mark.parametrize("missing", ["cert", "key"])
def test_missing_certificate_file(certfiles, tmp_path, missing):
    # as argo-ams-library: requests cannot load the file, a connection error of auth_x509
    cert, key = certfiles
    if missing == "cert":
        cert = str(tmp_path / "nope.pem")
    else:
        key = str(tmp_path / "nope.key")
    with pytest.raises(AmsConnectionException) as info:
        ArgoMessagingService("127.0.0.1:9", project="DEMO", cert=cert, key=key, authn_port=9)
    assert info.value.msg.startswith("While trying the [auth_x509]: OSError(")
    assert "nope" in info.value.msg


@pytest.mark.parametrize("reply", [{}, {"token": ""}, {"token": None}, {"tok": TOKEN}, [TOKEN]],
                         ids=["empty", "empty-token", "null", "other-key", "list"])
def test_authn_reply_without_token_is_an_error(rsps, certfiles, reply):
    cert, key = certfiles
    rsps.get(AUTHN_URL, body=pretty(reply), content_type=JSON_CT)
    with pytest.raises(AmsServiceException):
        ArgoMessagingService(HOST, project="DEMO", cert=cert, key=key)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_authn_refusal_is_a_service_exception(rsps, certfiles, status):
    cert, key = certfiles
    rsps.get(AUTHN_URL, body=f'{{"error": {{"code": {status}, "message": "refused"}}}}',
             status=status, content_type=JSON_CT)
    with pytest.raises(AmsServiceException) as info:
        ArgoMessagingService(HOST, project="DEMO", cert=cert, key=key)
    assert info.value.code == status


def test_authn_unreachable_is_a_connection_exception(rsps, certfiles):
    cert, key = certfiles
    rsps.get(AUTHN_URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(AmsConnectionException):
        ArgoMessagingService(HOST, project="DEMO", cert=cert, key=key)


# ---- do_* and url_for -------------------------------------------------------------------------
def test_do_methods(rsps):
    transport = AmsHttpRequests(HOST, 8443, token=TOKEN,
                                retry_policy=RetryPolicy(jitter=0, sleep=SleepRecorder()))
    sub = BASE + "/projects/DEMO/subscriptions/alerts-sub"
    rsps.get(TOPIC_URL, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.put(TOPIC_URL, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.post(sub + ":acknowledge", body=html_page(502, "Bad Gateway"), status=502,
              content_type=HTML_CT)
    rsps.post(sub + ":acknowledge", body="{}", content_type=JSON_CT)
    rsps.delete(TOPIC_URL, body="", content_type=JSON_CT)
    assert transport.do_get(TOPIC_URL, "topic_get") == TOPIC  # legacy route name
    assert transport.do_put(TOPIC_URL, None, "topics:create", timeout=4) == TOPIC
    assert transport.do_post(sub + ":acknowledge", {"ackIds": [ACK_PREFIX + "1"]}, "sub_ack",
                             retry=1, retrysleep=0) == {}
    assert transport.do_delete(TOPIC_URL, "topic_delete") == {}
    methods = [c.request.method for c in rsps.calls]
    assert methods == ["GET", "PUT", "POST", "POST", "DELETE"]
    assert body_of(rsps.calls[2].request) == {"ackIds": [ACK_PREFIX + "1"]}
    assert rsps.calls[1].request.req_kwargs["timeout"] == 4
    assert all(c.request.headers["x-api-key"] == TOKEN for c in rsps.calls)
    assert all(c.request.headers["Content-Type"] == "application/json" for c in rsps.calls)


def test_unknown_route_name_is_refused(nonet):
    transport = AmsHttpRequests(HOST, 8443, token=TOKEN)
    with pytest.raises(AmsArgumentException):
        transport.do_get(TOPIC_URL, "no_such_route")
    with pytest.raises(AmsArgumentException):
        transport._make_request(TOPIC_URL)
    assert len(nonet.calls) == 0


def test_url_for(ams):
    assert ams.url_for("topics:publish", project="DEMO", topic="alerts") == (
        BASE + "/projects/DEMO/topics/alerts:publish")
    assert ams.url_for("users:list", {"pageToken": "a+b/c=", "pageSize": None}) == (
        BASE + "/users?pageToken=a%2Bb%2Fc%3D")
    with pytest.raises(AmsArgumentException):
        ams.url_for("topics:show", project="DEMO", topic="../users")
    with pytest.raises(AmsArgumentException):
        ams.url_for("topics:show", project="DEMO")


def test_followed_redirect_to_another_host_drops_the_token(rsps):
    """Even when a caller asks for redirects, x-api-key is not sent to another host."""
    client = make_client()
    rsps.get(f"{BASE}/projects/DEMO/topics/alerts", status=302,
             headers={"Location": "https://elsewhere.example.net/steal"})
    rsps.get("https://elsewhere.example.net/steal", json={"name": "/projects/DEMO/topics/alerts"})
    client.get_topic("alerts", allow_redirects=True)
    assert rsps.calls[0].request.headers["x-api-key"] == TOKEN
    assert "x-api-key" not in rsps.calls[1].request.headers


def test_per_call_verify_false_warns_once_per_client(caplog, rsps):
    client = make_client()
    rsps.get(f"{BASE}/projects/DEMO/topics/alerts", json={"name": "/projects/DEMO/topics/alerts"})
    rsps.get(f"{BASE}/projects/DEMO/topics/alerts", json={"name": "/projects/DEMO/topics/alerts"})
    with caplog.at_level("WARNING", logger="pymod"):
        client.get_topic("alerts", verify=False)
        client.get_topic("alerts", verify=False)
    warnings = [r for r in caplog.records if "verification is disabled" in r.getMessage()]
    assert len(warnings) == 1


# ---- bounded replies, deadlines (mocked; the real-socket cases are in tests/adversarial) -------
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_max_reply_bytes_must_be_a_positive_int(value):
    with pytest.raises(AmsArgumentException, match="max_reply_bytes"):
        make_client(max_reply_bytes=value)


@pytest.mark.parametrize("path", ["owned", "injected"])
def test_a_reply_past_max_reply_bytes_is_typed(rsps, path):
    from pymod import AmsReplyTooLargeException

    kwargs = {"session": requests.Session()} if path == "injected" else {}
    client = make_client(max_reply_bytes=1000, **kwargs)
    rsps.get(TOPIC_URL, body=pretty({"name": "x" * 2000}), content_type=JSON_CT)
    with pytest.raises(AmsReplyTooLargeException, match="max_reply_bytes=1000"):
        client.get_topic("alerts")


def test_a_gzip_reply_is_decoded_and_bounded(rsps):
    import gzip

    from pymod import AmsReplyTooLargeException

    client = make_client(max_reply_bytes=5000)
    small = gzip.compress(pretty(TOPIC).encode())
    big = gzip.compress(pretty({"name": "x" * 10_000}).encode())
    assert len(big) < 5000
    rsps.get(TOPIC_URL, body=small, content_type=JSON_CT, headers={"Content-Encoding": "gzip"})
    rsps.get(TOPIC_URL, body=big, content_type=JSON_CT, headers={"Content-Encoding": "gzip"})
    assert client.get_topic("alerts") == TOPIC
    with pytest.raises(AmsReplyTooLargeException, match="decompressed"):
        client.get_topic("alerts")


@pytest.mark.parametrize("deadline", [0, -1, float("nan"), float("inf"), "5", True])
def test_an_invalid_deadline_is_refused_before_sending(ams, nonet, deadline):
    with pytest.raises(AmsArgumentException, match="deadline"):
        ams.get_topic("alerts", deadline=deadline)


def test_a_non_json_200_to_a_get_is_retried(ams, rsps, sleeps):
    rsps.get(TOPIC_URL, body="<html>maintenance</html>", content_type=HTML_CT)
    _topic(rsps)
    assert ams.get_topic("alerts", retry=1, retrysleep=3) == TOPIC
    assert sleeps.calls == [3]


@pytest.mark.parametrize(("timeout", "end", "expected"), [
    (None, None, None), (None, 150.0, 150.0), (1, None, 102.0), ((1, 2), None, 103.0),
    ((1, 2), 101.0, 101.0), ((None, 3), None, None), ("x", None, None), ((1,), 150.0, 150.0),
    (float("nan"), None, None), (float("inf"), 150.0, 150.0),
])
def test_attempt_deadline_is_connect_plus_read_capped_by_the_call(timeout, end, expected):
    from pymod.wire import attempt_deadline

    assert attempt_deadline(timeout, end, 100.0) == expected


def test_the_watchdog_shuts_a_watched_socket_down_and_spares_an_unwatched_one():
    import socket
    import time as _time

    from pymod.wire import WATCHDOG

    class Conn:
        def __init__(self, sock):
            self.sock = sock

    (a, b), (c, d) = socket.socketpair(), socket.socketpair()
    try:
        a.settimeout(5)
        c.settimeout(0.5)
        fired = WATCHDOG.fired
        WATCHDOG.watch(Conn(a), _time.monotonic() + 0.1)
        spared = WATCHDOG.watch(Conn(c), _time.monotonic() + 0.1)
        WATCHDOG.unwatch(spared)
        start = _time.monotonic()
        assert a.recv(1) == b""  # shut down by the watchdog, long before the 5 s timeout
        assert _time.monotonic() - start < 4
        with pytest.raises(socket.timeout):
            c.recv(1)  # still open: its watch was cancelled
        assert WATCHDOG.fired == fired + 1
    finally:
        for s in (a, b, c, d):
            s.close()
