"""The transport's direct path (``AmsHttpRequests._send``) against a real local TLS server.

For the session the client owns, requests go straight to the urllib3 pool of the session's adapter
instead of through ``Session.request``. These tests record what a real server receives through
both paths and check that it is the same, and that replies, failures and keep-alive behave alike.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import responses
import trustme

from pymod import AmsConnectionException, AmsServiceException, ArgoMessagingService, wire

TOKEN = "d47698532e1f38ecb50a01e107a074fa2753e607c7d30793f38f63ef818c46a4"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
             self.client_address[1]))
        status, headers, reply = self.server.replies.pop(0) if self.server.replies else (
            200, {}, b"{}")
        if headers.get("X-Sleep"):
            time.sleep(float(headers["X-Sleep"]))
        self.send_response(status)
        headers = {"Content-Length": str(len(reply)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: List[Tuple[str, str, Dict[str, str], bytes, int]] = []
        self.replies: List[Tuple[int, Dict[str, str], bytes]] = []


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[_Server]:
    srv = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(server: _Server, ca_file: str, **kwargs: Any) -> ArgoMessagingService:
    endpoint = f"127.0.0.1:{server.server_address[1]}"
    return ArgoMessagingService(endpoint, token=TOKEN, project="DEMO", verify=ca_file, **kwargs)


def _session_request(ams: ArgoMessagingService, method: str, url: str, body: Any) -> None:
    resp = ams._session.request(method, url, data=body, headers=ams._headers, **ams._defaults)
    assert resp.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/topics/t1", None),
        ("GET", "/subscriptions/s1:timeToOffset?time=2024-05-02T09%3A50%3A01.123Z", None),
        ("POST", "/topics/t1:publish", '{"messages":[{"attributes":{},"data":"w7w="}]}'),
        ("POST", "/subscriptions/s1:verifyPushEndpoint", None),
        ("PUT", "/topics/t1", None),
        ("DELETE", "/topics/t1", None),
    ],
)
def test_direct_path_sends_what_session_request_sends(server: _Server, ca_file: str, method: str,
                                                      path: str, body: Optional[str]) -> None:
    ams = _client(server, ca_file)
    url = f"{ams._base_url}/projects/DEMO{path}"
    assert ams._direct_target(url, ams._defaults) is not None
    status, content, raw = ams._exchange(method, url, body, ams._headers, ams._defaults, "test")
    wire.release(raw, True)
    assert (status, content) == (200, b"{}")
    _session_request(ams, method, url, body)
    (m1, p1, h1, b1, _), (m2, p2, h2, b2, _) = server.requests
    assert (m1, p1, b1) == (m2, p2, b2) == (method, f"/v1/projects/DEMO{path}",
                                            (body or "").encode())


    assert h1 == h2
    assert h1["x-api-key"] == TOKEN and h1["user-agent"].startswith("pymod/")


def test_keep_alive_one_connection_for_many_requests(server: _Server, ca_file: str) -> None:
    ams = _client(server, ca_file)
    for _ in range(20):
        ams.get_topic("t1")
    assert len({port for *_, port in server.requests}) == 1
    assert len(server.requests) == 20


def test_session_headers_and_per_call_headers_are_sent(server: _Server, ca_file: str) -> None:
    ams = _client(server, ca_file)
    ams._session.headers["X-Trace"] = "abc"
    ams.get_topic("t1", headers={"X-Extra": "1"})
    ams._session.headers["X-Trace"] = "changed"
    ams.get_topic("t1")
    assert server.requests[0][2]["x-trace"] == "abc" and server.requests[0][2]["x-extra"] == "1"
    assert server.requests[1][2]["x-trace"] == "changed" and "x-extra" not in server.requests[1][2]


def test_error_replies_and_redirects_map_to_service_exceptions(server: _Server,
                                                               ca_file: str) -> None:
    ams = _client(server, ca_file)
    server.replies += [
        (404, {"Content-Type": "application/json"},
         b'{"error": {"code": 404, "message": "Topic doesn\'t exist", "status": "NOT_FOUND"}}'),
        (302, {"Location": "https://elsewhere.example.org/x"}, b"moved"),
        (503, {"Content-Type": "text/html"},
         b"<html><body><h1>503 Service Unavailable</h1>\nNo server.\n</body></html>\n"),
    ]
    for code in (404, 302, 503):
        with pytest.raises(AmsServiceException) as info:
            ams.get_topic("t1")
        assert info.value.code == code
    assert len(server.requests) == 3  # the redirect was not followed


def test_truncated_body_is_a_connection_error(server: _Server, ca_file: str) -> None:
    ams = _client(server, ca_file)
    server.replies.append((200, {"Content-Length": "100", "Connection": "close"}, b"{}"))
    with pytest.raises(AmsConnectionException):
        ams.get_topic("t1")
    server.replies.clear()
    assert ams.get_topic("t1") == {}  # a fresh connection works


def test_read_timeout_is_a_connection_error(server: _Server, ca_file: str) -> None:
    ams = _client(server, ca_file, timeout=(5, 0.3))
    server.replies.append((200, {"X-Sleep": "1"}, b"{}"))
    with pytest.raises(AmsConnectionException, match="ReadTimeout"):
        ams.get_topic("t1")


def test_wrong_ca_is_a_connection_error(server: _Server, tmp_path: Any) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    ams = _client(server, str(other))
    with pytest.raises(AmsConnectionException, match="SSL"):
        ams.get_topic("t1")
    assert server.requests == []


def test_connection_refused_is_a_connection_error(ca_file: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ams = ArgoMessagingService(f"127.0.0.1:{port}", token=TOKEN, project="DEMO", verify=ca_file)
    with pytest.raises(AmsConnectionException):
        ams.get_topic("t1")


def test_what_takes_session_request(server: _Server, ca_file: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ams = _client(server, ca_file)
    url = f"{ams._base_url}/projects/DEMO/topics/t1"
    assert ams._direct_target(url, ams._defaults) is not None
    for kwargs in ({**ams._defaults, "allow_redirects": True}, {**ams._defaults, "stream": True},
                   {**ams._defaults, "proxies": {"https": "http://proxy:3128"}},
                   {**ams._defaults, "auth": ("u", "p")}):
        assert ams._direct_target(url, kwargs) is None
    ams._session.hooks["response"].append(lambda r, **kw: r)
    assert ams._direct_target(url, ams._defaults) is None
    injected = ArgoMessagingService(ams.endpoint, token=TOKEN, project="DEMO",
                                    session=requests.Session(), verify=ca_file)
    assert injected._direct_target(url, injected._defaults) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = ArgoMessagingService("msg.example.org", token=TOKEN, project="DEMO")
    assert proxied._direct_target("https://msg.example.org/v1/x", proxied._defaults) is None
    fresh = _client(server, ca_file)
    with responses.RequestsMock() as mock:  # a mocking library patched HTTPAdapter.send
        mock.get(url, json={"name": "/projects/DEMO/topics/t1"})
        assert fresh._direct_target(url, fresh._defaults) is None
        assert fresh.get_topic("t1") == {"name": "/projects/DEMO/topics/t1"}
    assert server.requests == []


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("params", {"a": "1"}), ("stream", True), ("cert", "client.pem"), ("auth", ("u", "p")),
     ("proxies", {"https": "http://proxy:3128"})],
)
def test_session_settings_take_session_request(server: _Server, ca_file: str, attribute: str,
                                               value: Any) -> None:
    ams = _client(server, ca_file)
    url = f"{ams._base_url}/projects/DEMO/topics/t1"
    setattr(ams._session, attribute, value)
    assert ams._direct_target(url, ams._defaults) is None
