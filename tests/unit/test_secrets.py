"""The token never shows: not in a log line of any logger (urllib3's included), an exception's
text, repr or attributes, a redirect to another host, or the ``ams`` command's stderr; and a
token that cannot travel in a header is refused when it is assigned, without being echoed."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import requests
import responses
import urllib3

from pymod import AmsArgumentException, AmsException, ArgoMessagingService, cli
from pymod.amsexceptions import AmsConnectionException, AmsResponseException, mask
from pymod.guards import URLLIB3_LOGGERS, RedactTokens, check_token

from ._support import BASE, HOST, OTHER_TOKEN, PROJECT, TOKEN, make_client

TOPIC_URL = f"{BASE}/projects/{PROJECT}/topics/alerts"
BY_TOKEN_URL = f"{BASE}/users:byToken/{OTHER_TOKEN}"
SECRETS = (TOKEN, OTHER_TOKEN)


def texts_of(obj: Any, depth: int = 0, seen: Any = None) -> Iterator[str]:
    """str and repr of ``obj`` and, recursively, of its attributes, args, items, cause and
    context (what a caller can reach from an exception)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    try:
        yield str(obj)
        yield repr(obj)
    except Exception:  # noqa: BLE001 - an object that cannot be shown shows nothing
        pass
    children: List[Any] = []
    if isinstance(obj, BaseException):
        children += [obj.args, obj.__cause__, obj.__context__]
    if isinstance(obj, dict) or hasattr(obj, "items") and callable(obj.items):
        with contextlib.suppress(Exception):
            children += [v for kv in obj.items() for v in kv]
    elif isinstance(obj, (list, tuple, set)):
        children += list(obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        children += list(vars(obj).values())
    for child in children:
        if child is not None and not isinstance(child, (int, float, bool)):
            yield from texts_of(child, depth + 1, seen)


def assert_no_secret(*objs: Any) -> None:
    for obj in objs:
        for text in texts_of(obj):
            for secret in SECRETS:
                assert secret not in text, f"a token shows in {text[:120]!r}"


# ---- tokens refused or stripped at assignment ------------------------------------------------
def test_surrounding_whitespace_is_stripped_at_every_assignment(rsps):
    rsps.get(TOPIC_URL, json={"name": "/projects/DEMO/topics/alerts"})
    rsps.get(TOPIC_URL, json={"name": "/projects/DEMO/topics/alerts"})
    client = make_client(token=f"  {TOKEN}\n")  # as read from a file
    assert client.token == TOKEN
    client.get_topic("alerts")
    client.token = f"\t{OTHER_TOKEN}\r\n"
    client.get_topic("alerts")
    assert [c.request.headers["x-api-key"] for c in rsps.calls] == [TOKEN, OTHER_TOKEN]


@pytest.mark.parametrize("bad", [
    TOKEN[:10] + "\n" + TOKEN[10:],  # a newline inside: header injection
    TOKEN[:10] + " " + TOKEN[10:],
    TOKEN[:10] + "\x00" + TOKEN[10:],
    TOKEN[:10] + "\x7f" + TOKEN[10:],
    TOKEN[:10] + "é" + TOKEN[10:],  # latin-1, not ASCII
    TOKEN[:10] + "\u20ac" + TOKEN[10:],  # not latin-1: UnicodeEncodeError before
    TOKEN[:10] + "\ud800" + TOKEN[10:],  # a lone surrogate
], ids=["newline", "space", "nul", "del", "latin1", "euro", "surrogate"])
def test_a_token_that_cannot_be_a_header_is_refused_without_echo(rsps, bad):
    for assign in (
        lambda: make_client(token=bad),
        lambda: setattr(make_client(), "token", bad),
        lambda: check_token(bad),
    ):
        with pytest.raises(AmsArgumentException) as info:
            assign()
        assert "position 10" in str(info.value)
        assert TOKEN[:10] not in str(info.value) and TOKEN[11:] not in str(info.value)
        assert_no_secret(info.value)
    assert len(rsps.calls) == 0


def test_a_token_of_another_type_is_refused():
    with pytest.raises(AmsArgumentException, match="token must be a str, got bytes"):
        make_client(token=TOKEN.encode())


def test_a_cert_auth_token_that_cannot_be_a_header_is_a_typed_error(rsps, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    rsps.get(re.compile(r"https://msg\.example\.org:8443/v1/service-types/.*"),
             json={"token": TOKEN + "\x01"})
    with pytest.raises(AmsResponseException, match="token is unusable") as info:
        ArgoMessagingService(HOST, project=PROJECT, cert=str(cert), key=str(key))
    assert_no_secret(info.value)
    rsps.get(re.compile(r"https://msg\.example\.org:8443/v1/service-types/.*"),
             json={"token": TOKEN + "\n"})
    client = ArgoMessagingService(HOST, project=PROJECT, cert=str(cert), key=str(key))
    assert client.token == TOKEN


# ---- logs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(set(URLLIB3_LOGGERS) | {"urllib3.connection"}))
def test_every_urllib3_logger_redacts_the_token_in_a_url(caplog, name):
    caplog.set_level(logging.DEBUG)
    logging.getLogger(name).warning("Failed to parse headers (url=%s): boom", BY_TOKEN_URL)
    logging.getLogger(name).debug('"GET /v1/users:byToken/%s HTTP/1.1" 200', OTHER_TOKEN)
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    assert len(messages) == 2 and all("users:byToken/***" in m for m in messages)
    assert OTHER_TOKEN not in caplog.text


def test_every_logger_of_the_installed_urllib3_has_the_filter():
    """Found in urllib3's own source, so a logger added by a newer urllib3 is noticed."""
    root = Path(urllib3.__file__).parent
    modules = {
        ".".join(("urllib3", *path.relative_to(root).with_suffix("").parts)).replace(
            ".__init__", "")
        for path in root.rglob("*.py") if "getLogger(__name__)" in path.read_text("utf-8")
    }
    assert {"urllib3.connection", "urllib3.connectionpool"} <= modules
    for name in modules:
        assert any(isinstance(f, RedactTokens) for f in logging.getLogger(name).filters), name


def test_a_debug_run_with_failures_shows_no_token_anywhere(caplog, any_ams):
    """Every logger at DEBUG, successes and failures of the token route: no token in a log
    line, nor in any text reachable from the exceptions."""
    caplog.set_level(logging.DEBUG)
    errors: List[BaseException] = []
    with responses.RequestsMock() as rsps:
        rsps.get(BY_TOKEN_URL, json={"name": "bob", "uuid": "u1"})
        rsps.get(BY_TOKEN_URL, status=404,
                 json={"error": {"code": 404, "message": "User doesn't exist", "status": "NOT_FOUND"}})
        for _ in range(2):
            rsps.get(BY_TOKEN_URL, body=requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool(host='{HOST}', port=443): Max retries exceeded with url: "
                f"/v1/users:byToken/{OTHER_TOKEN}"))
        rsps.get(BY_TOKEN_URL, body="not json")
        assert any_ams.get_user_by_token(OTHER_TOKEN).name == "bob"
        for _ in range(3):
            with pytest.raises(AmsException) as info:
                any_ams.get_user_by_token(OTHER_TOKEN, retry=1, retrysleep=0)
            errors.append(info.value)
        # the connection error and the malformed reply (a GET: safe to repeat) retried once each
        assert len(rsps.calls) == 6
    assert type(errors[1]) is AmsConnectionException and isinstance(errors[2], AmsResponseException)
    connection = errors[1]
    assert isinstance(connection, AmsConnectionException)
    assert "users:byToken/***" in str(connection.exp)
    assert getattr(connection.exp, "request", None) is None  # the request held the header
    assert connection.__context__ is None
    assert len(caplog.records) >= 5 and "users:byToken/***" in caplog.text
    assert all(s not in caplog.text for s in SECRETS)
    assert_no_secret(*errors, *[r.getMessage() for r in caplog.records], repr(any_ams))


def test_an_error_page_quoting_the_token_url_is_redacted(rsps):
    page = f"<html><body><h1>502 Bad Gateway</h1>upstream {BY_TOKEN_URL} failed</body></html>"
    rsps.get(BY_TOKEN_URL, body=page, status=502)
    rsps.get(BY_TOKEN_URL, body=f"no route for /v1/users:byToken/{OTHER_TOKEN}", status=404)
    client = make_client()
    for _ in range(2):
        with pytest.raises(AmsException) as info:
            client.get_user_by_token(OTHER_TOKEN)
        assert "users:byToken/***" in info.value.body  # type: ignore[attr-defined]
        assert_no_secret(info.value)


def test_a_urllib3_error_keeps_its_type_with_a_redacted_url():
    error = urllib3.exceptions.ReadTimeoutError(None, f"/v1/users:byToken/{OTHER_TOKEN}",
                                                "Read timed out. (read timeout=1)")
    exc = AmsConnectionException(error, "users:byToken")
    assert type(exc.exp) is urllib3.exceptions.ReadTimeoutError
    assert exc.exp.url == "/v1/users:byToken/***" and "Read timed out" in str(exc)
    assert_no_secret(exc)
    plain = urllib3.exceptions.ReadTimeoutError(None, "/v1/projects/DEMO/topics/t", "Read timed out.")
    assert AmsConnectionException(plain, "topics:show").exp is plain  # nothing to hide


# ---- redirects -------------------------------------------------------------------------------
@pytest.mark.parametrize("session", ["own", "plain"])
@pytest.mark.parametrize("location, kept", [
    ("https://elsewhere.example.net/v1/projects/DEMO/topics/alerts", False),
    (f"http://{HOST}/v1/projects/DEMO/topics/alerts", False),  # https -> http
    (f"https://{HOST}/v1/projects/DEMO/topics/moved", True),  # same host: still AMS
], ids=["cross-host", "downgrade", "same-host"])
def test_the_token_is_dropped_on_a_foreign_redirect_with_any_session(rsps, location, kept,
                                                                    session):
    sent: List[Any] = []

    def record(request: Any) -> Any:
        sent.append(dict(request.headers))
        return 200, {}, '{"name": "/projects/DEMO/topics/alerts"}'

    rsps.add_callback(responses.GET, TOPIC_URL, callback=lambda r: (
        sent.append(dict(r.headers)) or (302, {"Location": location}, "")))
    rsps.add_callback(responses.GET, location, callback=record)
    client = make_client(session=requests.Session()) if session == "plain" else make_client()
    client.get_topic("alerts", allow_redirects=True)
    assert sent[0]["x-api-key"] == TOKEN
    assert ("x-api-key" in sent[1]) is kept


def test_a_hook_given_by_the_caller_still_runs_with_the_redirect_guard(rsps):
    calls: List[int] = []
    rsps.get(TOPIC_URL, status=302, headers={"Location": "https://elsewhere.example.net/x"})
    rsps.get("https://elsewhere.example.net/x", json={"name": "/projects/DEMO/topics/alerts"})
    client = make_client(session=requests.Session())
    client.get_topic("alerts", allow_redirects=True,
                     hooks={"response": lambda r, *a, **k: calls.append(r.status_code)})
    assert calls == [302, 200] and "x-api-key" not in rsps.calls[1].request.headers


# ---- the ams command -------------------------------------------------------------------------
def test_mask_hides_a_token_cut_at_either_end():
    assert mask(f"value: {TOKEN}!", [TOKEN]) == "value: ***!"
    assert mask(f"value: {TOKEN[:20]}...", [TOKEN]) == "value: ***..."
    assert mask(f"{TOKEN[-9:]} was refused", [TOKEN]) == "*** was refused"
    assert mask(f"header: {TOKEN}.", [TOKEN + "\n"]) == "header: ***."
    assert mask("users:byToken/abc", []) == "users:byToken/***"
    assert mask("plain text", [TOKEN]) == "plain text"
    # a cut piece inside a repr'd exception, or after a '=' or '/'
    assert mask(f"ConnectionError('header value {TOKEN[:25]}')", [TOKEN]) == \
        "ConnectionError('header value ***')"
    assert mask(f"key={TOKEN[:12]}&x=1 /path/{TOKEN[-10:]}/more", [TOKEN]) == \
        "key=***&x=1 /path/***/more"


def test_the_cli_never_prints_the_token_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv("AMS_HOST", HOST)
    monkeypatch.setenv("AMS_PROJECT", PROJECT)
    monkeypatch.setenv("AMS_TOKEN", TOKEN[:30] + "\x01" + TOKEN[30:])
    assert cli.main(["topics", "list"]) == 2
    monkeypatch.setenv("AMS_TOKEN", TOKEN + "\n")  # from a file: stripped, and works
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/projects/{PROJECT}/topics", body=requests.exceptions.ConnectionError(
            "Connection broken: header value " + TOKEN[:25]))  # a cut token in a message
        assert cli.main(["topics", "list"]) == 1
        assert rsps.calls[0].request.headers["x-api-key"] == TOKEN
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 2 and all(line.startswith("ams: error: ") for line in lines)
    assert "***" in lines[1]
    for piece in (TOKEN, TOKEN[:25], TOKEN[:30], TOKEN[31:]):
        assert piece not in err
