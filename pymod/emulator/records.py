"""The emulator's records: what :class:`pymod.emulator.store.Store` reads and writes, as frozen
dataclasses, with the identifiers' generators."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
import uuid as uuid_mod
from collections.abc import Sequence
from typing import Any, Optional

from pymod.emulator.formatting import fmt_publish_time, sorted_map

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
    """A schema of a project; ``document`` is the parsed schema JSON object (``None``: an Avro
    schema created without one, which goavro takes as the null type)."""

    id: int
    uuid: str
    project_id: int
    project_name: str
    name: str
    type: str
    document: Optional[dict[str, Any]]


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

