"""ACLs keep the list as given (duplicates too), as the real server stores it; data files made
before that keep one entry per user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pymod.emulator.store import TOPIC, Store


def _topic_with_users(store: Store) -> tuple[int, list[int]]:
    project = store.create_project("P", description="", created_by=None)
    users = [store.create_user(name).id for name in ("a", "b")]
    return store.create_topic(project.id, "t", None).id, users


def test_duplicates_are_kept_in_order_and_counted_once_per_user() -> None:
    store = Store()
    topic, (a, b) = _topic_with_users(store)
    store.set_acl(TOPIC, topic, [a, b, a])
    assert store.acl_users(TOPIC, topic) == ["a", "b", "a"]
    assert store.user_acl_resources(a, 1)[0] == ["t"]
    store.add_to_acl(TOPIC, topic, b)  # already there: unchanged
    assert store.acl_users(TOPIC, topic) == ["a", "b", "a"]
    store.remove_from_acl(TOPIC, topic, a)
    assert store.acl_users(TOPIC, topic) == ["b"]


def test_an_older_data_file_keeps_one_entry_per_user(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as db:  # the ACL table as earlier versions created it
        db.execute("CREATE TABLE acls (kind TEXT NOT NULL, resource_id INTEGER NOT NULL,"
                   " user_id INTEGER NOT NULL, position INTEGER NOT NULL,"
                   " PRIMARY KEY (kind, resource_id, user_id))")
    store = Store(path)
    topic, (a, b) = _topic_with_users(store)
    store.set_acl(TOPIC, topic, [a, b, a])
    assert store.acl_users(TOPIC, topic) == ["a", "b"]
    store.close()
