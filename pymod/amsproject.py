"""AmsProject: a project name bound to a client, for project and member administration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, Optional

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.amsuser import AmsUser
    from pymod.types import MetricList, Project

__all__ = ["AmsProject"]


class AmsProject:
    """A project: its settings, metrics and members.

    Get one with :meth:`ArgoMessagingService.project` (no request is made). Methods delegate to
    the client with this project's name and take the same ``**reqkwargs``. Member management needs
    a ``project_admin`` of the project or a ``service_admin``; :meth:`get`, :meth:`update` and
    :meth:`delete` of the project itself a ``service_admin``.

    Attributes:
        name (str): the project name; init (ArgoMessagingService): the client.
    """

    def __init__(self, name: str, init: ArgoMessagingService) -> None:
        self.name = name
        self.init = init

    def __repr__(self) -> str:
        return f"AmsProject({self.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsProject):
            return NotImplemented
        return self.name == other.name and self.init is other.init

    def __hash__(self) -> int:
        return hash(self.name)

    def get(self, **reqkwargs: Any) -> Project:
        """The project object (``GET /v1/projects/{project}``)."""
        return self.init.get_project(self.name, False, **reqkwargs)

    def update(self, description: str = "", updated_name: str = "", **reqkwargs: Any) -> Project:
        """Change the description and/or the name (``PUT /v1/projects/{project}``); after a
        rename this object names the new project. Returns the updated project."""
        updated = self.init.update_project(self.name, description, updated_name, **reqkwargs)
        self.name = updated.get("name") or self.name
        return updated

    def delete(self, **reqkwargs: Any) -> None:
        """Delete the project with its topics and subscriptions (``DELETE /v1/projects/{project}``)."""
        self.init.delete_project(self.name, **reqkwargs)

    def metrics(self, **reqkwargs: Any) -> MetricList:
        """The project's metrics (``GET /v1/projects/{project}:metrics``)."""
        return self.init.getmetrics_project(self.name, **reqkwargs)

    def members(self, details: bool = False, page_size: int = 100,
                **reqkwargs: Any) -> Iterator[AmsUser]:
        """Yield every member, ``page_size`` per request (``GET .../members``)."""
        return self.init.iter_project_members(self.name, details, page_size, **reqkwargs)

    def member(self, username: str, **reqkwargs: Any) -> AmsUser:
        """Member ``username`` (``GET .../members/{user}``)."""
        return self.init.get_project_member(username, self.name, **reqkwargs)

    def add_member(self, username: str, roles: Optional[List[str]] = None,
                   **reqkwargs: Any) -> AmsUser:
        """Make existing user ``username`` a member with ``roles`` (``POST .../members/{user}:add``)."""
        return self.init.add_project_member(username, self.name, roles, **reqkwargs)

    def create_member(self, username: str, roles: Optional[List[str]] = None,
                      email: Optional[str] = None, **reqkwargs: Any) -> AmsUser:
        """Create user ``username`` as a member (``POST .../members/{user}``); it has a token."""
        return self.init.create_project_member(username, self.name, roles, email, **reqkwargs)

    def update_member(self, username: str, roles: List[str], **reqkwargs: Any) -> AmsUser:
        """Replace the roles of member ``username`` (``PUT .../members/{user}``)."""
        return self.init.update_project_member(username, roles, self.name, **reqkwargs)

    def remove_member(self, username: str, **reqkwargs: Any) -> None:
        """Remove member ``username`` (``POST .../members/{user}:remove``)."""
        self.init.remove_project_member(username, self.name, **reqkwargs)
