"""Account operations: projects (spec 7), members (7.6), users (8) and registrations (9)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional

from starlette.responses import Response

from pymod.emulator import decoding as dec
from pymod.emulator.api.context import (
    Ctx,
    ServiceBase,
    _decode,
    json_response,
    literal_response,
    metric,
)
from pymod.emulator.decoding import BodyError
from pymod.emulator.errors import (
    bad_body,
    conflict,
    exists,
    forbidden,
    internal,
    invalid,
    invalid_args,
    not_found,
    unauthorized,
)
from pymod.emulator.formatting import fmt_seconds
from pymod.emulator.roles import (
    SERVICE_ADMIN,
    VALID_ROLES,
)
from pymod.emulator.store import (
    Project,
    Registration,
    Store,
    User,
    new_token,
)


class AccountOps(ServiceBase):
    """Routes ``projects:*``, ``users:*`` (but ``usageReport``) and ``registrations:*``."""

    @staticmethod
    def project_json(store: Store, project: Project) -> dict[str, Any]:
        """The project object of spec 7.1."""
        body: dict[str, Any] = {
            "name": project.name,
            "created_on": fmt_seconds(project.created_on),
            "modified_on": fmt_seconds(project.modified_on),
        }
        creator = store.user_name_by_uuid(project.created_by)
        if creator:
            body["created_by"] = creator
        if project.description:
            body["description"] = project.description
        return body

    async def op_projects_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects`` (spec 7.2)."""
        projects = self.store.list_projects()
        if not projects:
            return json_response({})
        return json_response({"projects": [self.project_json(self.store, p) for p in projects]})

    async def op_projects_show(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}`` (spec 7.1)."""
        return json_response(self.project_json(self.store, ctx.proj))

    async def op_projects_create(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}`` (spec 7.3)."""
        error = invalid_args("Project")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        description = _decode(error, lambda: dec.get_str(body, "description"))
        if ctx.project is not None:
            raise exists("Project")
        assert ctx.caller is not None
        project = self.store.create_project(ctx.vars["project"], description=description,
                                            created_by=ctx.caller.uuid)
        return json_response(self.project_json(self.store, project))

    async def op_projects_update(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}`` (spec 7.4)."""
        body = _decode(bad_body(), lambda: dec.parse_struct(ctx.body))
        name = _decode(bad_body(), lambda: dec.get_str(body, "name")) or ctx.proj.name
        description = (_decode(bad_body(), lambda: dec.get_str(body, "description"))
                       or ctx.proj.description)
        if name != ctx.proj.name and self.store.project_by_name(name) is not None:
            raise invalid("invalid project name change, name already exists")
        self.store.update_project(ctx.proj.id, name=name, description=description)
        project = self.store.project_by_id(ctx.proj.id)
        assert project is not None
        return json_response(self.project_json(self.store, project))

    async def op_projects_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/projects/{project}`` (spec 7.5)."""
        self.store.delete_project(ctx.proj.id)
        return literal_response()

    async def op_projects_metrics(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}:metrics`` (spec 7.7)."""
        project = ctx.proj
        now = fmt_seconds(self.store.now_s())
        topics = self.store.list_topics(project.id)
        subs = self.store.list_subscriptions(project.id)
        metrics = [
            metric("project.number_of_topics", "project", project.name, [(now, len(topics))]),
            metric("project.number_of_subscriptions", "project", project.name,
                    [(now, len(subs))]),
        ]
        members = list(reversed(self.store.list_users(project.id)))
        access = {u.name: self.store.user_acl_resources(u.id, project.id) for u in members}
        for index, name in ((0, "project.user.number_of_topics"),
                              (1, "project.user.number_of_subscriptions")):
            for user_name, resources in access.items():
                if resources[index]:
                    metrics.append(metric(name, "project.user", f"{project.name}.{user_name}",
                                           [(now, len(resources[index]))]))
        metrics.append(metric("project.number_of_daily_messages", "project", project.name,
                               self.store.daily_counts(project.id)[:30]))
        return json_response({"metrics": metrics}, floats=True)

    # ------------------------------------------------------------------ users

    def user_json(self, user: User, *, full: bool = True, details: bool = True,
                  project: Optional[Project] = None) -> dict[str, Any]:
        """The user object of spec 8.1.

        ``full``: token, real service roles and ``created_by`` are shown; ``details``: the
        ``projects`` entries are shown (only the one for ``project`` when given).
        """
        body: dict[str, Any] = {"uuid": user.uuid}
        entries = self.store.memberships(user.id)
        if project is not None:
            entries = [e for e in entries if e.project_id == project.id]
        if details and entries:
            body["projects"] = []
            for entry in entries:
                topics, subs = self.store.user_acl_resources(user.id, entry.project_id)
                body["projects"].append({"project": entry.project_name, "roles": entry.roles,
                                         "topics": topics, "subscriptions": subs})
        body["name"] = user.name
        for key in ("first_name", "last_name", "organization", "description"):
            if getattr(user, key):
                body[key] = getattr(user, key)
        if full:
            body["token"] = user.token
        body["email"] = user.email
        body["service_roles"] = user.service_roles if full else []
        body["created_on"] = fmt_seconds(user.created_on)
        body["modified_on"] = fmt_seconds(user.modified_on)
        creator = self.store.user_name_by_uuid(user.created_by) if full else ""
        if creator:
            body["created_by"] = creator
        return body

    def _user(self, ctx: Ctx) -> User:
        user = self.store.user_by_name(ctx.vars["user"])
        if user is None:
            raise not_found("User")
        return user

    def _project_entries(self, raw: Optional[list[Any]]
                         ) -> Optional[list[tuple[int, Optional[list[str]]]]]:
        """Validate the ``projects`` entries of a user body (spec 8.4)."""
        if raw is None:
            return None
        entries: list[tuple[int, Optional[list[str]]]] = []
        for item in raw:
            if not item["project"]:
                continue
            project = self.store.project_by_name(item["project"])
            if project is None:
                raise invalid(f"invalid project: {item['project']}")
            if any(pid == project.id for pid, _ in entries):
                raise invalid(f"duplicate reference of project {item['project']}")
            _check_roles(item["roles"])
            entries.append((project.id, item["roles"] or []))
        return entries

    async def op_users_list(self, ctx: Ctx) -> Response:
        """``GET /v1/users`` (spec 8.3)."""
        project_id: Optional[int] = None
        if ctx.query.get("project"):
            project = self.store.project_by_name(ctx.query["project"])
            if project is None:
                raise not_found("ProjectUUID")
            project_id = project.id
        details = ctx.query.get("details") == "true"
        full = ctx.has(SERVICE_ADMIN)
        users = self.store.list_users(project_id)
        return self._paginate(ctx, [(u.id, self.user_json(u, full=full, details=details))
                                    for u in users], "users")

    async def op_users_show(self, ctx: Ctx) -> Response:
        """``GET /v1/users/{user}`` (spec 8.2)."""
        return json_response(self.user_json(self._user(ctx)))

    async def op_users_byToken(self, ctx: Ctx) -> Response:
        """``GET /v1/users:byToken/{token}`` (spec 8.2)."""
        user = self.store.user_by_token(ctx.vars["token"])
        if user is None:
            raise not_found("User")
        return json_response(self.user_json(user))

    async def op_users_byUUID(self, ctx: Ctx) -> Response:
        """``GET /v1/users:byUUID/{uuid}`` (spec 8.2)."""
        users = self.store.users_by_uuid(ctx.vars["uuid"])
        if not users:
            raise not_found("User")
        if len(users) > 1:
            raise internal("Multiple users found with the same uuid")
        return json_response(self.user_json(users[0]))

    async def op_users_profile(self, ctx: Ctx) -> Response:
        """``GET /v1/users/profile`` (spec 8.2)."""
        user = self.store.user_by_token(ctx.token) if ctx.token else None
        if user is None:
            raise unauthorized()
        return json_response(self.user_json(user))

    async def op_users_create(self, ctx: Ctx) -> Response:
        """``POST /v1/users/{user}`` (spec 8.4)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        if self.store.user_by_name(ctx.vars["user"]) is not None:
            raise exists("User")  # before the role and project checks, as on the real server
        entries = self._project_entries(fields.projects) or []
        _check_roles(fields.service_roles)
        assert ctx.caller is not None
        user = self.store.create_user(
            ctx.vars["user"], email=fields.email, first_name=fields.first_name,
            last_name=fields.last_name, organization=fields.organization,
            description=fields.description, service_roles=fields.service_roles,
            memberships=entries, created_by=ctx.caller.uuid)
        return json_response(self.user_json(user))

    async def op_users_update(self, ctx: Ctx) -> Response:
        """``PUT /v1/users/{user}`` (spec 8.5)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        user = self._user(ctx)
        entries = self._project_entries(fields.projects)
        _check_roles(fields.service_roles)
        if (fields.name and fields.name != user.name
                and self.store.user_by_name(fields.name) is not None):
            raise invalid("invalid user name change, name already exists")
        changes: dict[str, Any] = {
            key: getattr(fields, key)
            for key in ("name", "first_name", "last_name", "organization", "description", "email")
            if getattr(fields, key)
        }
        if fields.service_roles is not None:
            changes["service_roles"] = fields.service_roles
        self.store.update_user(user.id, **changes)
        if entries is not None:
            self.store.set_memberships(user.id, entries)
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self.user_json(updated))

    async def op_users_refreshToken(self, ctx: Ctx) -> Response:
        """``POST /v1/users/{user}:refreshToken`` (spec 8.6)."""
        user = self._user(ctx)
        self.store.set_token(user.id, new_token())
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self.user_json(updated))

    async def op_users_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/users/{user}`` (spec 8.6)."""
        self.store.delete_user(self._user(ctx).id)
        return literal_response()

    # ------------------------------------------------------------------ members

    def _member_view(self, ctx: Ctx, user: User, details: bool = True) -> dict[str, Any]:
        """Full view for service admins, restricted view (spec 7.6) for everybody else."""
        if ctx.has(SERVICE_ADMIN):
            return self.user_json(user, details=details)
        return self.user_json(user, full=False, details=details, project=ctx.proj)

    async def op_projects_listUsers(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/members`` (spec 7.6)."""
        details = ctx.query.get("details") == "true"
        users = self.store.list_users(ctx.proj.id)
        return self._paginate(ctx, [(u.id, self._member_view(ctx, u, details)) for u in users],
                              "users")

    def _member(self, ctx: Ctx) -> User:
        user = self._user(ctx)
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise not_found("User")
        return user

    async def op_projects_showUser(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        return json_response(self._member_view(ctx, self._member(ctx)))

    def _roles_for_project(self, ctx: Ctx, raw: Optional[list[Any]]) -> Optional[list[str]]:
        """Roles of the body's ``projects`` entry naming the URL project (``None``: no entry;
        an entry without roles has ``[]``, as on the real server)."""
        for item in raw or []:
            if item["project"] == ctx.proj.name:
                roles: list[str] = item["roles"] or []
                _check_roles(roles)
                return roles
        return None

    async def op_projects_createUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        roles = self._roles_for_project(ctx, fields.projects)
        if self.store.user_by_name(ctx.vars["user"]) is not None:
            raise exists("User")
        assert ctx.caller is not None
        user = self.store.create_user(
            ctx.vars["user"], email=fields.email, service_roles=[],
            memberships=[(ctx.proj.id, roles if roles is not None else [])],
            created_by=ctx.caller.uuid)
        return json_response(self.user_json(user))

    async def op_projects_updateUser(self, ctx: Ctx) -> Response:
        """``PUT /v1/projects/{project}/members/{user}`` (spec 7.6)."""
        fields = _decode(invalid_args("User"), lambda: _user_body(ctx.body))
        user = self._user(ctx)
        not_member = forbidden(
            "Access to this resource is forbidden. User is not a member of the project")
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise not_member
        if not any(item["project"] == ctx.proj.name for item in fields.projects or []):
            raise not_member
        self.store.set_member_roles(user.id, ctx.proj.id,
                                    self._roles_for_project(ctx, fields.projects))
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self._member_view(ctx, updated))

    async def op_projects_addUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}:add`` (spec 7.6)."""
        user = self._user(ctx)
        body = _decode(bad_body(), lambda: dec.parse_struct(ctx.body))
        roles = _decode(bad_body(), lambda: dec.get_str_list(body, "roles"))
        if self.store.membership(user.id, ctx.proj.id) is not None:
            raise conflict("User is already a member of the project")
        _check_roles(roles)
        self.store.set_member_roles(user.id, ctx.proj.id, roles or [])
        updated = self.store.user_by_id(user.id)
        assert updated is not None
        return json_response(self._member_view(ctx, updated))

    async def op_projects_removeUser(self, ctx: Ctx) -> Response:
        """``POST /v1/projects/{project}/members/{user}:remove`` (spec 7.6)."""
        user = self._user(ctx)
        if self.store.membership(user.id, ctx.proj.id) is None:
            raise forbidden(
                "Access to this resource is forbidden. User is not a member of the project")
        self.store.remove_member(user.id, ctx.proj.id)
        return literal_response(b"{}")

    # ------------------------------------------------------------------ registrations

    def registration_json(self, reg: Registration) -> dict[str, Any]:
        """The registration object of spec 9."""
        body: dict[str, Any] = {
            "uuid": reg.uuid, "name": reg.name, "first_name": reg.first_name,
            "last_name": reg.last_name, "organization": reg.organization,
            "description": reg.description, "email": reg.email, "status": reg.status,
        }
        if reg.decline_comment:
            body["decline_comment"] = reg.decline_comment
        if reg.activation_token:
            body["activation_token"] = reg.activation_token
        body["registered_at"] = fmt_seconds(reg.registered_at)
        if reg.modified_by:  # the user's uuid (a name in data files of earlier versions)
            body["modified_by"] = self.store.user_name_by_uuid(reg.modified_by) or reg.modified_by
        if reg.modified_at:
            body["modified_at"] = fmt_seconds(reg.modified_at)
        return body

    def _registration(self, ctx: Ctx, *, pending: bool) -> Registration:
        reg = self.store.registration(ctx.vars["uuid"])
        if reg is None or (pending and reg.status != "pending"):
            raise not_found("User registration")
        return reg

    async def op_registrations_newUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations`` (spec 9)."""
        error = invalid_args("User")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        keys = ("name", "first_name", "last_name", "organization", "description", "email")
        values = _decode(error, lambda: {key: dec.get_str(body, key) for key in keys})
        if self.store.user_by_name(values["name"]) is not None:
            raise exists("User")
        return json_response(self.registration_json(self.store.create_registration(**values)))

    async def op_registrations_acceptNewUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations/{uuid}:accept`` (spec 9)."""
        reg = self._registration(ctx, pending=True)
        if self.store.user_by_name(reg.name) is not None:
            raise exists("User")
        assert ctx.caller is not None
        user = self.store.create_user(
            reg.name, email=reg.email, first_name=reg.first_name, last_name=reg.last_name,
            organization=reg.organization, description=reg.description, service_roles=[],
            created_by=ctx.caller.uuid)
        self.store.close_registration(reg.id, status="accepted", modified_by=ctx.caller.uuid)
        return json_response(self.user_json(user))

    async def op_registrations_declineNewUser(self, ctx: Ctx) -> Response:
        """``POST /v1/registrations/{uuid}:decline`` (spec 9)."""
        reg = self._registration(ctx, pending=True)
        mapping = _decode(bad_body(), lambda: dec.as_str_map(dec.parse_json(ctx.body)))
        assert ctx.caller is not None
        self.store.close_registration(reg.id, status="declined", modified_by=ctx.caller.uuid,
                                      comment=(mapping or {}).get("comment", ""))
        return literal_response(b"{}")

    async def op_registrations_delete(self, ctx: Ctx) -> Response:
        """``DELETE /v1/registrations/{uuid}`` (spec 9)."""
        self.store.delete_registration(self._registration(ctx, pending=False).id)
        return literal_response()

    async def op_registrations_show(self, ctx: Ctx) -> Response:
        """``GET /v1/registrations/{uuid}`` (spec 9)."""
        return json_response(self.registration_json(self._registration(ctx, pending=False)))

    async def op_registrations_list(self, ctx: Ctx) -> Response:
        """``GET /v1/registrations`` (spec 9)."""
        filters = {key: ctx.query[key] for key in
                   ("status", "name", "email", "organization", "activation_token")
                   if ctx.query.get(key)}
        regs = self.store.list_registrations(filters)
        return json_response({"user_registrations": [self.registration_json(r) for r in regs]})



@dataclasses.dataclass(frozen=True)
class _UserBody:
    name: str
    first_name: str
    last_name: str
    organization: str
    description: str
    email: str
    projects: Optional[list[dict[str, Any]]]
    service_roles: Optional[list[str]]


def _user_body(body: bytes) -> _UserBody:
    """Decode a user body (spec 8.4/8.5): ``projects`` entries become
    ``{"project": str, "roles": list|None}``."""
    parsed = dec.parse_struct(body)
    projects: Optional[list[dict[str, Any]]] = None
    raw_projects = dec.get_list(parsed, "projects")
    if raw_projects is not None:
        projects = []
        for item in raw_projects:
            entry = item if item is not None else {}
            if not isinstance(entry, dict):
                raise BodyError("project entry is not an object")
            dec.get_str_list(entry, "topics")
            dec.get_str_list(entry, "subscriptions")
            projects.append({"project": dec.get_str(entry, "project"),
                             "roles": dec.get_str_list(entry, "roles")})
    return _UserBody(
        name=dec.get_str(parsed, "name"),
        first_name=dec.get_str(parsed, "first_name"),
        last_name=dec.get_str(parsed, "last_name"),
        organization=dec.get_str(parsed, "organization"),
        description=dec.get_str(parsed, "description"),
        email=dec.get_str(parsed, "email"),
        projects=projects,
        service_roles=dec.get_str_list(parsed, "service_roles"),
    )


def _check_roles(roles: Optional[Sequence[str]]) -> None:
    for role in roles or []:
        if role not in VALID_ROLES:
            raise invalid(f"invalid role: {role}")


