"""Push delivery to a local HTTPS receiver whose certificate comes from the emulator CA."""

from __future__ import annotations

import dataclasses
import itertools
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
import requests

from pymod.emulator import Emulator
from pymod.emulator.push import RetryPolicy, build_body
from pymod.emulator.store import PushConfig, StoredMessage, Subscription

_names = (f"p{n}" for n in itertools.count())


class Receiver:
    """An HTTPS push endpoint: serves the verification hash, records POSTs."""

    def __init__(self, cert: str, key: str) -> None:
        self.verification_hash = ""
        self.posts: List[Dict[str, Any]] = []
        self.failures_left = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if self.path == "/ams_verification_hash":
                    self._answer(200, receiver.verification_hash.encode())
                else:
                    self._answer(404, b"")

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    failing = receiver.failures_left > 0
                    if failing:
                        receiver.failures_left -= 1
                    receiver.posts.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization"),
                            "body": body,
                            "failed": failing,
                        }
                    )
                self._answer(500 if failing else 201, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait_for(self, predicate: Callable[[List[Dict[str, Any]]], bool]) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            with self.lock:
                posts = list(self.posts)
            if predicate(posts):
                return posts
            time.sleep(0.02)
        raise AssertionError(f"condition not met; received {posts!r}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture()
def receiver(emu: Emulator) -> Iterator[Receiver]:
    server = Receiver(*emu.issue_server_cert("127.0.0.1"))
    yield server
    server.close()


def _api(emu: Emulator, method: str, path: str, body: Optional[Any] = None) -> requests.Response:
    return requests.request(
        method,
        f"{emu.url}/v1/projects/{emu.project}{path}",
        headers={"x-api-key": emu.admin_token},
        verify=emu.ca_path,
        json=body,
        timeout=10,
    )


def _push_subscription(emu: Emulator, receiver: Receiver, **push: Any) -> Dict[str, Any]:
    """Create a topic and a verified push subscription to *receiver*; return the subscription."""
    topic, sub = next(_names), next(_names)
    assert _api(emu, "PUT", f"/topics/{topic}").status_code == 200
    config = {
        "type": "http_endpoint",
        "pushEndpoint": f"{receiver.url}/receive/{sub}",
        "retryPolicy": {"type": "linear", "period": 50},
        **push,
    }
    created = _api(
        emu,
        "PUT",
        f"/subscriptions/{sub}",
        {"topic": f"projects/{emu.project}/topics/{topic}", "pushConfig": config},
    )
    assert created.status_code == 200, created.text
    receiver.verification_hash = created.json()["pushConfig"]["verificationHash"]
    verified = _api(emu, "POST", f"/subscriptions/{sub}:verifyPushEndpoint")
    assert verified.status_code == 200, verified.text
    shown = _api(emu, "GET", f"/subscriptions/{sub}").json()
    assert shown["pushConfig"]["verified"] is True
    shown["topic_short"] = topic
    shown["sub_short"] = sub
    return dict(shown)


def _publish(emu: Emulator, topic: str, *datas: str) -> None:
    body = {"messages": [{"data": data, "attributes": {"n": data}} for data in datas]}
    response = _api(emu, "POST", f"/topics/{topic}:publish", body)
    assert response.status_code == 200, response.text


def _current_offset(emu: Emulator, sub: str) -> int:
    offsets = _api(emu, "GET", f"/subscriptions/{sub}:offsets")
    assert offsets.status_code == 200
    return int(offsets.json()["current"])


def test_single_messages_are_pushed_with_the_authorization_header(
    emu: Emulator, receiver: Receiver
) -> None:
    sub = _push_subscription(emu, receiver)
    _publish(emu, sub["topic_short"], "YQ==", "Yg==")
    posts = receiver.wait_for(lambda posts: len(posts) >= 2)
    assert [p["body"]["message"]["data"] for p in posts] == ["YQ==", "Yg=="]
    first = posts[0]
    assert first["path"] == f"/receive/{sub['sub_short']}"
    assert first["authorization"] == sub["pushConfig"]["authorizationHeader"]["value"]
    assert first["body"]["subscription"] == sub["name"]
    assert first["body"]["message"]["messageId"] == "0"
    assert first["body"]["message"]["attributes"] == {"n": "YQ=="}
    assert "publishTime" in first["body"]["message"]
    deadline = time.monotonic() + 5
    while _current_offset(emu, sub["sub_short"]) != 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _current_offset(emu, sub["sub_short"]) == 2, "delivered messages are acknowledged"


def test_batches_when_max_messages_is_above_one(emu: Emulator, receiver: Receiver) -> None:
    sub = _push_subscription(emu, receiver, maxMessages=5)
    # Publish before the worker can pick the subscription up in between: one request.
    _publish(emu, sub["topic_short"], "MQ==", "Mg==", "Mw==")
    posts = receiver.wait_for(
        lambda posts: sum(len(p["body"].get("messages", [])) for p in posts) >= 3
    )
    delivered = [item["message"]["data"] for p in posts for item in p["body"]["messages"]]
    assert delivered == ["MQ==", "Mg==", "Mw=="]
    assert all(item["subscription"] == sub["name"] for p in posts for item in p["body"]["messages"])


def test_failed_pushes_are_retried_until_accepted(emu: Emulator, receiver: Receiver) -> None:
    sub = _push_subscription(emu, receiver, authorizationHeader={"type": "disabled"})
    receiver.failures_left = 2
    _publish(emu, sub["topic_short"], "eA==")
    posts = receiver.wait_for(lambda posts: any(not p["failed"] for p in posts))
    assert [p["failed"] for p in posts] == [True, True, False]
    assert {p["body"]["message"]["messageId"] for p in posts} == {"0"}, "same message again"
    assert all(p["authorization"] is None for p in posts)


def test_mattermost_gets_the_decoded_text_without_verification(
    emu: Emulator, receiver: Receiver
) -> None:
    topic, sub = next(_names), next(_names)
    assert _api(emu, "PUT", f"/topics/{topic}").status_code == 200
    config = {
        "type": "mattermost",
        "mattermostUrl": f"{receiver.url}/hooks/abc",
        "mattermostUsername": "ams-bot",
        "mattermostChannel": "alerts",
    }
    body = {"topic": f"projects/{emu.project}/topics/{topic}", "pushConfig": config}
    assert _api(emu, "PUT", f"/subscriptions/{sub}", body).status_code == 200
    _publish(emu, topic, "aGVsbG8=")
    posts = receiver.wait_for(lambda posts: len(posts) >= 1)
    assert posts[0]["path"] == "/hooks/abc"
    assert posts[0]["body"] == {"text": "hello", "username": "ams-bot", "channel": "alerts"}


def test_build_body_decodes_base64_when_asked() -> None:
    message = StoredMessage(offset=4, publish_ns=1_700_000_000_000_000_000, attributes=None,
                            data="aGVsbG8=")
    push = PushConfig(type="http_endpoint", max_messages=1, base64_decode=True)
    sub = _subscription(push)
    body = build_body(sub, [message])
    assert body["message"]["data"] == "hello"
    assert body["message"]["messageId"] == "4"
    assert body["subscription"] == "/projects/DEMO/subscriptions/s"
    batch = build_body(_subscription(dataclasses.replace(push, max_messages=2)), [message])
    assert batch == {"messages": [{"message": body["message"], "subscription": sub.full_name}]}


def _subscription(push: PushConfig) -> Subscription:
    return Subscription(
        id=1, project_id=1, project_name="DEMO", name="s", topic_name="t", offset=0,
        next_offset=0, pending_ack=0, ack_deadline=10, push=push, push_status="", created_on=0,
        message_count=0, bytes=0, last_consume_ns=0, consume_rate=0.0,
    )


def test_unverified_subscriptions_get_nothing(emu: Emulator, receiver: Receiver) -> None:
    topic, sub = next(_names), next(_names)
    assert _api(emu, "PUT", f"/topics/{topic}").status_code == 200
    created = _api(
        emu,
        "PUT",
        f"/subscriptions/{sub}",
        {
            "topic": f"projects/{emu.project}/topics/{topic}",
            "pushConfig": {"type": "http_endpoint", "pushEndpoint": f"{receiver.url}/x"},
        },
    )
    assert created.status_code == 200
    _publish(emu, topic, "eQ==")
    time.sleep(0.3)  # several worker scans
    assert receiver.posts == []


def test_retry_policies() -> None:
    linear = RetryPolicy.of(PushConfig(type="http_endpoint", retry_type="linear", retry_period=250))
    assert [linear.failed(), linear.failed()] == [0.25, 0.25]
    slow = RetryPolicy.of(PushConfig(type="http_endpoint", retry_type="slowstart"))
    assert [slow.failed(), slow.failed(), slow.failed()] == [1.0, 2.0, 4.0]
    slow.succeeded()
    assert slow.failed() == 1.0
    assert RetryPolicy.of(PushConfig(type="mattermost")).failed() == 3.0
