"""Users, projects, project members and registrations."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple, Union, overload

from pymod.amsexceptions import AmsArgumentException
from pymod.amsproject import AmsProject
from pymod.amsuser import AmsUser, AmsUserPage, AmsUserProject
from pymod.facade.base import FacadeBase, JSONDict, check_str_list, reply_field, walk_pages
from pymod.facade.topics import _page_query
from pymod.routes import validate_name
from pymod.types import MetricList, Project, Registration

__all__ = ["AccountsAPI"]


def _user_page_query(details: bool, page_size: int, page_token: str) -> Dict[str, Any]:
    query = _page_query(page_size, page_token)
    query["details"] = "true" if details else "false"
    return query


def _optional_fields(**fields: Optional[str]) -> Dict[str, str]:
    """The keyword arguments that are non-empty strings (the rest are left unchanged by AMS)."""
    out = {}
    for name, value in fields.items():
        if value:
            if not isinstance(value, str):
                raise AmsArgumentException(f"{name} must be a str, got {type(value).__name__}")
            out[name] = value
    return out


class AccountsAPI(FacadeBase):
    """User, project, member and registration methods of
    :class:`~pymod.ams.ArgoMessagingService`. Most need a ``service_admin`` token."""

    # ---- users -----------------------------------------------------------------------------
    def create_user(self, user: AmsUser, **reqkwargs: Any) -> AmsUser:
        """Create ``user`` (``POST /v1/users/{user.name}``); AMS generates token and uuid.

        Returns:
            the created :class:`AmsUser` (full view, with ``token``).

        Raises:
            AmsArgumentException: ``user`` is not an AmsUser.
            AmsServiceException: 409 user exists, 400 invalid project or role ...
        """
        if not isinstance(user, AmsUser):
            raise AmsArgumentException(f"user must be an AmsUser, got {type(user).__name__}")
        reply = self._call("users:create", user.to_json(), params={"user": user.name},
                           **reqkwargs)
        return AmsUser.load_from_dict(reply)

    def get_user(self, name: str, **reqkwargs: Any) -> AmsUser:
        """The user ``name`` (``GET /v1/users/{user}``). Raises AmsServiceException 404."""
        return AmsUser.load_from_dict(self._call("users:show", params={"user": name},
                                                 **reqkwargs))

    def get_user_by_token(self, token: str, **reqkwargs: Any) -> AmsUser:
        """The user owning ``token`` (``GET /v1/users:byToken/{token}``; the token is redacted
        from logs)."""
        return AmsUser.load_from_dict(self._call("users:byToken", params={"token": token},
                                                 **reqkwargs))

    def get_user_by_uuid(self, uuid: str, **reqkwargs: Any) -> AmsUser:
        """The user with ``uuid`` (``GET /v1/users:byUUID/{uuid}``)."""
        return AmsUser.load_from_dict(self._call("users:byUUID", params={"uuid": uuid},
                                                 **reqkwargs))

    def get_user_profile(self, **reqkwargs: Any) -> AmsUser:
        """The user owning the client's token (``GET /v1/users/profile``)."""
        return AmsUser.load_from_dict(self._call("users:profile", params={}, **reqkwargs))

    def list_users(
        self,
        details: bool = True,
        page_size: int = 0,
        next_page_token: str = "",
        *,
        project: Optional[str] = None,
        **reqkwargs: Any,
    ) -> AmsUserPage:
        """One page of users (``GET /v1/users?details=&pageSize=&pageToken=&project=``).

        Args:
            details: include each user's ``projects``.
            page_size: users per page; 0 = all.
            next_page_token: ``next_page_token`` of the previous page (sent as ``pageToken``).
            project: only members of this project.

        Returns:
            :class:`AmsUserPage` (``users``, ``next_page_token``, ``total_size``).
        """
        query = _user_page_query(details, page_size, next_page_token)
        if project is not None:
            query["project"] = validate_name("project", project)
        reply = self._call("users:list", query=query, params={}, **reqkwargs)
        return AmsUserPage.load_from_dict(reply)

    def iter_users(
        self, details: bool = True, page_size: int = 100, **reqkwargs: Any
    ) -> Iterator[AmsUser]:
        """Yield every user, fetching ``page_size`` per request."""

        def fetch(token: str) -> Tuple[List[AmsUser], str]:
            page = self.list_users(details, page_size, token, **reqkwargs)
            return page.users, page.next_page_token

        return walk_pages(page_size, fetch, "users:list")

    def update_user(
        self,
        name: str,
        first_name: str = "",
        last_name: str = "",
        description: str = "",
        organization: str = "",
        username: str = "",
        email: str = "",
        service_roles: Optional[List[str]] = None,
        projects: Optional[List[AmsUserProject]] = None,
        **reqkwargs: Any,
    ) -> AmsUser:
        """Update user ``name`` (``PUT /v1/users/{user}``); only the fields given change.

        Args:
            name: the user to update.
            first_name, last_name, description, organization, email: new values; ``""`` keeps.
            username: new user name (``""`` keeps).
            service_roles: replace the service roles; None or ``[]`` keeps them (as
                argo-ams-library, which sent only non-empty lists).
            projects: replace the memberships (:class:`AmsUserProject` list); None or ``[]``
                keeps them.

        Returns:
            the updated :class:`AmsUser`.
        """
        body: Dict[str, Any] = _optional_fields(
            first_name=first_name, last_name=last_name, description=description,
            organization=organization, name=username, email=email,
        )
        if service_roles:
            body["service_roles"] = check_str_list("service_roles", service_roles)
        if projects:
            if not isinstance(projects, (list, tuple)):
                raise AmsArgumentException(
                    f"projects must be a list of AmsUserProject, got {type(projects).__name__}"
                )
            body["projects"] = [_project_entry(p) for p in projects]
        reply = self._call("users:update", body, params={"user": name}, **reqkwargs)
        return AmsUser.load_from_dict(reply)

    def delete_user(self, name: str, **reqkwargs: Any) -> None:
        """Delete user ``name`` (``DELETE /v1/users/{user}``); returns None, as the original."""
        self._call("users:delete", params={"user": name}, **reqkwargs)

    def refresh_user_token(self, name: str, **reqkwargs: Any) -> AmsUser:
        """Give user ``name`` a new token (``POST /v1/users/{user}:refreshToken``); the old one
        stops working. Returns the user with the new ``token``."""
        return AmsUser.load_from_dict(self._call("users:refreshToken", params={"user": name},
                                                 **reqkwargs))

    # ---- projects --------------------------------------------------------------------------
    def create_project(self, name: str, description: str, **reqkwargs: Any) -> Project:
        """Create project ``name`` (``POST /v1/projects/{project}``).

        Returns:
            ``{"name", "created_on", "modified_on", "created_by"?, "description"?}``.
        """
        body = {"description": description or ""}
        result: Project = self._call("projects:create", body, params={"project": name},
                                      **reqkwargs)
        return result

    @overload
    def get_project(self, name: str, retobj: Literal[False] = ..., **reqkwargs: Any) -> Project: ...

    @overload
    def get_project(self, name: str, retobj: Literal[True], **reqkwargs: Any) -> AmsProject: ...

    def get_project(
        self, name: str, retobj: bool = False, **reqkwargs: Any
    ) -> Union[Project, AmsProject]:
        """Project ``name`` (``GET /v1/projects/{project}``).

        Args:
            retobj: return an :class:`~pymod.amsproject.AmsProject` (to manage the project and
                its members) instead of the JSON object.

        Raises:
            AmsServiceException: 404 if it does not exist.
        """
        result: Project = self._call("projects:show", params={"project": name}, **reqkwargs)
        if not retobj:
            return result
        return AmsProject(reply_field(result, "name", str, "projects:show"),
                          init=self)  # type: ignore[arg-type]

    def list_projects(self, **reqkwargs: Any) -> List[Project]:
        """Every project (``GET /v1/projects``), as a list of project objects (AMS does not
        paginate this listing)."""
        reply = self._call("projects:list", params={}, **reqkwargs)
        return list(reply.get("projects") or [])

    def update_project(
        self, name: str, description: str = "", updated_name: str = "", **reqkwargs: Any
    ) -> Project:
        """Update project ``name`` (``PUT /v1/projects/{project}``): new ``description`` and/or
        ``updated_name``; empty values are left unchanged. Returns the updated project."""
        body = _optional_fields(name=updated_name, description=description)
        result: Project = self._call("projects:update", body, params={"project": name},
                                      **reqkwargs)
        return result

    def delete_project(self, name: str, **reqkwargs: Any) -> JSONDict:
        """Delete project ``name`` with its topics and subscriptions
        (``DELETE /v1/projects/{project}``); ``{}``."""
        result: JSONDict = self._call("projects:delete", params={"project": name}, **reqkwargs)
        return result

    def getmetrics_project(self, project: Optional[str] = None, **reqkwargs: Any) -> MetricList:
        """Metrics of ``project`` (default: the client's) (``GET /v1/projects/{project}:metrics``):
        ``{"metrics": [...]}``."""
        result: MetricList = self._call(
            "projects:metrics", params={"project": self._project_or_default(project)},
            **reqkwargs,
        )
        return result

    # ---- members ---------------------------------------------------------------------------
    def add_project_member(
        self,
        username: str,
        project: Optional[str] = None,
        roles: Optional[List[str]] = None,
        **reqkwargs: Any,
    ) -> AmsUser:
        """Make existing user ``username`` a member of ``project`` with ``roles``
        (``POST /v1/projects/{project}/members/{user}:add``). Returns the user."""
        body = {"roles": check_str_list("roles", roles or [])}
        reply = self._call(
            "projects:addUser", body,
            params={"project": self._project_or_default(project), "user": username},
            **reqkwargs,
        )
        return AmsUser.load_from_dict(reply)

    def create_project_member(
        self,
        username: str,
        project: Optional[str] = None,
        roles: Optional[List[str]] = None,
        email: Optional[str] = None,
        **reqkwargs: Any,
    ) -> AmsUser:
        """Create user ``username`` as a member of ``project``
        (``POST /v1/projects/{project}/members/{user}``). Returns the user with its token."""
        project = self._project_or_default(project)
        user = AmsUser(projects=[AmsUserProject(project, check_str_list("roles", roles or []))])
        if email is not None:
            user.email = email
        reply = self._call("projects:createUser", user.to_json(),
                           params={"project": project, "user": username}, **reqkwargs)
        return AmsUser.load_from_dict(reply)

    def get_project_member(
        self, username: str, project: Optional[str] = None, **reqkwargs: Any
    ) -> AmsUser:
        """Member ``username`` of ``project`` (``GET /v1/projects/{project}/members/{user}``)."""
        reply = self._call(
            "projects:showUser",
            params={"project": self._project_or_default(project), "user": username},
            **reqkwargs,
        )
        return AmsUser.load_from_dict(reply)

    def update_project_member(
        self,
        username: str,
        roles: List[str],
        project: Optional[str] = None,
        **reqkwargs: Any,
    ) -> AmsUser:
        """Replace the roles of member ``username`` in ``project``
        (``PUT /v1/projects/{project}/members/{user}``). Returns the user."""
        project = self._project_or_default(project)
        body = {"projects": [{"project": project, "roles": check_str_list("roles", roles)}]}
        reply = self._call("projects:updateUser", body,
                           params={"project": project, "user": username}, **reqkwargs)
        return AmsUser.load_from_dict(reply)

    def remove_project_member(self, username: str, project: str, **reqkwargs: Any) -> JSONDict:
        """Remove ``username`` from ``project``
        (``POST /v1/projects/{project}/members/{user}:remove``); ``{}``."""
        result: JSONDict = self._call(
            "projects:removeUser",
            params={"project": self._project_or_default(project), "user": username},
            **reqkwargs,
        )
        return result

    def list_project_members(
        self,
        project: Optional[str] = None,
        details: bool = False,
        page_size: int = 0,
        page_token: str = "",
        **reqkwargs: Any,
    ) -> AmsUserPage:
        """One page of the members of ``project`` (``GET /v1/projects/{project}/members``)."""
        reply = self._call(
            "projects:listUsers", query=_user_page_query(details, page_size, page_token),
            params={"project": self._project_or_default(project)}, **reqkwargs,
        )
        return AmsUserPage.load_from_dict(reply)

    def iter_project_members(
        self, project: Optional[str] = None, details: bool = False, page_size: int = 100,
        **reqkwargs: Any,
    ) -> Iterator[AmsUser]:
        """Yield every member of ``project``, ``page_size`` per request."""

        def fetch(token: str) -> Tuple[List[AmsUser], str]:
            page = self.list_project_members(project, details, page_size, token, **reqkwargs)
            return page.users, page.next_page_token

        return walk_pages(page_size, fetch, "projects:listUsers")

    # ---- registrations ---------------------------------------------------------------------
    def create_registration(
        self,
        name: str,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
        organization: str = "",
        description: str = "",
        **reqkwargs: Any,
    ) -> Registration:
        """Ask for an account (``POST /v1/registrations``).

        Returns:
            the registration (``uuid``, ``status: "pending"``, ``activation_token`` ...).
        """
        body = {
            "name": name, "first_name": first_name, "last_name": last_name, "email": email,
            "organization": organization, "description": description,
        }
        for field, value in body.items():
            if not isinstance(value, str):
                raise AmsArgumentException(f"{field} must be a str, got {type(value).__name__}")
        result: Registration = self._call("registrations:newUser", body, params={}, **reqkwargs)
        return result

    def get_registration(self, uuid: str, **reqkwargs: Any) -> Registration:
        """Registration ``uuid`` (``GET /v1/registrations/{uuid}``)."""
        result: Registration = self._call("registrations:show", params={"uuid": uuid}, **reqkwargs)
        return result

    def list_registrations(
        self,
        status: Optional[str] = None,
        name: Optional[str] = None,
        email: Optional[str] = None,
        organization: Optional[str] = None,
        activation_token: Optional[str] = None,
        **reqkwargs: Any,
    ) -> List[Registration]:
        """Registrations matching every filter given (``GET /v1/registrations``); a list (AMS
        does not paginate this listing)."""
        query = {
            "status": status, "name": name, "email": email, "organization": organization,
            "activation_token": activation_token,
        }
        reply = self._call("registrations:list", query=query, params={}, **reqkwargs)
        return list(reply.get("user_registrations") or [])

    def accept_registration(self, uuid: str, **reqkwargs: Any) -> AmsUser:
        """Accept pending registration ``uuid`` (``POST /v1/registrations/{uuid}:accept``);
        returns the new user."""
        reply = self._call("registrations:acceptNewUser", params={"uuid": uuid}, **reqkwargs)
        return AmsUser.load_from_dict(reply)

    def decline_registration(self, uuid: str, comment: str = "", **reqkwargs: Any) -> JSONDict:
        """Decline pending registration ``uuid`` with ``comment``
        (``POST /v1/registrations/{uuid}:decline``); ``{}``."""
        result: JSONDict = self._call("registrations:declineNewUser", {"comment": comment},
                                      params={"uuid": uuid}, **reqkwargs)
        return result

    def delete_registration(self, uuid: str, **reqkwargs: Any) -> JSONDict:
        """Delete registration ``uuid`` (``DELETE /v1/registrations/{uuid}``); ``{}``."""
        result: JSONDict = self._call("registrations:delete", params={"uuid": uuid}, **reqkwargs)
        return result


def _project_entry(entry: object) -> Dict[str, Any]:
    if isinstance(entry, AmsUserProject):
        return entry.to_dict()
    if isinstance(entry, dict) and "project" in entry:
        return {"project": entry["project"], "roles": list(entry.get("roles") or [])}
    raise AmsArgumentException(
        f"projects must hold AmsUserProject objects, got {type(entry).__name__}"
    )
