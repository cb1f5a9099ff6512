"""verifyPushEndpoint against a real local HTTPS endpoint (spec 5.16)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from ams_testkit import Ams, error_of
from starlette.testclient import TestClient

from pymod.emulator.app import create_app
from pymod.emulator.store import SUBSCRIPTION, Store


class Receiver:
    """A tiny HTTPS server answering ``/ams_verification_hash`` with ``self.answer``."""

    def __init__(self, tmp_path: Path) -> None:
        ca = trustme.CA()
        self.ca_file = str(tmp_path / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(context)
        self.answer: tuple[int, bytes] = (200, b"")
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                status, body = receiver.answer
                if self.path != "/ams_verification_hash":
                    status, body = 404, b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    receiver = Receiver(tmp_path)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_verify_push_endpoint(store: Store, receiver: Receiver) -> None:
    ams = Ams(TestClient(create_app(store, push_verify_ca=receiver.ca_file)), store)
    ams.topic()
    created = ams.sub("push", pushConfig={
        "type": "http_endpoint", "pushEndpoint": f"https://localhost:{receiver.port}/in?x=1"})
    path = "/projects/DEMO/subscriptions/push:verifyPushEndpoint"
    receiver.answer = (200, b"wrong")
    assert error_of(ams.call("POST", path)) == (
        401, "UNAUTHORIZED", "Endpoint verification failed.Wrong verification hash")
    receiver.answer = (500, b"")
    assert error_of(ams.call("POST", path))[2] == (
        "Endpoint verification failed.Wrong response status code")
    receiver.answer = (200, created["pushConfig"]["verificationHash"].encode())
    reply = ams.call("POST", path)
    assert (reply.status_code, reply.content) == (200, b"")
    shown = ams.call("GET", "/projects/DEMO/subscriptions/push").json()
    assert shown["pushConfig"]["verified"] is True
    assert error_of(ams.call("POST", path)) == (
        409, "CONFLICT", "Push endpoint is already verified")
    worker = store.user_by_name("ams-push-worker")
    assert worker is not None
    assert store.acl_contains(SUBSCRIPTION, store.active_push_subscriptions()[0].id, worker.id)
    assert [m.project_name for m in store.memberships(worker.id)] == ["DEMO"]
    reply = ams.call("DELETE", "/projects/DEMO/subscriptions/push")
    assert reply.content == (
        b'{"message":"Subscription /projects/DEMO/subscriptions/push deactivated"}')


def test_verify_failures_before_the_call(store: Store, tmp_path: Path) -> None:
    ams = Ams(TestClient(create_app(store)), store)
    ams.topic()
    ams.sub()
    path = "/projects/DEMO/subscriptions/alerts-sub:verifyPushEndpoint"
    assert error_of(ams.call("POST", path)) == (
        409, "CONFLICT", "Subscription is not in http push mode")
    ams.sub("push", pushConfig={"type": "http_endpoint", "pushEndpoint": "https://127.0.0.1:1/"})
    reply = ams.call("POST", "/projects/DEMO/subscriptions/push:verifyPushEndpoint")
    code, _, message = error_of(reply)
    assert code == 401 and message.startswith("Endpoint verification failed.")
    ams.call("DELETE", "/users/ams-push-worker")
    assert error_of(ams.call("POST", path)) == (
        500, "INTERNAL_SERVER_ERROR", "Push functionality is currently unavailable")
    assert ams.call("GET", "/status").json()["status"] == "warning"
