"""User, project, member and registration methods of ArgoMessagingService."""

from __future__ import annotations

import pytest

from pymod import AmsArgumentException, AmsUser, AmsUserPage, AmsUserProject

from ._support import (
    ALICE,
    BASE,
    BOB_RESTRICTED,
    CAROL,
    JSON_CT,
    OTHER_TOKEN,
    PROJECT_OBJ,
    REG_UUID,
    REGISTRATION,
    TOPIC_METRICS,
    USERS_PAGE,
    Case,
    exercise,
    pretty,
    query_of,
)


def _user(name, token=None):
    def check(result, client) -> bool:
        assert isinstance(result, AmsUser), result
        assert result.name == name
        if token is not None:
            assert result.token == token
        return True

    return check


def _alice_full(result, client) -> bool:
    assert isinstance(result, AmsUser)
    assert result.uuid == ALICE["uuid"] and result.token == ALICE["token"]
    assert result.first_name == "Alice" and result.organization == "Example Org"
    assert [(p.project, p.roles) for p in result.projects] == [("DEMO", ["project_admin"])]
    assert result.service_roles == [] and result.created_by == "root"
    return True


def _page(names, next_token="", total=None):
    def check(result, client) -> bool:
        assert isinstance(result, AmsUserPage)
        assert [u.name for u in result.users] == names
        assert result.next_page_token == next_token
        assert result.total_size == (len(names) if total is None else total)
        return True

    return check


NEW_BOB = AmsUser(
    name="bob", email="bob@example.org", first_name="Bob", last_name="Jones",
    organization="Example Org", description="alerts publisher",
    projects=[AmsUserProject(project="DEMO", roles=["publisher"])],
)
BOB_BODY = {  # AmsUser.to_json() as argo-ams-library: the non-empty fields
    "projects": [{"project": "DEMO", "roles": ["publisher"], "topics": [], "subscriptions": []}],
    "first_name": "Bob", "last_name": "Jones", "description": "alerts publisher",
    "organization": "Example Org", "email": "bob@example.org",
}
BOB_FULL = {**BOB_RESTRICTED, "token": "7" * 64, "created_by": "alice"}
M = "/v1/projects/DEMO/members"

CASES = [
    # ---- users
    Case("create_user", "create_user", lambda c: c.create_user(NEW_BOB), "POST", "/v1/users/bob",
         body=BOB_BODY, reply=BOB_FULL, check=_user("bob", "7" * 64)),
    Case("get_user", "get_user", lambda c: c.get_user("alice"), "GET", "/v1/users/alice",
         reply=ALICE, check=_alice_full),
    Case("get_user_by_token", "get_user_by_token", lambda c: c.get_user_by_token(OTHER_TOKEN),
         "GET", f"/v1/users:byToken/{OTHER_TOKEN}", reply=ALICE, check=_alice_full),
    Case("get_user_by_uuid", "get_user_by_uuid", lambda c: c.get_user_by_uuid(ALICE["uuid"]),
         "GET", f"/v1/users:byUUID/{ALICE['uuid']}", reply=ALICE, check=_alice_full),
    Case("get_user_profile", "get_user_profile", lambda c: c.get_user_profile(), "GET",
         "/v1/users/profile", reply=ALICE, check=_alice_full),
    Case("list_users-defaults", "list_users", lambda c: c.list_users(), "GET", "/v1/users",
         query={"details": "true"}, reply=USERS_PAGE, check=_page(["carol"])),
    Case("list_users-paged", "list_users",
         lambda c: c.list_users(details=False, page_size=2, next_page_token="MjEx+/Zg=="),
         "GET", "/v1/users", query={"details": "false", "pageSize": "2", "pageToken": "MjEx+/Zg=="},
         reply={"users": [CAROL, ALICE], "nextPageToken": "NEXT", "totalSize": 5},
         check=_page(["carol", "alice"], "NEXT", 5)),
    Case("list_users-project", "list_users", lambda c: c.list_users(project="DEMO"), "GET",
         "/v1/users", query={"details": "true", "project": "DEMO"}, reply=USERS_PAGE,
         check=_page(["carol"])),
    Case("list_users-empty", "list_users", lambda c: c.list_users(), "GET", "/v1/users",
         query={"details": "true"}, reply={"users": [], "nextPageToken": "", "totalSize": 0},
         check=_page([])),
    Case("update_user-email-only", "update_user",
         lambda c: c.update_user("bob", email="bob@new.example.org"), "PUT", "/v1/users/bob",
         body={"email": "bob@new.example.org"}, reply=BOB_FULL, check=_user("bob")),
    Case("update_user-rename", "update_user", lambda c: c.update_user("bob", username="robert"),
         "PUT", "/v1/users/bob", body={"name": "robert"}, reply={**BOB_FULL, "name": "robert"},
         check=_user("robert")),
    Case("update_user-all", "update_user",
         lambda c: c.update_user("bob", first_name="Bob", last_name="Jones", description="d",
                                 organization="Org", username="bobby", email="b@example.org",
                                 service_roles=["admin_viewer"],
                                 projects=[AmsUserProject("DEMO", ["consumer"])]),
         "PUT", "/v1/users/bob",
         body={"first_name": "Bob", "last_name": "Jones", "description": "d", "organization": "Org",
               "name": "bobby", "email": "b@example.org", "service_roles": ["admin_viewer"],
               "projects": [{"project": "DEMO", "roles": ["consumer"]}]},
         reply={**BOB_FULL, "name": "bobby"}, check=_user("bobby")),
    Case("update_user-empty-lists-keep", "update_user",  # as argo-ams-library: not sent
         lambda c: c.update_user("bob", service_roles=[], projects=[]), "PUT", "/v1/users/bob",
         body={}, reply=BOB_FULL, check=_user("bob")),
    Case("update_user-non-ascii", "update_user",
         lambda c: c.update_user("bob", first_name="Ζωή", organization="Université"), "PUT",
         "/v1/users/bob", body={"first_name": "Ζωή", "organization": "Université"},
         reply={**BOB_FULL, "first_name": "Ζωή"},
         check=lambda r, c: r.first_name == "Ζωή"),
    Case("update_user-nothing", "update_user", lambda c: c.update_user("bob"), "PUT",
         "/v1/users/bob", body={}, reply=BOB_FULL, check=_user("bob")),
    Case("delete_user", "delete_user", lambda c: c.delete_user("bob"), "DELETE", "/v1/users/bob",
         check=lambda r, c: r is None),
    Case("refresh_user_token", "refresh_user_token", lambda c: c.refresh_user_token("bob"),
         "POST", "/v1/users/bob:refreshToken", reply={**BOB_FULL, "token": "8" * 64},
         check=_user("bob", "8" * 64)),
    # ---- projects
    Case("create_project", "create_project",
         lambda c: c.create_project("DEMO", "demo project for alerts"), "POST", "/v1/projects/DEMO",
         body={"description": "demo project for alerts"}, reply=PROJECT_OBJ,
         check=lambda r, c: r == PROJECT_OBJ),
    Case("get_project", "get_project", lambda c: c.get_project("DEMO"), "GET", "/v1/projects/DEMO",
         reply=PROJECT_OBJ, check=lambda r, c: r == PROJECT_OBJ),
    Case("list_projects", "list_projects", lambda c: c.list_projects(), "GET", "/v1/projects",
         reply={"projects": [PROJECT_OBJ]}, check=lambda r, c: r == [PROJECT_OBJ]),
    Case("list_projects-none", "list_projects", lambda c: c.list_projects(), "GET", "/v1/projects",
         reply="{}", check=lambda r, c: r == []),
    Case("update_project-description", "update_project",
         lambda c: c.update_project("DEMO", description="renamed"), "PUT", "/v1/projects/DEMO",
         body={"description": "renamed"}, reply={**PROJECT_OBJ, "description": "renamed"},
         check=lambda r, c: r["description"] == "renamed"),
    Case("update_project-name", "update_project",
         lambda c: c.update_project("DEMO", updated_name="DEMO2"), "PUT", "/v1/projects/DEMO",
         body={"name": "DEMO2"}, reply={**PROJECT_OBJ, "name": "DEMO2"},
         check=lambda r, c: r["name"] == "DEMO2"),
    Case("delete_project", "delete_project", lambda c: c.delete_project("OLD"), "DELETE",
         "/v1/projects/OLD", check=lambda r, c: r == {}),
    Case("getmetrics_project", "getmetrics_project", lambda c: c.getmetrics_project(), "GET",
         "/v1/projects/DEMO:metrics", reply=TOPIC_METRICS, check=lambda r, c: r == TOPIC_METRICS),
    Case("getmetrics_project-other", "getmetrics_project",
         lambda c: c.getmetrics_project("OTHER"), "GET", "/v1/projects/OTHER:metrics",
         reply={"metrics": []}, check=lambda r, c: r == {"metrics": []}),
    # ---- members
    Case("add_project_member", "add_project_member",
         lambda c: c.add_project_member("bob", roles=["publisher"]), "POST",
         M + "/bob:add", body={"roles": ["publisher"]}, reply=BOB_RESTRICTED, check=_user("bob")),
    Case("add_project_member-project", "add_project_member",
         lambda c: c.add_project_member("bob", "OTHER", ["consumer"]), "POST",
         "/v1/projects/OTHER/members/bob:add", body={"roles": ["consumer"]}, reply=BOB_RESTRICTED,
         check=_user("bob")),
    Case("create_project_member", "create_project_member",
         lambda c: c.create_project_member("dave", roles=["consumer"], email="dave@example.org"),
         "POST", M + "/dave",
         body={"projects": [{"project": "DEMO", "roles": ["consumer"], "topics": [],
                             "subscriptions": []}], "email": "dave@example.org"},
         reply={**BOB_FULL, "name": "dave"}, check=_user("dave", "7" * 64)),
    Case("create_project_member-minimal", "create_project_member",
         lambda c: c.create_project_member("dave"), "POST", M + "/dave",
         body={"projects": [{"project": "DEMO", "roles": [], "topics": [], "subscriptions": []}]},
         reply={**BOB_FULL, "name": "dave"}, check=_user("dave")),
    Case("get_project_member", "get_project_member", lambda c: c.get_project_member("bob"), "GET",
         M + "/bob", reply=BOB_RESTRICTED,
         check=lambda r, c: _user("bob")(r, c) and r.token == ""
         and r.projects[0].topics == ["alerts"]),
    Case("update_project_member", "update_project_member",
         lambda c: c.update_project_member("bob", ["consumer", "publisher"]), "PUT", M + "/bob",
         body={"projects": [{"project": "DEMO", "roles": ["consumer", "publisher"]}]},
         reply=BOB_RESTRICTED, check=_user("bob")),
    Case("remove_project_member", "remove_project_member",
         lambda c: c.remove_project_member("bob", "DEMO"), "POST", M + "/bob:remove", reply="{}",
         check=lambda r, c: r == {}),
    Case("list_project_members", "list_project_members", lambda c: c.list_project_members(),
         "GET", M, query={"details": "false"}, reply=USERS_PAGE, check=_page(["carol"])),
    Case("list_project_members-paged", "list_project_members",
         lambda c: c.list_project_members("OTHER", details=True, page_size=1, page_token="p2"),
         "GET", "/v1/projects/OTHER/members",
         query={"details": "true", "pageSize": "1", "pageToken": "p2"},
         reply={"users": [BOB_RESTRICTED], "nextPageToken": "p3", "totalSize": 3},
         check=_page(["bob"], "p3", 3)),
    # ---- registrations
    Case("create_registration", "create_registration",
         lambda c: c.create_registration("dave", first_name="Dave", last_name="Brown",
                                         email="dave@example.org", organization="Example Org",
                                         description="wants to consume alerts"),
         "POST", "/v1/registrations",
         body={"name": "dave", "first_name": "Dave", "last_name": "Brown",
               "email": "dave@example.org", "organization": "Example Org",
               "description": "wants to consume alerts"},
         reply=REGISTRATION, check=lambda r, c: r == REGISTRATION),
    Case("get_registration", "get_registration", lambda c: c.get_registration(REG_UUID), "GET",
         f"/v1/registrations/{REG_UUID}", reply=REGISTRATION, check=lambda r, c: r == REGISTRATION),
    Case("list_registrations", "list_registrations", lambda c: c.list_registrations(), "GET",
         "/v1/registrations", reply={"user_registrations": [REGISTRATION]},
         check=lambda r, c: r == [REGISTRATION]),
    Case("list_registrations-filters", "list_registrations",
         lambda c: c.list_registrations(status="pending", name="dave", email="dave@example.org",
                                        organization="Example Org", activation_token="abc"),
         "GET", "/v1/registrations",
         query={"status": "pending", "name": "dave", "email": "dave@example.org",
                "organization": "Example Org", "activation_token": "abc"},
         reply={"user_registrations": []}, check=lambda r, c: r == []),
    Case("accept_registration", "accept_registration", lambda c: c.accept_registration(REG_UUID),
         "POST", f"/v1/registrations/{REG_UUID}:accept", reply={**BOB_FULL, "name": "dave"},
         check=_user("dave")),
    Case("decline_registration", "decline_registration",
         lambda c: c.decline_registration(REG_UUID, "not eligible"), "POST",
         f"/v1/registrations/{REG_UUID}:decline", body={"comment": "not eligible"}, reply="{}",
         check=lambda r, c: r == {}),
    Case("delete_registration", "delete_registration", lambda c: c.delete_registration(REG_UUID),
         "DELETE", f"/v1/registrations/{REG_UUID}", check=lambda r, c: r == {}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_accounts_route(any_ams, case):
    exercise(any_ams, case)


def test_iter_users_walks_pages(ams, rsps):
    url = BASE + "/users"
    rsps.get(url, body=pretty({"users": [ALICE], "nextPageToken": "cDI=", "totalSize": 2}),
             content_type=JSON_CT)
    rsps.get(url, body=pretty({"users": [CAROL], "nextPageToken": "", "totalSize": 2}),
             content_type=JSON_CT)
    users = list(ams.iter_users(page_size=1))
    assert [u.name for u in users] == ["alice", "carol"]
    assert all(isinstance(u, AmsUser) for u in users)
    assert query_of(rsps.calls[0].request.url) == {"details": "true", "pageSize": "1"}
    assert query_of(rsps.calls[1].request.url) == {"details": "true", "pageSize": "1",
                                                   "pageToken": "cDI="}


def test_iter_project_members_walks_pages(ams, rsps):
    url = BASE + "/projects/DEMO/members"
    rsps.get(url, body=pretty({"users": [BOB_RESTRICTED], "nextPageToken": "cDI=",
                               "totalSize": 2}), content_type=JSON_CT)
    rsps.get(url, body=pretty({"users": [CAROL], "nextPageToken": "", "totalSize": 2}),
             content_type=JSON_CT)
    users = list(ams.iter_project_members(page_size=1))
    assert [u.name for u in users] == ["bob", "carol"]
    assert query_of(rsps.calls[1].request.url) == {"details": "false", "pageSize": "1",
                                                   "pageToken": "cDI="}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_user({"name": "bob"}),
        lambda c: c.update_user("bob", email=5),
        lambda c: c.update_user("bob", service_roles="admin"),
        lambda c: c.update_user("bob", projects=["DEMO"]),
        lambda c: c.add_project_member("bob", roles="publisher"),
        lambda c: c.list_users(page_size=-1),
        lambda c: c.list_users(next_page_token=5),
        lambda c: list(c.iter_users(page_size=0)),
    ],
    ids=["create-dict", "email-int", "roles-str", "projects-str", "member-roles-str",
         "page-size", "page-token", "iter-page-size"],
)
def test_account_argument_errors_send_nothing(ams, nonet, call):
    with pytest.raises(AmsArgumentException):
        call(ams)
    assert len(nonet.calls) == 0


def test_project_scoped_member_calls_need_a_project(nonet):
    from ._support import make_client

    client = make_client(project="")
    with pytest.raises(AmsArgumentException):
        client.get_project_member("bob")
    with pytest.raises(AmsArgumentException):
        client.get_topic("alerts")
    assert len(nonet.calls) == 0
