"""AmsUser, AmsUserProject, AmsUserPage: users as returned by the AMS user routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping

__all__ = ["AmsUser", "AmsUserPage", "AmsUserProject"]


@dataclass
class AmsUserProject:
    """A user's membership of one project.

    Attributes:
        project: the project name.
        roles: project roles (``project_admin``, ``publisher``, ``consumer``).
        topics: short names of the project's topics whose ACL lists the user (read-only).
        subscriptions: same for subscriptions (read-only).
    """

    project: str
    roles: List[str] = field(default_factory=list)
    topics: List[str] = field(default_factory=list)
    subscriptions: List[str] = field(default_factory=list)

    @classmethod
    def load_from_dict(cls, data: Mapping[str, Any]) -> AmsUserProject:
        """Build from a ``projects[]`` entry of a user object (``roles: null`` is accepted)."""
        return cls(
            project=str(data.get("project", "")),
            roles=list(data.get("roles") or []),
            topics=list(data.get("topics") or []),
            subscriptions=list(data.get("subscriptions") or []),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The form AMS accepts in request bodies: ``{"project": ..., "roles": [...]}``."""
        return {"project": self.project, "roles": list(self.roles)}


@dataclass(repr=False)
class AmsUser:
    """An AMS user.

    Only ``name`` is required to create one; AMS fills ``uuid``, ``token``, ``created_on`` ...

    ``repr()`` never shows the token.
    """

    name: str = ""
    projects: List[AmsUserProject] = field(default_factory=list)
    uuid: str = ""
    token: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    organization: str = ""
    description: str = ""
    service_roles: List[str] = field(default_factory=list)
    created_on: str = ""
    modified_on: str = ""
    created_by: str = ""

    @classmethod
    def load_from_dict(cls, data: Mapping[str, Any]) -> AmsUser:
        """Build from a user object of the AMS API (``service_roles: null`` is accepted)."""
        return cls(
            name=str(data.get("name", "")),
            projects=[AmsUserProject.load_from_dict(p) for p in data.get("projects") or []],
            uuid=str(data.get("uuid", "")),
            token=str(data.get("token", "")),
            email=str(data.get("email", "")),
            first_name=str(data.get("first_name", "")),
            last_name=str(data.get("last_name", "")),
            organization=str(data.get("organization", "")),
            description=str(data.get("description", "")),
            service_roles=list(data.get("service_roles") or []),
            created_on=str(data.get("created_on", "")),
            modified_on=str(data.get("modified_on", "")),
            created_by=str(data.get("created_by", "")),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The body AMS accepts to create a user (the name travels in the URL)."""
        out: Dict[str, Any] = {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "organization": self.organization,
            "description": self.description,
            "projects": [p.to_dict() for p in self.projects],
            "service_roles": list(self.service_roles),
        }
        return out

    def __repr__(self) -> str:
        token = ", token=<hidden>" if self.token else ""
        return (
            f"AmsUser(name={self.name!r}, uuid={self.uuid!r}, "
            f"projects={[p.project for p in self.projects]!r}, "
            f"service_roles={self.service_roles!r}{token})"
        )


@dataclass
class AmsUserPage:
    """One page of a user listing.

    Attributes:
        users: the users of this page.
        next_page_token: pass to the next call to get the next page; ``""`` on the last page.
        total_size: how many users the whole listing has.
    """

    users: List[AmsUser]
    next_page_token: str = ""
    total_size: int = 0

    @classmethod
    def load_from_dict(cls, data: Mapping[str, Any]) -> AmsUserPage:
        return cls(
            users=[AmsUser.load_from_dict(u) for u in data.get("users") or []],
            next_page_token=str(data.get("nextPageToken") or ""),
            total_size=int(data.get("totalSize") or 0),
        )


