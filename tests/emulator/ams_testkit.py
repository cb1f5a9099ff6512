"""Helpers for the emulator app tests: a fake clock and a small client wrapper."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

import httpx
from starlette.testclient import TestClient

from pymod.emulator.store import Store

ADMIN = "a" * 64
START_NS = 1_714_642_867_250_000_000  # 2024-05-02T09:41:07.25Z


class FakeClock:
    """A replaceable store clock (nanoseconds since the epoch)."""

    def __init__(self, start_ns: int = START_NS) -> None:
        self.ns = start_ns

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1_000_000_000)


class Ams:
    """Calls the app with a token, plus shortcuts to set up users, topics and subscriptions."""

    def __init__(self, client: TestClient, store: Store) -> None:
        self.client = client
        self.store = store

    def call(self, method: str, path: str, *, token: Optional[str] = ADMIN,
             body: Any = None, raw: Optional[bytes] = None,
             params: Optional[dict[str, str]] = None) -> httpx.Response:
        headers = {"x-api-key": token} if token is not None else {}
        content = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        return self.client.request(method, "/v1" + path, headers=headers, content=content,
                                   params=params)

    def user(self, name: str, roles: Sequence[str] = (), project: str = "DEMO",
             service_roles: Sequence[str] = ()) -> str:
        """Create a user (member of ``project`` with ``roles``) and return its token."""
        body: dict[str, Any] = {"email": f"{name}@example.org", "service_roles": list(service_roles)}
        if roles:
            body["projects"] = [{"project": project, "roles": list(roles)}]
        reply = self.call("POST", f"/users/{name}", body=body)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])

    def topic(self, name: str = "alerts", project: str = "DEMO") -> None:
        reply = self.call("PUT", f"/projects/{project}/topics/{name}")
        assert reply.status_code == 200, reply.text

    def sub(self, name: str = "alerts-sub", topic: str = "alerts", project: str = "DEMO",
            **extra: Any) -> dict[str, Any]:
        body = {"topic": f"projects/{project}/topics/{topic}", **extra}
        reply = self.call("PUT", f"/projects/{project}/subscriptions/{name}", body=body)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def publish(self, *datas: str, topic: str = "alerts", token: str = ADMIN,
                attributes: Optional[dict[str, str]] = None) -> list[str]:
        messages = [{"data": d, **({"attributes": attributes} if attributes else {})}
                    for d in datas]
        reply = self.call("POST", f"/projects/DEMO/topics/{topic}:publish", token=token,
                          body={"messages": messages})
        assert reply.status_code == 200, reply.text
        return list(reply.json()["messageIds"])

    def pull(self, sub: str = "alerts-sub", max_messages: str = "10", token: str = ADMIN,
             immediately: str = "true") -> httpx.Response:
        return self.call("POST", f"/projects/DEMO/subscriptions/{sub}:pull", token=token,
                         body={"maxMessages": max_messages, "returnImmediately": immediately})

    def ack(self, *offsets: int, sub: str = "alerts-sub", token: str = ADMIN) -> httpx.Response:
        ids = [f"projects/DEMO/subscriptions/{sub}:{o}" for o in offsets]
        return self.call("POST", f"/projects/DEMO/subscriptions/{sub}:acknowledge", token=token,
                         body={"ackIds": ids})


def error_of(reply: httpx.Response) -> tuple[int, str, str]:
    """``(code, status, message)`` of an AMS error envelope (asserting its shape)."""
    body = reply.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert list(error) == ["code", "message", "status"]
    assert error["code"] == reply.status_code
    return error["code"], error["status"], error["message"]
