"""Users, projects, members and registrations (spec 7, 8, 9)."""

from __future__ import annotations

from ams_testkit import ADMIN, Ams, error_of


def test_user_create_full_view_and_validation(ams: Ams) -> None:
    reply = ams.call("POST", "/users/bob", body={
        "email": "bob@example.org", "first_name": "Bob",
        "projects": [{"project": "DEMO", "roles": ["publisher"]}, {"project": "", "roles": []}],
        "service_roles": []})
    user = reply.json()
    assert list(user) == ["uuid", "projects", "name", "first_name", "token", "email",
                          "service_roles", "created_on", "modified_on", "created_by"]
    assert user["projects"] == [{"project": "DEMO", "roles": ["publisher"], "topics": [],
                                 "subscriptions": []}]
    assert user["created_by"] == "root" and len(user["token"]) == 64
    assert error_of(ams.call("POST", "/users/bob", body={})) == (
        409, "ALREADY_EXISTS", "User already exists")
    cases = [
        ({"projects": [{"project": "NOPE"}]}, "invalid project: NOPE"),
        ({"projects": [{"project": "DEMO"}, {"project": "DEMO"}]},
         "duplicate reference of project DEMO"),
        ({"projects": [{"project": "DEMO", "roles": ["boss"]}]}, "invalid role: boss"),
        ({"service_roles": ["king"]}, "invalid role: king"),
    ]
    for body, message in cases:
        assert error_of(ams.call("POST", "/users/x", body=body)) == (
            400, "INVALID_ARGUMENT", message)
    assert error_of(ams.call("POST", "/users/x", raw=b'{"email": 1}'))[2] == (
        "Invalid User Arguments")


def test_user_update_refresh_delete(ams: Ams) -> None:
    old = ams.user("bob", ["publisher"])
    reply = ams.call("PUT", "/users/bob", body={"name": "robert", "service_roles": [],
                                               "projects": []})
    assert reply.json()["name"] == "robert" and "projects" not in reply.json()
    assert error_of(ams.call("GET", "/users/bob"))[2] == "User doesn't exist"
    ams.user("carol")
    assert error_of(ams.call("PUT", "/users/robert", body={"name": "carol"}))[2] == (
        "invalid user name change, name already exists")
    new = ams.call("POST", "/users/robert:refreshToken").json()["token"]
    assert new != old
    assert ams.call("GET", "/users/profile", token=old).status_code == 401
    assert ams.call("GET", "/users/profile", token=new).json()["name"] == "robert"
    assert ams.call("GET", f"/users:byToken/{new}").json()["name"] == "robert"
    uuid = ams.call("GET", "/users/robert").json()["uuid"]
    assert ams.call("GET", f"/users:byUUID/{uuid}").json()["name"] == "robert"
    assert ams.call("DELETE", "/users/robert").content == b""
    for method, path in (("PUT", "/users/robert"), ("POST", "/users/robert:refreshToken"),
                         ("DELETE", "/users/robert"), ("GET", f"/users:byToken/{new}")):
        assert error_of(ams.call(method, path, body={}))[0] == 404


def test_user_list_pagination_and_filters(ams: Ams) -> None:
    ams.user("bob", ["publisher"])
    ams.user("dave")
    listing = ams.call("GET", "/users", params={"pageSize": "1"}).json()
    assert [u["name"] for u in listing["users"]] == ["dave"]
    assert listing["totalSize"] == 4  # root, push worker, bob, dave
    member_only = ams.call("GET", "/users", params={"project": "DEMO", "details": "true"}).json()
    assert [u["name"] for u in member_only["users"]] == ["bob"]
    assert member_only["users"][0]["projects"][0]["roles"] == ["publisher"]
    plain = ams.call("GET", "/users", params={"project": "DEMO", "details": "True"}).json()
    assert "projects" not in plain["users"][0]
    assert error_of(ams.call("GET", "/users", params={"project": "NOPE"})) == (
        404, "NOT_FOUND", "ProjectUUID doesn't exist")


def test_profile_and_usage_report_need_a_token(ams: Ams) -> None:
    assert error_of(ams.call("GET", "/users/profile", token=None)) == (
        401, "UNAUTHORIZED", "Unauthorized")
    assert error_of(ams.call("GET", "/users/usageReport", token="bogus"))[0] == 401
    carol = ams.user("carol", ["consumer"])
    report = ams.call("GET", "/users/usageReport", token=carol)
    assert report.content.startswith(b'{\n   "va_metrics": {\n      "projects_metrics": {')
    assert report.json()["operational_metrics"] == {"metrics": []}
    reply = ams.call("GET", "/users/usageReport", token=carol,
                     params={"start_date": "2024-05-03", "end_date": "2024-05-01"})
    assert error_of(reply)[2] == "Start date cannot be after the end date"


def test_projects_crud_and_cascade(ams: Ams) -> None:
    reply = ams.call("POST", "/projects/NEW", body={"description": "new project"})
    assert list(reply.json()) == ["name", "created_on", "modified_on", "created_by",
                                  "description"]
    assert error_of(ams.call("POST", "/projects/NEW", body={}))[2] == "Project already exists"
    assert error_of(ams.call("POST", "/projects/X", raw=b""))[2] == "Invalid Project Arguments"
    names = [p["name"] for p in ams.call("GET", "/projects").json()["projects"]]
    assert names == ["DEMO", "NEW"]
    assert error_of(ams.call("PUT", "/projects/NEW", body={"name": "DEMO"}))[2] == (
        "invalid project name change, name already exists")
    assert error_of(ams.call("PUT", "/projects/NEW", raw=b"x")) == (
        400, "BAD_REQUEST", "Invalid Request Body")
    renamed = ams.call("PUT", "/projects/NEW", body={"name": "NEWER"}).json()
    assert (renamed["name"], renamed["description"]) == ("NEWER", "new project")
    ams.topic("t", project="NEWER")
    ams.sub("s", "t", project="NEWER")
    assert ams.call("DELETE", "/projects/NEWER").content == b""
    assert error_of(ams.call("GET", "/projects/NEWER/topics/t"))[2] == "project doesn't exist"
    ams.call("POST", "/projects/NEWER", body={})
    assert ams.call("GET", "/projects/NEWER/topics").json()["totalSize"] == 0
    ams.call("DELETE", "/projects/DEMO")
    ams.call("DELETE", "/projects/NEWER")
    assert ams.call("GET", "/projects").content == b"{}"


def test_members_views(ams: Ams) -> None:
    alice = ams.user("alice", ["project_admin"])
    ams.user("bob", ["publisher"])
    restricted = ams.call("GET", "/projects/DEMO/members/bob", token=alice).json()
    assert "token" not in restricted and restricted["service_roles"] == []
    assert restricted["projects"][0]["project"] == "DEMO"
    full = ams.call("GET", "/projects/DEMO/members/bob").json()
    assert "token" in full
    listing = ams.call("GET", "/projects/DEMO/members", token=alice).json()
    assert [u["name"] for u in listing["users"]] == ["bob", "alice"]
    assert "projects" not in listing["users"][0]
    ams.user("outsider")
    assert error_of(ams.call("GET", "/projects/DEMO/members/outsider"))[2] == (
        "User doesn't exist")


def test_member_create_update_add_remove(ams: Ams) -> None:
    alice = ams.user("alice", ["project_admin"])
    created = ams.call("POST", "/projects/DEMO/members/dave", token=alice, body={
        "email": "d@x", "first_name": "ignored", "service_roles": ["service_admin"],
        "projects": [{"project": "DEMO", "roles": ["consumer"]}]}).json()
    assert created["service_roles"] == [] and "first_name" not in created
    assert created["projects"][0]["roles"] == ["consumer"] and "token" in created
    path = "/projects/DEMO/members/dave"
    updated = ams.call("PUT", path, token=alice, body={
        "projects": [{"project": "DEMO", "roles": ["publisher", "consumer"]}]}).json()
    assert updated["projects"][0]["roles"] == ["publisher", "consumer"]
    not_member = (403, "FORBIDDEN",
                  "Access to this resource is forbidden. User is not a member of the project")
    assert error_of(ams.call("PUT", path, token=alice, body={"projects": []})) == not_member
    assert ams.call("POST", f"{path}:remove", token=alice).content == b"{}"
    assert error_of(ams.call("POST", f"{path}:remove", token=alice)) == not_member
    reply = ams.call("POST", f"{path}:add", token=alice, body={"roles": ["nope"]})
    assert error_of(reply)[2] == "invalid role: nope"
    assert error_of(ams.call("POST", f"{path}:add", token=alice, raw=b""))[1] == "BAD_REQUEST"
    added = ams.call("POST", f"{path}:add", token=alice, body={"roles": ["consumer"]}).json()
    assert added["projects"][0]["roles"] == ["consumer"]
    assert error_of(ams.call("POST", f"{path}:add", token=alice, body={"roles": []})) == (
        409, "CONFLICT", "User is already a member of the project")
    assert error_of(ams.call("POST", "/projects/DEMO/members/ghost:add", body={}))[2] == (
        "User doesn't exist")


def test_registration_flow(ams: Ams) -> None:
    body = {"name": "dave", "first_name": "Dave", "last_name": "Brown", "email": "d@x",
            "organization": "Org", "description": "wants in"}
    reg = ams.call("POST", "/registrations", body=body).json()
    assert list(reg) == ["uuid", "name", "first_name", "last_name", "organization",
                         "description", "email", "status", "activation_token", "registered_at"]
    assert reg["status"] == "pending"
    listed = ams.call("GET", "/registrations", params={"status": "pending"}).json()
    assert [r["uuid"] for r in listed["user_registrations"]] == [reg["uuid"]]
    assert ams.call("GET", "/registrations", params={"name": "x"}).json() == {
        "user_registrations": []}
    user = ams.call("POST", f"/registrations/{reg['uuid']}:accept").json()
    assert (user["name"], user["created_by"], user["organization"]) == ("dave", "root", "Org")
    shown = ams.call("GET", f"/registrations/{reg['uuid']}").json()
    assert shown["status"] == "accepted" and shown["modified_by"] == "root"
    assert "activation_token" not in shown
    assert error_of(ams.call("POST", f"/registrations/{reg['uuid']}:accept"))[2] == (
        "User registration doesn't exist")
    assert error_of(ams.call("POST", "/registrations", body=body))[2] == "User already exists"
    other = ams.call("POST", "/registrations", body={**body, "name": "erin"}).json()
    path = f"/registrations/{other['uuid']}"
    assert error_of(ams.call("POST", f"{path}:decline", raw=b""))[1] == "BAD_REQUEST"
    assert ams.call("POST", f"{path}:decline", body={"comment": "no"}).content == b"{}"
    assert ams.call("GET", path).json()["decline_comment"] == "no"
    assert ams.call("DELETE", path).content == b""
    assert error_of(ams.call("GET", path))[0] == 404


def test_project_metrics(ams: Ams) -> None:
    ams.topic()
    ams.sub()
    ams.user("bob", ["publisher"])
    ams.call("POST", "/projects/DEMO/topics/alerts:modifyAcl", body={"authorized_users": ["bob"]})
    ams.publish("YQ==")
    metrics = ams.call("GET", "/projects/DEMO:metrics").json()["metrics"]
    assert [(m["metric"], m["resource_name"]) for m in metrics] == [
        ("project.number_of_topics", "DEMO"), ("project.number_of_subscriptions", "DEMO"),
        ("project.user.number_of_topics", "DEMO.bob"),
        ("project.number_of_daily_messages", "DEMO")]
    assert metrics[4 - 1]["timeseries"] == [{"timestamp": "2024-05-02", "value": 1}]


def test_va_report(ams: Ams) -> None:
    ams.topic()
    ams.publish("YQ==", "Yg==", "Yw==")
    report = ams.call("GET", "/metrics/va_metrics",
                      params={"start_date": "2024-05-01", "end_date": "2024-05-02"})
    body = report.json()
    assert body["projects_metrics"]["projects"] == [{
        "project": "DEMO", "message_count": 3, "average_daily_messages": 1.5,
        "topics_count": 1, "subscriptions_count": 0, "users_count": 0}]
    assert report.content.startswith(b'{\n "projects_metrics": {\n  "projects": [')
    for params, message in (({"start_date": "2024-5-1"}, "Start date is not in valid format"),
                            ({"end_date": "tomorrow"}, "End date is not in valid format")):
        assert error_of(ams.call("GET", "/metrics/va_metrics", params=params))[2] == message
    reply = ams.call("GET", "/metrics/va_metrics", params={"projects": "DEMO,NOPE"})
    assert error_of(reply) == (404, "NOT_FOUND", "Project NOPE doesn't exist")
    nodes = ams.call("GET", "/metrics", token=ADMIN).json()["metrics"]
    assert [m["metric"] for m in nodes] == ["ams_node.cpu_usage", "ams_node.memory_usage"]
