"""State survives a restart on the same SQLite file (and every request is committed)."""

from __future__ import annotations

from pathlib import Path

from ams_testkit import ADMIN, Ams, FakeClock
from starlette.testclient import TestClient

from pymod.emulator.app import create_app
from pymod.emulator.store import Store


def open_ams(path: Path, clock: FakeClock) -> Ams:
    store = Store(str(path), clock=clock)
    store.bootstrap(admin_name="root", admin_token=ADMIN, project="DEMO")
    return Ams(TestClient(create_app(store)), store)


def test_state_survives_reopening(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "ams.sqlite3"
    first = open_ams(path, clock)
    first.topic()
    first.sub()
    bob = first.user("bob", ["publisher"])
    first.call("POST", "/projects/DEMO/topics/alerts:modifyAcl", body={"authorized_users": ["bob"]})
    first.call("POST", "/projects/DEMO/schemas/s", body={"type": "json", "schema": {}})
    first.publish("YQ==", "Yg==", "Yw==", token=bob)
    first.pull(max_messages="2")
    # A second connection sees everything already: each request was committed.
    peek = Store(str(path))
    assert peek.token_for_user("bob") == bob
    peek.close()
    first.store.close()

    second = open_ams(path, clock)
    assert second.ack(1).status_code == 200  # the pending window survived too
    assert second.call("GET", "/projects/DEMO/subscriptions/alerts-sub:offsets").json() == {
        "max": 3, "min": 0, "current": 2}
    assert second.publish("ZA==", token=bob) == ["3"]
    received = second.pull().json()["receivedMessages"]
    assert [m["message"]["data"] for m in received] == ["Yw==", "ZA=="]
    assert second.call("GET", "/projects/DEMO/topics/alerts:acl").json() == {
        "authorized_users": ["bob"]}
    assert second.call("GET", "/projects/DEMO/schemas/s").status_code == 200
    users = second.call("GET", "/users").json()
    assert sorted(u["name"] for u in users["users"]) == ["ams-push-worker", "bob", "root"]
    second.store.close()


def test_bootstrap_is_idempotent_and_restores_admin_token(tmp_path: Path) -> None:
    path = str(tmp_path / "ams.sqlite3")
    store = Store(path)
    store.bootstrap(admin_name="root", admin_token=ADMIN, project="DEMO")
    root = store.user_by_name("root")
    assert root is not None
    store.update_user(root.id, token="b" * 64, service_roles=[])
    store.close()
    store = Store(path)
    store.bootstrap(admin_name="root", admin_token=ADMIN, project="DEMO")
    assert [u.name for u in store.list_users()] == ["root"]
    assert len(store.list_projects()) == 1
    admin = store.user_by_token(ADMIN)
    assert admin is not None and admin.service_roles == ["service_admin"]
    project = store.project_by_name("DEMO")
    assert project is not None and project.created_by == admin.uuid
    assert store.membership(admin.id, project.id) is None
    store.close()
