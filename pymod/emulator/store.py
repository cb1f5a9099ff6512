"""Durable state of the AMS emulator, kept in SQLite.

Everything the service knows lives here: users and tokens, projects and memberships, topics
with their message logs, subscriptions with offsets, pending windows and push settings, ACLs,
schemas, registrations and counters. ``Store()`` keeps it in memory; ``Store(path)`` in a
SQLite file (WAL mode, one commit per mutating call) so that state survives a restart, even a
``kill -9`` between requests.

The store implements the storage semantics of spec section 12 (offsets, pull windows,
cumulative acknowledgement, deadlines). Request validation and output formatting belong to
:mod:`pymod.emulator.app`.

Push delivery (done by a separate worker) uses :meth:`Store.active_push_subscriptions`,
:meth:`Store.pull`, :meth:`Store.acknowledge` and :meth:`Store.set_push_status`.

All methods are thread-safe (one lock around one connection).

This module holds the database schema, the connection and the account side (users,
memberships, projects, ACLs, registrations, reports); the message side (topics, logs,
subscriptions, schemas) is :class:`pymod.emulator.store_log.MessageLog`, and the records
(:class:`User`, :class:`Topic`, ...) are defined in :mod:`pymod.emulator.records`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional

from pymod.emulator.records import (  # re-exported: the store's public records
    SUBSCRIPTION,
    TOPIC,
    Membership,
    Project,
    PublishResult,
    PushConfig,
    Registration,
    Schema,
    StoredMessage,
    Subscription,
    Topic,
    User,
    _json_or_none,
    _roles_or_none,
    new_token,
    new_uuid,
)
from pymod.emulator.store_log import MessageLog

__all__ = [
    "SUBSCRIPTION", "TOPIC", "Membership", "Project", "PublishResult", "PushConfig",
    "Registration", "Schema", "Store", "StoredMessage", "Subscription", "Topic", "User",
    "new_token", "new_uuid",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    organization TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    token TEXT NOT NULL,
    service_roles TEXT,
    created_on INTEGER NOT NULL,
    modified_on INTEGER NOT NULL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS users_token ON users(token);
CREATE INDEX IF NOT EXISTS users_uuid ON users(uuid);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_on INTEGER NOT NULL,
    modified_on INTEGER NOT NULL,
    created_by TEXT
);
CREATE TABLE IF NOT EXISTS members (
    user_id INTEGER NOT NULL,
    project_id INTEGER NOT NULL,
    roles TEXT,
    position INTEGER NOT NULL,
    created_on INTEGER NOT NULL,
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX IF NOT EXISTS members_project ON members(project_id);
CREATE TABLE IF NOT EXISTS topics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    schema_id INTEGER,
    created_on INTEGER NOT NULL,
    end_offset INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    last_publish_ns INTEGER NOT NULL DEFAULT 0,
    publish_rate REAL NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS messages (
    topic_id INTEGER NOT NULL,
    msg_offset INTEGER NOT NULL,
    publish_ns INTEGER NOT NULL,
    attributes TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (topic_id, msg_offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_counts (
    project_id INTEGER NOT NULL,
    topic_name TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (project_id, topic_name, day)
);
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    topic_name TEXT NOT NULL,
    cur_offset INTEGER NOT NULL,
    next_offset INTEGER NOT NULL DEFAULT 0,
    pending_ack INTEGER NOT NULL DEFAULT 0,
    ack_deadline INTEGER NOT NULL,
    push_type TEXT NOT NULL DEFAULT '',
    push_endpoint TEXT NOT NULL DEFAULT '',
    push_max_messages INTEGER NOT NULL DEFAULT 0,
    auth_type TEXT NOT NULL DEFAULT '',
    auth_value TEXT NOT NULL DEFAULT '',
    retry_type TEXT NOT NULL DEFAULT '',
    retry_period INTEGER NOT NULL DEFAULT 0,
    verification_hash TEXT NOT NULL DEFAULT '',
    verified INTEGER NOT NULL DEFAULT 0,
    mattermost_url TEXT NOT NULL DEFAULT '',
    mattermost_username TEXT NOT NULL DEFAULT '',
    mattermost_channel TEXT NOT NULL DEFAULT '',
    base64_decode INTEGER NOT NULL DEFAULT 0,
    push_status TEXT NOT NULL DEFAULT '',
    created_on INTEGER NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    last_consume_ns INTEGER NOT NULL DEFAULT 0,
    consume_rate REAL NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS acls (
    kind TEXT NOT NULL,
    resource_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (kind, resource_id, position)
);
CREATE INDEX IF NOT EXISTS acls_user ON acls(user_id);
CREATE TABLE IF NOT EXISTS schemas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    project_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    organization TEXT NOT NULL,
    description TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    decline_comment TEXT NOT NULL DEFAULT '',
    activation_token TEXT NOT NULL DEFAULT '',
    registered_at INTEGER NOT NULL,
    modified_by TEXT NOT NULL DEFAULT '',
    modified_at INTEGER NOT NULL DEFAULT 0
);
"""


def _owner_only(path: str) -> None:
    """Create the file ``path`` readable and writable by its owner only (0600), or make an
    existing one so; a ``file:`` URI or ``:memory:`` is left alone."""
    if path == ":memory:" or path.startswith("file:"):
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class Store(MessageLog):
    """SQLite-backed state of the emulator.

    ``clock`` returns the current time in nanoseconds since the epoch; tests replace it to move
    time forward without sleeping.
    """

    def __init__(
        self, path: Optional[str] = None, *, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        if path:
            _owner_only(path)  # it holds every token: before SQLite creates it
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        # data files made before the ACL table could hold a user twice keep one entry per user
        self._acl_keeps_duplicates = "position" in [
            row[1] for row in self._all("PRAGMA table_info(acls)") if row[5]
        ]
        if path:  # SQLite gives the WAL and SHM files the database's mode; make sure of it
            for suffix in ("-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.chmod(path + suffix, 0o600)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def now_ns(self) -> int:
        """Current time (nanoseconds since the epoch) according to the store's clock."""
        return self.clock()

    def now_s(self) -> int:
        """Current time in whole epoch seconds."""
        return self.clock() // 1_000_000_000

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run a mutation under the lock and commit it (roll back on error)."""
        with self._lock:
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Optional[sqlite3.Row]:
        with self._lock:
            row: Optional[sqlite3.Row] = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # ------------------------------------------------------------------ bootstrap

    def bootstrap(self, *, admin_name: str, admin_token: str, project: str) -> None:
        """Idempotently ensure the service admin ``admin_name`` with token ``admin_token``
        (service role ``service_admin``) and the project ``project`` (created by the admin,
        who is not made a member) exist. Re-running it on an existing file duplicates nothing:
        an existing admin keeps its data but gets ``admin_token`` and ``service_admin``."""
        with self._write() as db:
            admin = self.user_by_name(admin_name)
            if admin is None:
                admin = self.create_user(admin_name, token=admin_token,
                                         service_roles=["service_admin"])
            else:
                roles = list(admin.service_roles or [])
                if "service_admin" not in roles:
                    roles.append("service_admin")
                db.execute("UPDATE users SET token = ?, service_roles = ? WHERE id = ?",
                           (admin_token, json.dumps(roles), admin.id))
            if self.project_by_name(project) is None:
                self.create_project(project, description="", created_by=admin.uuid)

    def ensure_service_user(self, name: str, role: str) -> User:
        """Ensure a user ``name`` exists holding service role ``role`` (e.g. the push worker)."""
        with self._write() as db:
            user = self.user_by_name(name)
            if user is None:
                return self.create_user(name, service_roles=[role])
            roles = list(user.service_roles or [])
            if role not in roles:
                roles.append(role)
                db.execute("UPDATE users SET service_roles = ? WHERE id = ?",
                           (json.dumps(roles), user.id))
            return self.user_by_id(user.id) or user

    # ------------------------------------------------------------------ users

    def token_for_user(self, name: str) -> Optional[str]:
        """The token of user ``name`` (used by the x509 authn service), or ``None``."""
        user = self.user_by_name(name)
        return None if user is None else user.token

    def user_by_name(self, name: str) -> Optional[User]:
        """Look a user up by name."""
        row = self._one("SELECT * FROM users WHERE name = ?", (name,))
        return None if row is None else User.from_row(row)

    def user_by_id(self, user_id: int) -> Optional[User]:
        """Look a user up by internal id."""
        row = self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else User.from_row(row)

    def user_by_token(self, token: str) -> Optional[User]:
        """Look a user up by token."""
        row = self._one("SELECT * FROM users WHERE token = ?", (token,))
        return None if row is None else User.from_row(row)

    def users_by_uuid(self, user_uuid: str) -> list[User]:
        """All users carrying ``user_uuid`` (normally zero or one)."""
        return [User.from_row(r) for r in self._all("SELECT * FROM users WHERE uuid = ?",
                                                     (user_uuid,))]

    def user_name_by_uuid(self, user_uuid: Optional[str]) -> str:
        """The name of the user with ``user_uuid``; ``""`` when unknown or ``None``."""
        if not user_uuid:
            return ""
        row = self._one("SELECT name FROM users WHERE uuid = ?", (user_uuid,))
        return "" if row is None else str(row["name"])

    def list_users(self, project_id: Optional[int] = None) -> list[User]:
        """All users, newest first; only members of ``project_id`` when given."""
        if project_id is None:
            rows = self._all("SELECT * FROM users ORDER BY id DESC")
        else:
            rows = self._all(
                "SELECT u.* FROM users u JOIN members m ON m.user_id = u.id "
                "WHERE m.project_id = ? ORDER BY u.id DESC", (project_id,))
        return [User.from_row(r) for r in rows]

    def create_user(
        self,
        name: str,
        *,
        token: Optional[str] = None,
        user_uuid: Optional[str] = None,
        email: str = "",
        first_name: str = "",
        last_name: str = "",
        organization: str = "",
        description: str = "",
        service_roles: Optional[list[str]] = None,
        memberships: Sequence[tuple[int, Optional[list[str]]]] = (),
        created_by: Optional[str] = None,
    ) -> User:
        """Create a user (fresh token and uuid unless given) with ``(project_id, roles)``
        memberships; ``created_by`` is the creator's uuid."""
        now = self.now_s()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO users (uuid, name, first_name, last_name, organization, description,"
                " email, token, service_roles, created_on, modified_on, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_uuid or new_uuid(), name, first_name, last_name, organization,
                 description, email, token or new_token(), _json_or_none(service_roles),
                 now, now, created_by))
            user_id = int(cursor.lastrowid or 0)
            self._replace_memberships(user_id, memberships)
        user = self.user_by_id(user_id)
        assert user is not None
        return user

    def update_user(self, user_id: int, **columns: Any) -> None:
        """Update user columns (``name``, ``email``, ``token``, ``service_roles`` (a list) ...)
        and refresh ``modified_on``."""
        allowed = {"name", "first_name", "last_name", "organization", "description", "email",
                   "token", "service_roles"}
        if not set(columns) <= allowed:
            raise ValueError(f"unknown user columns {set(columns) - allowed}")
        if "service_roles" in columns:
            columns["service_roles"] = _json_or_none(columns["service_roles"])
        columns["modified_on"] = self.now_s()
        assignments = ", ".join(f"{key} = ?" for key in columns)
        with self._write() as db:
            db.execute(f"UPDATE users SET {assignments} WHERE id = ?",  # noqa: S608
                       (*columns.values(), user_id))

    def set_token(self, user_id: int, token: str) -> None:
        """Replace a user's token (``modified_on`` is left alone, as on the real server)."""
        with self._write() as db:
            db.execute("UPDATE users SET token = ? WHERE id = ?", (token, user_id))

    def delete_user(self, user_id: int) -> None:
        """Delete a user, its memberships and its ACL entries."""
        with self._write() as db:
            db.execute("DELETE FROM members WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM acls WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    # ------------------------------------------------------------------ memberships

    def memberships(self, user_id: int) -> list[Membership]:
        """The user's project entries, in the order they were added."""
        rows = self._all(
            "SELECT m.project_id, COALESCE(p.name, ''), m.roles, m.created_on FROM members m"
            " LEFT JOIN projects p ON p.id = m.project_id WHERE m.user_id = ? ORDER BY m.position",
            (user_id,))
        return [Membership(r[0], r[1], _roles_or_none(r[2]), r[3]) for r in rows]

    def membership(self, user_id: int, project_id: int) -> Optional[Membership]:
        """The user's entry for one project, or ``None`` when not a member."""
        for entry in self.memberships(user_id):
            if entry.project_id == project_id:
                return entry
        return None

    def _replace_memberships(
        self, user_id: int, memberships: Sequence[tuple[int, Optional[list[str]]]]
    ) -> None:
        now = self.now_s()
        old = {r[0]: r[1] for r in self._db.execute(
            "SELECT project_id, created_on FROM members WHERE user_id = ?", (user_id,))}
        self._db.execute("DELETE FROM members WHERE user_id = ?", (user_id,))
        self._db.executemany(
            "INSERT INTO members (user_id, project_id, roles, position, created_on)"
            " VALUES (?, ?, ?, ?, ?)",
            [(user_id, pid, _json_or_none(roles), pos, old.get(pid, now))
             for pos, (pid, roles) in enumerate(memberships)])

    def set_memberships(
        self, user_id: int, memberships: Sequence[tuple[int, Optional[list[str]]]]
    ) -> None:
        """Replace all project entries of a user with ``(project_id, roles)`` pairs."""
        with self._write():
            self._replace_memberships(user_id, memberships)

    def set_member_roles(self, user_id: int, project_id: int, roles: Optional[list[str]],
                         *, touch: bool = True) -> None:
        """Add the user to the project with ``roles``, or replace its roles there
        (``touch``: also set the user's ``modified_on``)."""
        now = self.now_s()
        with self._write() as db:
            updated = db.execute(
                "UPDATE members SET roles = ? WHERE user_id = ? AND project_id = ?",
                (_json_or_none(roles), user_id, project_id)).rowcount
            if not updated:
                row = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM members"
                                 " WHERE user_id = ?", (user_id,)).fetchone()
                db.execute("INSERT INTO members (user_id, project_id, roles, position,"
                           " created_on) VALUES (?, ?, ?, ?, ?)",
                           (user_id, project_id, _json_or_none(roles), row[0], now))
            if touch:
                db.execute("UPDATE users SET modified_on = ? WHERE id = ?", (now, user_id))

    def remove_member(self, user_id: int, project_id: int) -> None:
        """Remove the user's entry for the project (its ACL entries are kept)."""
        with self._write() as db:
            db.execute("DELETE FROM members WHERE user_id = ? AND project_id = ?",
                       (user_id, project_id))
            db.execute("UPDATE users SET modified_on = ? WHERE id = ?", (self.now_s(), user_id))

    # ------------------------------------------------------------------ projects

    def project_by_name(self, name: str) -> Optional[Project]:
        """Look a project up by name."""
        row = self._one("SELECT * FROM projects WHERE name = ?", (name,))
        return None if row is None else Project(**dict(row))

    def project_by_id(self, project_id: int) -> Optional[Project]:
        """Look a project up by internal id."""
        row = self._one("SELECT * FROM projects WHERE id = ?", (project_id,))
        return None if row is None else Project(**dict(row))

    def list_projects(self) -> list[Project]:
        """All projects in storage (creation) order."""
        return [Project(**dict(r)) for r in self._all("SELECT * FROM projects ORDER BY id")]

    def create_project(self, name: str, *, description: str, created_by: Optional[str]) -> Project:
        """Create a project; ``created_by`` is the creator's user uuid (``None``: service token)."""
        now = self.now_s()
        with self._write() as db:
            db.execute("INSERT INTO projects (uuid, name, description, created_on, modified_on,"
                       " created_by) VALUES (?, ?, ?, ?, ?, ?)",
                       (new_uuid(), name, description, now, now, created_by))
        project = self.project_by_name(name)
        assert project is not None
        return project

    def update_project(self, project_id: int, *, name: str, description: str) -> None:
        """Set a project's name and description and refresh ``modified_on``."""
        with self._write() as db:
            db.execute("UPDATE projects SET name = ?, description = ?, modified_on = ?"
                       " WHERE id = ?", (name, description, self.now_s(), project_id))

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its topics, messages, subscriptions, schemas and counters.
        Its members keep their entries for it, shown with project name ``""`` (as on the real
        server, which leaves the users' project references in place)."""
        with self._write() as db:
            for (topic_id,) in db.execute("SELECT id FROM topics WHERE project_id = ?",
                                          (project_id,)).fetchall():
                self._drop_topic(topic_id)
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id IN"
                       " (SELECT id FROM subscriptions WHERE project_id = ?)",
                       (SUBSCRIPTION, project_id))
            for table in ("subscriptions", "schemas", "daily_counts"):
                db.execute(f"DELETE FROM {table} WHERE project_id = ?",  # noqa: S608
                           (project_id,))
            db.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    # ------------------------------------------------------------------ ACLs

    def acl_users(self, kind: str, resource_id: int) -> list[str]:
        """Names of the users in a topic (``TOPIC``) or subscription (``SUBSCRIPTION``) ACL."""
        rows = self._all("SELECT u.name FROM acls a JOIN users u ON u.id = a.user_id"
                         " WHERE a.kind = ? AND a.resource_id = ? ORDER BY a.position",
                         (kind, resource_id))
        return [r[0] for r in rows]

    def acl_contains(self, kind: str, resource_id: int, user_id: int) -> bool:
        """True when the user is in the resource's ACL."""
        return self._one("SELECT 1 FROM acls WHERE kind = ? AND resource_id = ? AND user_id = ?",
                         (kind, resource_id, user_id)) is not None

    def set_acl(self, kind: str, resource_id: int, user_ids: Sequence[int]) -> None:
        """Replace a resource's ACL with the users as given, duplicates included (as the real
        server stores the list)."""
        unique = list(user_ids) if self._acl_keeps_duplicates else list(dict.fromkeys(user_ids))
        with self._write() as db:
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ?", (kind, resource_id))
            db.executemany("INSERT INTO acls (kind, resource_id, user_id, position)"
                           " VALUES (?, ?, ?, ?)",
                           [(kind, resource_id, uid, pos) for pos, uid in enumerate(unique)])

    def add_to_acl(self, kind: str, resource_id: int, user_id: int) -> None:
        """Append a user to a resource's ACL unless already present."""
        with self._write() as db:
            if self.acl_contains(kind, resource_id, user_id):
                return
            row = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM acls"
                             " WHERE kind = ? AND resource_id = ?", (kind, resource_id)).fetchone()
            db.execute("INSERT INTO acls (kind, resource_id, user_id, position)"
                       " VALUES (?, ?, ?, ?)", (kind, resource_id, user_id, row[0]))

    def remove_from_acl(self, kind: str, resource_id: int, user_id: int) -> None:
        """Remove a user from a resource's ACL."""
        with self._write() as db:
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ? AND user_id = ?",
                       (kind, resource_id, user_id))

    def user_acl_resources(self, user_id: int, project_id: int) -> tuple[list[str], list[str]]:
        """Short names of the project's topics and subscriptions whose ACL holds the user."""
        topics = self._all("SELECT DISTINCT t.name, t.id FROM acls a JOIN topics t ON t.id = a.resource_id"
                           " WHERE a.kind = ? AND a.user_id = ? AND t.project_id = ?"
                           " ORDER BY t.id", (TOPIC, user_id, project_id))
        subs = self._all("SELECT DISTINCT s.name, s.id FROM acls a JOIN subscriptions s"
                         " ON s.id = a.resource_id"
                         " WHERE a.kind = ? AND a.user_id = ? AND s.project_id = ?"
                         " ORDER BY s.id", (SUBSCRIPTION, user_id, project_id))
        return [r[0] for r in topics], [r[0] for r in subs]

    # ------------------------------------------------------------------ registrations

    def registration(self, reg_uuid: str) -> Optional[Registration]:
        """Look a registration up by uuid."""
        row = self._one("SELECT * FROM registrations WHERE uuid = ?", (reg_uuid,))
        return None if row is None else Registration(**dict(row))

    def list_registrations(self, filters: dict[str, str]) -> list[Registration]:
        """Registrations matching every ``column → value`` filter, in storage order."""
        allowed = {"status", "name", "email", "organization", "activation_token"}
        if not set(filters) <= allowed:
            raise ValueError(f"unknown registration filters {set(filters) - allowed}")
        where = " AND ".join(f"{key} = ?" for key in filters) or "1 = 1"
        rows = self._all(f"SELECT * FROM registrations WHERE {where} ORDER BY id",  # noqa: S608
                         tuple(filters.values()))
        return [Registration(**dict(r)) for r in rows]

    def create_registration(self, *, name: str, first_name: str, last_name: str,
                            organization: str, description: str, email: str) -> Registration:
        """Store a new pending registration with a fresh activation token."""
        reg_uuid = new_uuid()
        with self._write() as db:
            db.execute("INSERT INTO registrations (uuid, name, first_name, last_name,"
                       " organization, description, email, status, activation_token,"
                       " registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                       (reg_uuid, name, first_name, last_name, organization, description, email,
                        new_token(), self.now_s()))
        registration = self.registration(reg_uuid)
        assert registration is not None
        return registration

    def close_registration(self, reg_id: int, *, status: str, modified_by: str,
                           comment: str = "") -> None:
        """Mark a registration accepted or declined by the user with uuid ``modified_by`` (the
        activation token is cleared)."""
        with self._write() as db:
            db.execute("UPDATE registrations SET status = ?, decline_comment = ?,"
                       " activation_token = '', modified_by = ?, modified_at = ? WHERE id = ?",
                       (status, comment, modified_by, self.now_s(), reg_id))

    def delete_registration(self, reg_id: int) -> None:
        """Delete a registration."""
        with self._write() as db:
            db.execute("DELETE FROM registrations WHERE id = ?", (reg_id,))

    # ------------------------------------------------------------------ reports

    def count_created(self, table: str, project_id: int, start: int, end: int) -> int:
        """Number of ``topics``/``subscriptions`` of a project created within ``[start, end]``
        (epoch seconds), or with ``members`` the project's members whose *user* was created
        then (what the real server's ``UsersCount`` counts)."""
        if table == "members":
            row = self._one("SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id"
                            " WHERE m.project_id = ? AND u.created_on BETWEEN ? AND ?",
                            (project_id, start, end))
            return 0 if row is None else int(row[0])
        if table not in ("topics", "subscriptions"):
            raise ValueError(table)
        row = self._one(f"SELECT COUNT(*) FROM {table} WHERE project_id = ?"  # noqa: S608
                        " AND created_on BETWEEN ? AND ?", (project_id, start, end))
        return 0 if row is None else int(row[0])
