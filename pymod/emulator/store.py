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
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid as uuid_mod
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional

from pymod.emulator.errors import AmsError, conflict, internal, not_found
from pymod.emulator.formatting import dumps, fmt_day, fmt_publish_time, sorted_map

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
    PRIMARY KEY (kind, resource_id, user_id)
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

#: ACL kinds.
TOPIC = "topic"
SUBSCRIPTION = "sub"


def new_token() -> str:
    """A fresh 64-hex token: the SHA-256 digest of random bytes, like AMS issues."""
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def new_uuid() -> str:
    """A random version-4 UUID in lower-case hyphenated form."""
    return str(uuid_mod.uuid4())


def _roles_or_none(text: Optional[str]) -> Optional[list[str]]:
    return None if text is None else list(json.loads(text))


def _json_or_none(values: Optional[Sequence[str]]) -> Optional[str]:
    return None if values is None else json.dumps(list(values))


@dataclasses.dataclass(frozen=True)
class User:
    """A user account (spec 8.1)."""

    id: int
    uuid: str
    name: str
    first_name: str
    last_name: str
    organization: str
    description: str
    email: str
    token: str
    service_roles: Optional[list[str]]
    created_on: int
    modified_on: int
    created_by: Optional[str]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> User:
        values = dict(row)
        values["service_roles"] = _roles_or_none(values["service_roles"])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Membership:
    """A user's entry for one project: its project roles (``None`` = stored without roles)."""

    project_id: int
    project_name: str
    roles: Optional[list[str]]
    created_on: int


@dataclasses.dataclass(frozen=True)
class Project:
    """A project (spec 7.1); ``created_by`` is the creator's user uuid."""

    id: int
    uuid: str
    name: str
    description: str
    created_on: int
    modified_on: int
    created_by: Optional[str]


@dataclasses.dataclass(frozen=True)
class Topic:
    """A topic with its log end offset and publishing counters."""

    id: int
    project_id: int
    name: str
    schema_id: Optional[int]
    created_on: int
    end_offset: int
    message_count: int
    bytes: int
    last_publish_ns: int
    publish_rate: float


@dataclasses.dataclass(frozen=True)
class PushConfig:
    """Push settings of a subscription; ``type == ""`` means a pull subscription."""

    type: str = ""
    endpoint: str = ""
    max_messages: int = 0
    auth_type: str = ""
    auth_value: str = ""
    retry_type: str = ""
    retry_period: int = 0
    verification_hash: str = ""
    verified: bool = False
    mattermost_url: str = ""
    mattermost_username: str = ""
    mattermost_channel: str = ""
    base64_decode: bool = False

    def columns(self) -> dict[str, Any]:
        """The subscription-table columns holding this configuration."""
        return {
            "push_type": self.type,
            "push_endpoint": self.endpoint,
            "push_max_messages": self.max_messages,
            "auth_type": self.auth_type,
            "auth_value": self.auth_value,
            "retry_type": self.retry_type,
            "retry_period": self.retry_period,
            "verification_hash": self.verification_hash,
            "verified": int(self.verified),
            "mattermost_url": self.mattermost_url,
            "mattermost_username": self.mattermost_username,
            "mattermost_channel": self.mattermost_channel,
            "base64_decode": int(self.base64_decode),
        }


@dataclasses.dataclass(frozen=True)
class Subscription:
    """A subscription with its committed offset, pending window, push settings and counters.

    ``next_offset == 0`` means no pull window is pending; ``pending_ack`` is the epoch second of
    the last pull.
    """

    id: int
    project_id: int
    project_name: str
    name: str
    topic_name: str
    offset: int
    next_offset: int
    pending_ack: int
    ack_deadline: int
    push: PushConfig
    push_status: str
    created_on: int
    message_count: int
    bytes: int
    last_consume_ns: int
    consume_rate: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Subscription:
        push = PushConfig(
            type=row["push_type"],
            endpoint=row["push_endpoint"],
            max_messages=row["push_max_messages"],
            auth_type=row["auth_type"],
            auth_value=row["auth_value"],
            retry_type=row["retry_type"],
            retry_period=row["retry_period"],
            verification_hash=row["verification_hash"],
            verified=bool(row["verified"]),
            mattermost_url=row["mattermost_url"],
            mattermost_username=row["mattermost_username"],
            mattermost_channel=row["mattermost_channel"],
            base64_decode=bool(row["base64_decode"]),
        )
        return cls(
            id=row["id"],
            project_id=row["project_id"],
            project_name=row["project_name"],
            name=row["name"],
            topic_name=row["topic_name"],
            offset=row["cur_offset"],
            next_offset=row["next_offset"],
            pending_ack=row["pending_ack"],
            ack_deadline=row["ack_deadline"],
            push=push,
            push_status=row["push_status"],
            created_on=row["created_on"],
            message_count=row["message_count"],
            bytes=row["bytes"],
            last_consume_ns=row["last_consume_ns"],
            consume_rate=row["consume_rate"],
        )

    @property
    def full_name(self) -> str:
        """``/projects/P/subscriptions/S``."""
        return f"/projects/{self.project_name}/subscriptions/{self.name}"


@dataclasses.dataclass(frozen=True)
class StoredMessage:
    """One message of a topic log."""

    offset: int
    publish_ns: int
    attributes: Optional[dict[str, str]]
    data: str

    def to_json(self) -> dict[str, Any]:
        """The message object as AMS shows it (``attributes`` sorted and omitted when empty)."""
        body: dict[str, Any] = {"messageId": str(self.offset)}
        if self.attributes:
            body["attributes"] = sorted_map(self.attributes)
        body["data"] = self.data
        body["publishTime"] = fmt_publish_time(self.publish_ns)
        return body


@dataclasses.dataclass(frozen=True)
class Schema:
    """A schema of a project; ``document`` is the parsed schema JSON object."""

    id: int
    uuid: str
    project_id: int
    project_name: str
    name: str
    type: str
    document: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Registration:
    """A user registration request (spec 9)."""

    id: int
    uuid: str
    name: str
    first_name: str
    last_name: str
    organization: str
    description: str
    email: str
    status: str
    decline_comment: str
    activation_token: str
    registered_at: int
    modified_by: str
    modified_at: int


@dataclasses.dataclass(frozen=True)
class PublishResult:
    """Offsets assigned by :meth:`Store.publish`; ``too_large`` when it stopped at a big message."""

    offsets: list[int]
    too_large: bool


_SUB_SELECT = (
    "SELECT s.*, p.name AS project_name FROM subscriptions s JOIN projects p ON p.id = s.project_id"
)
_SCHEMA_SELECT = (
    "SELECT s.*, p.name AS project_name FROM schemas s JOIN projects p ON p.id = s.project_id"
)


class Store:
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
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

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
        """Replace a resource's ACL (duplicates are kept once)."""
        unique = list(dict.fromkeys(user_ids))
        with self._write() as db:
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ?", (kind, resource_id))
            db.executemany("INSERT INTO acls (kind, resource_id, user_id, position)"
                           " VALUES (?, ?, ?, ?)",
                           [(kind, resource_id, uid, pos) for pos, uid in enumerate(unique)])

    def add_to_acl(self, kind: str, resource_id: int, user_id: int) -> None:
        """Append a user to a resource's ACL unless already present."""
        with self._write() as db:
            row = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM acls"
                             " WHERE kind = ? AND resource_id = ?", (kind, resource_id)).fetchone()
            db.execute("INSERT OR IGNORE INTO acls (kind, resource_id, user_id, position)"
                       " VALUES (?, ?, ?, ?)", (kind, resource_id, user_id, row[0]))

    def remove_from_acl(self, kind: str, resource_id: int, user_id: int) -> None:
        """Remove a user from a resource's ACL."""
        with self._write() as db:
            db.execute("DELETE FROM acls WHERE kind = ? AND resource_id = ? AND user_id = ?",
                       (kind, resource_id, user_id))

    def user_acl_resources(self, user_id: int, project_id: int) -> tuple[list[str], list[str]]:
        """Short names of the project's topics and subscriptions whose ACL holds the user."""
        topics = self._all("SELECT t.name FROM acls a JOIN topics t ON t.id = a.resource_id"
                           " WHERE a.kind = ? AND a.user_id = ? AND t.project_id = ?"
                           " ORDER BY t.id", (TOPIC, user_id, project_id))
        subs = self._all("SELECT s.name FROM acls a JOIN subscriptions s ON s.id = a.resource_id"
                         " WHERE a.kind = ? AND a.user_id = ? AND s.project_id = ?"
                         " ORDER BY s.id", (SUBSCRIPTION, user_id, project_id))
        return [r[0] for r in topics], [r[0] for r in subs]

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
                      document: dict[str, Any]) -> Schema:
        """Store a new schema."""
        with self._write() as db:
            db.execute("INSERT INTO schemas (uuid, project_id, name, type, document)"
                       " VALUES (?, ?, ?, ?, ?)",
                       (new_uuid(), project_id, name, schema_type, json.dumps(document)))
        schema = self.schema(project_id, name)
        assert schema is not None
        return schema

    def update_schema(self, schema_id: int, name: str, schema_type: str,
                      document: dict[str, Any]) -> None:
        """Replace a schema's name, type and document."""
        with self._write() as db:
            db.execute("UPDATE schemas SET name = ?, type = ?, document = ? WHERE id = ?",
                       (name, schema_type, json.dumps(document), schema_id))

    def delete_schema(self, schema_id: int) -> None:
        """Delete a schema and detach it from every topic using it."""
        with self._write() as db:
            db.execute("UPDATE topics SET schema_id = NULL WHERE schema_id = ?", (schema_id,))
            db.execute("DELETE FROM schemas WHERE id = ?", (schema_id,))

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
        """Mark a registration accepted or declined (the activation token is cleared)."""
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
        """Number of ``topics``/``subscriptions``/``members`` of a project created within
        ``[start, end]`` (epoch seconds)."""
        if table not in ("topics", "subscriptions", "members"):
            raise ValueError(table)
        row = self._one(f"SELECT COUNT(*) FROM {table} WHERE project_id = ?"  # noqa: S608
                        " AND created_on BETWEEN ? AND ?", (project_id, start, end))
        return 0 if row is None else int(row[0])
