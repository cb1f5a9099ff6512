"""AmsUser, AmsUserProject, AmsUserPage: users as returned by the AMS user routes.

The constructors, attributes, ``to_json()`` and ``load_from_dict()`` are those of argo-ams-library
1.0.0 (``AmsUser().load_from_dict(d)`` fills and returns the instance); ``load_from_dict`` may also
be called on the class (``AmsUser.load_from_dict(d)``) to build a new object.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, Type, TypeVar

__all__ = ["AmsUser", "AmsUserPage", "AmsUserProject"]

_T = TypeVar("_T")


class _instance_or_class_method(Generic[_T]):
    """``obj.load_from_dict(d)`` fills ``obj``; ``Cls.load_from_dict(d)`` fills a new ``Cls()``."""

    def __init__(self, func: Callable[[Any, Mapping[str, Any]], _T]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: Type[Any]) -> Callable[[Mapping[str, Any]], _T]:
        target = owner() if obj is None else obj
        return lambda data: self.func(target, data)


def _str_list(value: object, what: str) -> List[str]:
    """``value`` as a list of str; None or a non-list is ``[]`` (as the original).

    Raises:
        ValueError: an item is not a str.
    """
    if value is None or not isinstance(value, list):
        return []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{what} has to be of type str")
    return value


class AmsUserProject:
    """A user's membership of one project.

    Args:
        project: the project name.
        roles: project roles (``project_admin``, ``publisher``, ``consumer``).
        topics: topics whose ACL lists the user (read-only, shown by AMS).
        subscriptions: same for subscriptions (read-only).

    Raises:
        ValueError: a role is not a str (as argo-ams-library).
    """

    def __init__(self, project: str = "", roles: Optional[List[str]] = None,
                 topics: Optional[List[str]] = None,
                 subscriptions: Optional[List[str]] = None) -> None:
        self.project = project
        self.roles: List[str] = _str_list(roles, "role")
        self.topics: List[str] = topics if isinstance(topics, list) else []
        self.subscriptions: List[str] = subscriptions if isinstance(subscriptions, list) else []

    @_instance_or_class_method
    def load_from_dict(self, project_dict: Mapping[str, Any]) -> AmsUserProject:
        """Fill from a ``projects[]`` entry of a user object; returns the object."""
        if "project" in project_dict:
            self.project = project_dict["project"]
        self.roles = list(project_dict.get("roles") or [])
        self.topics = list(project_dict.get("topics") or [])
        self.subscriptions = list(project_dict.get("subscriptions") or [])
        return self

    def to_dict(self) -> Dict[str, Any]:
        """The form AMS accepts in request bodies: ``{"project": ..., "roles": [...]}``."""
        return {"project": self.project, "roles": list(self.roles)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsUserProject):
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"AmsUserProject(project={self.project!r}, roles={self.roles!r})"


#: (attribute, key in the AMS user object), in the order the original's load_from_dict read them.
_FIELDS = (
    ("uuid", "uuid"), ("name", "name"), ("token", "token"), ("email", "email"),
    ("service_roles", "service_roles"), ("created_on", "created_on"),
    ("modified_on", "modified_on"), ("created_by", "created_by"),
    ("description", "description"), ("firstname", "first_name"), ("lastname", "last_name"),
    ("organization", "organization"),
)


class AmsUser:
    """An AMS user, as argo-ams-library 1.0.0 defined it.

    Only ``name`` is needed to create one; AMS fills ``uuid``, ``token``, ``created_on`` ...
    ``repr()`` never shows the token.

    Args:
        uuid: the user's uuid (set by AMS).
        name: the user name.
        firstname: sent as ``first_name``; also readable and writable as ``first_name``.
        lastname: sent as ``last_name``; also readable and writable as ``last_name``.
        organization: str.
        description: str.
        token: the user's token (set by AMS).
        email: str.
        created_on: set by AMS.
        created_by: set by AMS.
        modified_on: set by AMS.
        projects: :class:`AmsUserProject` list.
        service_roles: service roles (``service_admin``).
        first_name, last_name: keyword-only aliases of ``firstname``/``lastname``.

    Raises:
        ValueError: a service role is not a str, or a project is not an AmsUserProject.
    """

    def __init__(self, uuid: str = "", name: str = "",
                 projects: Optional[List[AmsUserProject]] = None, firstname: str = "",
                 lastname: str = "", organization: str = "", description: str = "",
                 token: str = "", email: str = "", service_roles: Optional[List[str]] = None,
                 created_on: str = "", created_by: str = "", modified_on: str = "", *,
                 first_name: Optional[str] = None, last_name: Optional[str] = None) -> None:
        service_roles = _str_list(service_roles, "service role")
        if projects is None or not isinstance(projects, list):
            projects = []
        for p in projects:
            if not isinstance(p, AmsUserProject):
                raise ValueError("project has to be of type AmsUserProject")
        self.uuid = uuid
        self.name = name
        self.projects: List[AmsUserProject] = projects
        self.firstname = firstname if first_name is None else first_name
        self.lastname = lastname if last_name is None else last_name
        self.organization = organization
        self.description = description
        self.token = token
        self.email = email
        self.service_roles: List[str] = service_roles
        self.created_on = created_on
        self.created_by = created_by
        self.modified_on = modified_on

    @property
    def first_name(self) -> str:
        """``firstname`` under its AMS name."""
        return self.firstname

    @first_name.setter
    def first_name(self, value: str) -> None:
        self.firstname = value

    @property
    def last_name(self) -> str:
        """``lastname`` under its AMS name."""
        return self.lastname

    @last_name.setter
    def last_name(self, value: str) -> None:
        self.lastname = value

    def _body(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {}
        if self.projects:
            body["projects"] = [
                {"project": p.project, "roles": p.roles, "topics": p.topics,
                 "subscriptions": p.subscriptions}
                for p in self.projects
            ]
        for attr, key in (("firstname", "first_name"), ("lastname", "last_name"),
                          ("description", "description"), ("organization", "organization"),
                          ("email", "email")):
            if getattr(self, attr) != "":
                body[key] = getattr(self, attr)
        if self.service_roles:
            body["service_roles"] = self.service_roles
        return body

    def to_json(self) -> str:
        """The body AMS takes to create the user (``json.dumps``): the non-empty fields among
        projects, first_name, last_name, description, organization, email, service_roles."""
        return json.dumps(self._body())

    def to_dict(self) -> Dict[str, Any]:
        """:meth:`to_json` as a dict."""
        return self._body()

    @_instance_or_class_method
    def load_from_dict(self, user_dict: Mapping[str, Any]) -> AmsUser:
        """Fill the fields present in ``user_dict`` (a user object of the AMS API); returns the
        object. ``service_roles: null`` and ``roles: null`` are read as ``[]``."""
        if "projects" in user_dict:
            self.projects = [AmsUserProject().load_from_dict(p) for p in user_dict["projects"] or []]
        for attr, key in _FIELDS:
            if key in user_dict:
                value = user_dict[key]
                if attr == "service_roles":
                    value = list(value or [])
                setattr(self, attr, value)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsUser):
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        token = ", token=<hidden>" if self.token else ""
        return (
            f"AmsUser(name={self.name!r}, uuid={self.uuid!r}, "
            f"projects={[p.project for p in self.projects]!r}, "
            f"service_roles={self.service_roles!r}{token})"
        )


class AmsUserPage:
    """One page of a user listing.

    Attributes:
        users: the users of this page.
        total_size: how many users the whole listing has.
        next_page_token: pass to the next call to get the next page; ``""`` on the last page.
    """

    def __init__(self, users: List[AmsUser], total_size: int = 0,
                 next_page_token: str = "") -> None:
        self.users = users
        self.total_size = total_size
        self.next_page_token = next_page_token

    @classmethod
    def load_from_dict(cls, data: Mapping[str, Any]) -> AmsUserPage:
        return cls(
            users=[AmsUser().load_from_dict(u) for u in data.get("users") or []],
            total_size=int(data.get("totalSize") or 0),
            next_page_token=str(data.get("nextPageToken") or ""),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsUserPage):
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        return (f"AmsUserPage(users={self.users!r}, total_size={self.total_size!r}, "
                f"next_page_token={self.next_page_token!r})")
