"""The message side of the emulator's store: topics with their logs, subscriptions with offsets,
pull windows, acknowledgements and push settings, and schemas (spec section 12).

:class:`MessageLog` is a part of :class:`pymod.emulator.store.Store`, which provides the
connection, the lock and the clock.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from pymod.emulator.errors import AmsError, conflict, internal, not_found
from pymod.emulator.formatting import dumps, fmt_day
from pymod.emulator.records import (
    _SCHEMA_SELECT,
    _SUB_SELECT,
    SUBSCRIPTION,
    TOPIC,
    Project,
    PublishResult,
    PushConfig,
    Schema,
    StoredMessage,
    Subscription,
    Topic,
    new_uuid,
)


class MessageLog:
    """Topics, messages, subscriptions and schemas (mixed into :class:`Store`)."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        _db: sqlite3.Connection

        def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...
        def _one(self, sql: str, params: Sequence[Any] = ()) -> Optional[sqlite3.Row]: ...
        def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...
        def now_ns(self) -> int: ...
        def now_s(self) -> int: ...
        def project_by_name(self, name: str) -> Optional[Project]: ...

    # ------------------------------------------------------------------ topics

    def topic(self, project_id: int, name: str) -> Optional[Topic]:
        """Look a topic up by project and short name."""
        row = self._one("SELECT * FROM topics WHERE project_id = ? AND name = ?",
                        (project_id, name))
        return None if row is None else Topic(**dict(row))

    def list_topics(self, project_id: int) -> list[Topic]:
        """The project's topics, newest first."""
        rows = self._all("SELECT * FROM topics WHERE project_id = ? ORDER BY id DESC",
                         (project_id,))
        return [Topic(**dict(r)) for r in rows]

    def create_topic(self, project_id: int, name: str, schema_id: Optional[int]) -> Topic:
        """Create a topic with an empty log and an empty ACL."""
        with self._write() as db:
            db.execute("INSERT INTO topics (project_id, name, schema_id, created_on)"
                       " VALUES (?, ?, ?, ?)", (project_id, name, schema_id, self.now_s()))
        topic = self.topic(project_id, name)
        assert topic is not None
        return topic

    def _drop_topic(self, topic_id: int) -> None:
        self._db.execute("DELETE FROM messages WHERE topic_id = ?", (topic_id,))
        self._db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ?", (TOPIC, topic_id))
        self._db.execute("DELETE FROM topics WHERE id = ?", (topic_id,))

    def delete_topic(self, topic_id: int) -> None:
        """Delete a topic with its messages and ACL (subscriptions stay, spec 12.8)."""
        with self._write():
            self._drop_topic(topic_id)

    def set_topic_schema(self, topic_id: int, schema_id: Optional[int]) -> None:
        """Attach a schema to a topic (``None`` detaches)."""
        with self._write() as db:
            db.execute("UPDATE topics SET schema_id = ? WHERE id = ?", (schema_id, topic_id))

    def publish(
        self,
        topic: Topic,
        messages: Sequence[tuple[Optional[dict[str, str]], str]],
        max_message_bytes: int,
    ) -> PublishResult:
        """Append ``(attributes, data)`` messages to the topic log, in order.

        Each message's stored JSON form (id, attributes, data, publishTime) may be at most
        ``max_message_bytes``; at the first larger one publishing stops and the result has
        ``too_large`` set (earlier messages stay stored). Counters, daily counts and the
        publishing rate are updated for the stored messages.
        """
        with self._write() as db:
            row = db.execute("SELECT end_offset, last_publish_ns FROM topics WHERE id = ?",
                             (topic.id,)).fetchone()
            end, last_publish_ns = row[0], row[1]
            rows: list[tuple[int, int, Optional[str], str]] = []
            too_large = False
            total_bytes = 0
            for attributes, data in messages:
                stamp = self.now_ns()
                stored = StoredMessage(end + len(rows), stamp, attributes or None, data)
                if len(dumps(stored.to_json(), "compact")) > max_message_bytes:
                    too_large = True
                    break
                attrs_text = json.dumps(attributes) if attributes else None
                rows.append((stored.offset, stamp, attrs_text, data))
                total_bytes += len(data.encode("utf-8"))
            if rows:
                db.executemany("INSERT INTO messages (topic_id, msg_offset, publish_ns,"
                               " attributes, data) VALUES (?, ?, ?, ?, ?)",
                               [(topic.id, *r) for r in rows])
            now = self.now_ns()
            if rows or not too_large:
                elapsed = 1.0 if last_publish_ns == 0 else (now - last_publish_ns) / 1e9
                rate = len(rows) / elapsed if elapsed > 0 else float(len(rows))
                db.execute("UPDATE topics SET end_offset = ?, message_count = message_count + ?,"
                           " bytes = bytes + ?, last_publish_ns = ?, publish_rate = ?"
                           " WHERE id = ?",
                           (end + len(rows), len(rows), total_bytes, now, rate, topic.id))
            if rows:
                db.execute("INSERT INTO daily_counts (project_id, topic_name, day, count)"
                           " VALUES (?, ?, ?, ?) ON CONFLICT (project_id, topic_name, day)"
                           " DO UPDATE SET count = count + excluded.count",
                           (topic.project_id, topic.name, fmt_day(now // 1_000_000_000),
                            len(rows)))
        return PublishResult([r[0] for r in rows], too_large)

    def read_messages(self, topic_id: int, start: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages of a topic log from offset ``start`` on, in order."""
        rows = self._all("SELECT msg_offset, publish_ns, attributes, data FROM messages"
                         " WHERE topic_id = ? AND msg_offset >= ? ORDER BY msg_offset LIMIT ?",
                         (topic_id, start, limit))
        return [StoredMessage(r[0], r[1], None if r[2] is None else json.loads(r[2]), r[3])
                for r in rows]

    def offset_at_time(self, topic_id: int, epoch_ms: int) -> Optional[int]:
        """Offset of the first message whose millisecond timestamp is ≥ ``epoch_ms``."""
        row = self._one("SELECT MIN(msg_offset) FROM messages WHERE topic_id = ?"
                        " AND publish_ns >= ?", (topic_id, epoch_ms * 1_000_000))
        return None if row is None or row[0] is None else int(row[0])

    def daily_counts(self, project_id: int, topic_name: Optional[str] = None
                     ) -> list[tuple[str, int]]:
        """``(YYYY-MM-DD, count)`` publish counters, newest day first, of one topic or (summed)
        of the whole project."""
        if topic_name is None:
            rows = self._all("SELECT day, SUM(count) FROM daily_counts WHERE project_id = ?"
                             " GROUP BY day ORDER BY day DESC", (project_id,))
        else:
            rows = self._all("SELECT day, count FROM daily_counts WHERE project_id = ?"
                             " AND topic_name = ? ORDER BY day DESC", (project_id, topic_name))
        return [(r[0], int(r[1])) for r in rows]

    # ------------------------------------------------------------------ subscriptions

    def subscription(self, project_id: int, name: str) -> Optional[Subscription]:
        """Look a subscription up by project and short name."""
        row = self._one(f"{_SUB_SELECT} WHERE s.project_id = ? AND s.name = ?",
                        (project_id, name))
        return None if row is None else Subscription.from_row(row)

    def subscription_by_id(self, sub_id: int) -> Optional[Subscription]:
        """Look a subscription up by internal id."""
        row = self._one(f"{_SUB_SELECT} WHERE s.id = ?", (sub_id,))
        return None if row is None else Subscription.from_row(row)

    def list_subscriptions(self, project_id: int) -> list[Subscription]:
        """The project's subscriptions, newest first."""
        rows = self._all(f"{_SUB_SELECT} WHERE s.project_id = ? ORDER BY s.id DESC",
                         (project_id,))
        return [Subscription.from_row(r) for r in rows]

    def subscriptions_of_topic(self, project_id: int, topic_name: str) -> list[Subscription]:
        """Subscriptions of the project attached to ``topic_name``, in storage order."""
        rows = self._all(f"{_SUB_SELECT} WHERE s.project_id = ? AND s.topic_name = ?"
                         " ORDER BY s.id", (project_id, topic_name))
        return [Subscription.from_row(r) for r in rows]

    def create_subscription(
        self, project_id: int, name: str, topic: Topic, ack_deadline: int, push: PushConfig
    ) -> Subscription:
        """Create a subscription positioned at the topic's current end offset."""
        columns = push.columns()
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        with self._write() as db:
            db.execute(
                f"INSERT INTO subscriptions (project_id, name, topic_name, cur_offset,"  # noqa: S608
                f" ack_deadline, created_on, {names}) VALUES (?, ?, ?, ?, ?, ?, {marks})",
                (project_id, name, topic.name, topic.end_offset, ack_deadline, self.now_s(),
                 *columns.values()))
        sub = self.subscription(project_id, name)
        assert sub is not None
        return sub

    def delete_subscription(self, sub_id: int) -> None:
        """Delete a subscription and its ACL."""
        with self._write() as db:
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ?",
                       (SUBSCRIPTION, sub_id))
            db.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))

    def set_ack_deadline(self, sub_id: int, seconds: int) -> None:
        """Change a subscription's ack deadline."""
        with self._write() as db:
            db.execute("UPDATE subscriptions SET ack_deadline = ? WHERE id = ?", (seconds, sub_id))

    def set_push_config(self, sub_id: int, push: PushConfig) -> None:
        """Replace a subscription's push configuration."""
        columns = push.columns()
        assignments = ", ".join(f"{key} = ?" for key in columns)
        with self._write() as db:
            db.execute(f"UPDATE subscriptions SET {assignments} WHERE id = ?",  # noqa: S608
                       (*columns.values(), sub_id))

    def set_push_status(self, sub_id: int, status: str) -> None:
        """Record the push server's status text for a subscription (shown as ``pushStatus``)."""
        with self._write() as db:
            db.execute("UPDATE subscriptions SET push_status = ? WHERE id = ?", (status, sub_id))

    def set_offset(self, sub_id: int, offset: int) -> None:
        """Move a subscription's committed offset and clear its pending pull window."""
        with self._write() as db:
            db.execute("UPDATE subscriptions SET cur_offset = ?, next_offset = 0 WHERE id = ?",
                       (offset, sub_id))

    def record_pull(self, sub: Subscription, messages: Sequence[StoredMessage]) -> None:
        """Finish a pull that started at ``sub.offset``: set the pending window
        (``next_offset = offset + len(messages)``, ``pending_ack = now``) and update the
        consumption counters and rate."""
        now = self.now_ns()
        with self._write() as db:
            row = db.execute("SELECT last_consume_ns FROM subscriptions WHERE id = ?",
                             (sub.id,)).fetchone()
            if row is None:
                return
            elapsed = 1.0 if row[0] == 0 else (now - row[0]) / 1e9
            rate = len(messages) / elapsed if elapsed > 0 else float(len(messages))
            size = sum(len(m.data.encode("utf-8")) for m in messages)
            db.execute("UPDATE subscriptions SET next_offset = ?, pending_ack = ?,"
                       " message_count = message_count + ?, bytes = bytes + ?,"
                       " last_consume_ns = ?, consume_rate = ? WHERE id = ?",
                       (sub.offset + len(messages), now // 1_000_000_000, len(messages), size,
                        now, rate, sub.id))

    def pull(self, project: str, subscription: str, max_messages: int) -> list[StoredMessage]:
        """Pull up to ``max_messages`` messages from a subscription at once (no waiting), with
        the side effects of a pull request: the pending window restarts, counters grow.

        Meant for the push worker. Raises :class:`AmsError` (404 for an unknown project or
        subscription, 409 when the subscription's topic is gone).
        """
        sub = self._subscription_named(project, subscription)
        project_row = self.project_by_name(project)
        assert project_row is not None
        topic = self.topic(project_row.id, sub.topic_name)
        if topic is None:
            raise conflict("Subscription's topic doesn't exist")
        messages = self.read_messages(topic.id, sub.offset, max(max_messages, 1))
        self.record_pull(sub, messages)
        return messages

    def acknowledge(self, project: str, subscription: str, max_offset: int) -> None:
        """Cumulatively acknowledge every message up to ``max_offset`` (spec 12.3).

        Raises :class:`AmsError`: 404 for an unknown project/subscription, 500 ``no ack
        pending`` / ``wrong ack`` and 408 ``ack timeout``; nothing changes then.
        """
        sub = self._subscription_named(project, subscription)
        with self._write() as db:
            row = db.execute("SELECT cur_offset, next_offset, pending_ack, ack_deadline"
                             " FROM subscriptions WHERE id = ?", (sub.id,)).fetchone()
            offset, next_offset, pending_ack, deadline = row
            if next_offset == 0:
                raise internal("no ack pending")
            if max_offset < offset or max_offset >= next_offset:
                raise internal("wrong ack")
            if self.now_s() - pending_ack > deadline:
                raise AmsError(408, "TIMEOUT", "ack timeout")
            db.execute("UPDATE subscriptions SET cur_offset = ?, next_offset = 0 WHERE id = ?",
                       (max_offset + 1, sub.id))

    def _subscription_named(self, project: str, subscription: str) -> Subscription:
        project_row = self.project_by_name(project)
        if project_row is None:
            raise AmsError(404, "NOT_FOUND", "project doesn't exist")
        sub = self.subscription(project_row.id, subscription)
        if sub is None:
            raise not_found("Subscription")
        return sub

    def active_push_subscriptions(self) -> list[Subscription]:
        """Subscriptions a push worker should deliver to: push type set and verified
        (mattermost subscriptions are always verified). See ``Subscription.push``."""
        rows = self._all(f"{_SUB_SELECT} WHERE s.push_type != '' AND s.verified = 1 ORDER BY s.id")
        return [Subscription.from_row(r) for r in rows]

    # ------------------------------------------------------------------ schemas

    def schema(self, project_id: int, name: str) -> Optional[Schema]:
        """Look a schema up by project and short name."""
        row = self._one(f"{_SCHEMA_SELECT} WHERE s.project_id = ? AND s.name = ?",
                        (project_id, name))
        return None if row is None else self._schema_from_row(row)

    def schema_by_id(self, schema_id: int) -> Optional[Schema]:
        """Look a schema up by internal id."""
        row = self._one(f"{_SCHEMA_SELECT} WHERE s.id = ?", (schema_id,))
        return None if row is None else self._schema_from_row(row)

    @staticmethod
    def _schema_from_row(row: sqlite3.Row) -> Schema:
        return Schema(row["id"], row["uuid"], row["project_id"], row["project_name"], row["name"],
                      row["type"], json.loads(row["document"]))

    def list_schemas(self, project_id: int) -> list[Schema]:
        """The project's schemas in storage order."""
        rows = self._all(f"{_SCHEMA_SELECT} WHERE s.project_id = ? ORDER BY s.id", (project_id,))
        return [self._schema_from_row(r) for r in rows]

    def create_schema(self, project_id: int, name: str, schema_type: str,
                      document: Optional[dict[str, Any]]) -> Schema:
        """Store a new schema."""
        with self._write() as db:
            db.execute("INSERT INTO schemas (uuid, project_id, name, type, document)"
                       " VALUES (?, ?, ?, ?, ?)",
                       (new_uuid(), project_id, name, schema_type, json.dumps(document)))
        schema = self.schema(project_id, name)
        assert schema is not None
        return schema

    def update_schema(self, schema_id: int, name: str, schema_type: str,
                      document: Optional[dict[str, Any]]) -> None:
        """Replace a schema's name, type and document."""
        with self._write() as db:
            db.execute("UPDATE schemas SET name = ?, type = ?, document = ? WHERE id = ?",
                       (name, schema_type, json.dumps(document), schema_id))

    def delete_schema(self, schema_id: int) -> None:
        """Delete a schema and detach it from every topic using it."""
        with self._write() as db:
            db.execute("UPDATE topics SET schema_id = NULL WHERE schema_id = ?", (schema_id,))
            db.execute("DELETE FROM schemas WHERE id = ?", (schema_id,))

