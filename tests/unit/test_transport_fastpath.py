"""The transport's fast path (``AmsHttpRequests._send``) sends what ``Session.request`` sends.

For the session the client owns, ``_send`` builds the PreparedRequest itself from cached pieces
and hands it to the adapter (see its docstring and benchmarks/README.md). These tests record, with
an adapter mounted on the client's own session, what reaches the adapter through the fast path
and through the ordinary ``session.request`` with the same arguments, and compare them.
"""

from __future__ import annotations

import http.client
import io
from typing import Any, Dict, List, Tuple

import pytest
import requests
import urllib3
from requests.adapters import BaseAdapter

from pymod import AmsConnectionException, AmsServiceException

from ._support import HOST, PROJECT, TOKEN, make_client

URL_BASE = f"https://{HOST}/v1/projects/{PROJECT}"


class _FakeSocket:
    """What http.client.HTTPResponse needs of a socket: the reply's bytes."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def makefile(self, mode: str) -> io.BytesIO:
        return self._file


class Recorder(BaseAdapter):
    """Records each PreparedRequest and the adapter keywords; answers with canned replies."""

    def __init__(self, replies: List[Tuple[int, Dict[str, str], bytes]]) -> None:
        super().__init__()
        self.replies = replies
        self.calls: List[Tuple[requests.PreparedRequest, Dict[str, Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append((request, kwargs))
        status, headers, body = self.replies[min(len(self.calls), len(self.replies)) - 1]
        headers = {"Content-Length": str(len(body)), **headers}
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        wire = f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + body
        http_resp = http.client.HTTPResponse(_FakeSocket(wire))  # type: ignore[arg-type]
        http_resp.begin()
        raw = urllib3.HTTPResponse(
            body=http_resp, headers=dict(http_resp.getheaders()), status=status,
            preload_content=False, decode_content=False, reason="X",
            original_response=http_resp, msg=http_resp.msg,
        )
        return requests.adapters.HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


def _client(replies: Any = None, **kwargs: Any) -> Tuple[Any, Recorder]:
    ams = make_client(**kwargs)
    rec = Recorder(replies or [(200, {"Content-Type": "application/json"}, b"{}")])
    ams._session.mount("https://", rec)
    return ams, rec


def _same(a: requests.PreparedRequest, b: requests.PreparedRequest) -> None:
    assert a.method == b.method
    assert a.url == b.url
    assert list(a.headers.items()) == list(b.headers.items())
    assert a.body == b.body
    assert a.hooks == b.hooks
    assert type(a._cookies) is type(b._cookies)  # type: ignore[attr-defined]
    assert list(a._cookies) == list(b._cookies)  # type: ignore[attr-defined]


def _slow(ams: Any, method: str, url: str, data: Any, headers: Dict[str, str],
          **kwargs: Any) -> None:
    ams._session.request(method, url, data=data, headers=headers, **{**ams._defaults, **kwargs})


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/topics/t1:publish", '{"messages":[{"attributes":{},"data":"eA=="}]}'),
        ("GET", "/topics/t1", None),
        ("DELETE", "/topics/t1", None),
        ("PUT", "/topics/t1", None),
        ("POST", "/subscriptions/s1:acknowledge", b'{"ackIds":["x"]}'),
        ("POST", "/subscriptions/s1:pull", ""),
        ("GET", "/subscriptions/s1:timeToOffset?time=2019-09-02T13%3A39%3A11.500Z", None),
    ],
)
def test_fast_path_prepares_what_session_request_prepares(method: str, path: str,
                                                           body: Any) -> None:
    ams, rec = _client()
    url = URL_BASE + path
    resp, content = ams._send(method, url, body, ams._headers, ams._defaults)
    _slow(ams, method, url, body, ams._headers)
    assert content == b"{}" and resp.status_code == 200
    (fast, fast_kw), (slow, slow_kw) = rec.calls
    _same(fast, slow)
    assert fast.headers["x-api-key"] == TOKEN
    # the only difference: the fast path reads the body itself, at once
    assert fast_kw.pop("stream") is True and slow_kw.pop("stream") is False
    assert fast_kw == slow_kw


def test_fast_path_follows_session_and_call_settings() -> None:
    ams, rec = _client()
    ams._session.headers["X-Trace"] = "abc"
    ams._session.verify = False
    url = URL_BASE + "/topics/t1"
    for _ in range(2):  # the second call comes from the caches
        ams._send("GET", url, None, {**ams._headers, "X-Extra": "1"},
                  {**ams._defaults, "timeout": (3, 7)})
        _slow(ams, "GET", url, None, {**ams._headers, "X-Extra": "1"}, timeout=(3, 7))
    ams._session.headers["X-Trace"] = "changed"
    ams._send("GET", url, None, ams._headers, ams._defaults)
    _slow(ams, "GET", url, None, ams._headers)
    for (fast, fast_kw), (slow, slow_kw) in zip(rec.calls[::2], rec.calls[1::2]):
        _same(fast, slow)
        fast_kw.pop("stream")
        slow_kw.pop("stream")
        assert fast_kw == slow_kw
    assert rec.calls[-1][0].headers["X-Trace"] == "changed"


def test_response_hooks_see_a_loaded_response_once() -> None:
    ams, rec = _client([(200, {}, b'{"a": 1}')])
    seen: List[Any] = []
    ams._session.hooks["response"].append(lambda r, **kw: seen.append((r.content, kw["stream"])))
    assert ams.get_topic("t1") == {"a": 1}
    assert seen == [(b'{"a": 1}', False)]


def test_cookies_set_by_the_server_are_kept_and_sent_back() -> None:
    ams, rec = _client([
        (200, {"Set-Cookie": "lb=node2; Path=/"}, b"{}"),
        (200, {}, b"{}"),
    ])
    ams.get_topic("t1")
    assert ams._session.cookies.get("lb") == "node2"
    ams.get_topic("t1")
    assert rec.calls[1][0].headers["Cookie"] == "lb=node2"


def test_redirect_is_not_followed_and_reported_as_an_error() -> None:
    ams, rec = _client([(301, {"Location": "https://elsewhere.example.org/x"}, b"moved")])
    with pytest.raises(AmsServiceException) as info:
        ams.get_topic("t1")
    assert info.value.code == 301
    assert len(rec.calls) == 1


def test_broken_body_is_a_connection_error() -> None:
    ams, rec = _client([(200, {"Content-Length": "100"}, b"{}")])
    with pytest.raises(AmsConnectionException):
        ams.get_topic("t1")


def test_injected_session_goes_through_session_request(monkeypatch: pytest.MonkeyPatch) -> None:
    session = requests.Session()
    calls: List[str] = []
    real = requests.Session.request

    def spy(self: requests.Session, method: str, url: str, **kw: Any) -> requests.Response:
        calls.append(method)
        return real(self, method, url, **kw)

    monkeypatch.setattr(requests.Session, "request", spy)
    ams = make_client(session=session)
    rec = Recorder([(200, {}, b"{}")])
    session.mount("https://", rec)
    ams.get_topic("t1")
    assert calls == ["GET"]
    # a patched Session.request is honoured for the client's own session too
    own, rec2 = _client()
    own.get_topic("t1")
    assert calls == ["GET", "GET"]
