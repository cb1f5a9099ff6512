"""Routing (spec 1.1, 1.7, 3) and the request-processing order of spec 1.3."""

from __future__ import annotations

import pytest
from ams_testkit import ADMIN, Ams, error_of

from pymod.emulator.app import ROUTES

PLAIN = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"


def test_route_table_has_all_64_routes() -> None:
    assert len(ROUTES) == 64
    assert len({r.route_id for r in ROUTES}) == 64


@pytest.mark.parametrize("path", ["/v1/projects/DEMO/topics/", "/v2/projects", "/", "/v1",
                                  "/v1/projects/DEMO/nothing", "/v1/users/a/b/c"])
def test_unknown_path_is_plain_text_404(ams: Ams, path: str) -> None:
    reply = ams.client.get(path, headers={"x-api-key": ADMIN})
    assert reply.status_code == 404
    assert reply.content == b"404 page not found\n"
    assert reply.headers["content-type"] == PLAIN


def test_wrong_method_is_404_except_on_the_last_route(ams: Ams) -> None:
    # gorilla/mux as the real server uses it: every later route's /v1 prefix matcher clears an
    # earlier method mismatch, so only the table's last route (GET /version) can give 405.
    ams.topic()
    for method, path in (("POST", "/projects/DEMO/topics/alerts"), ("PATCH", "/projects/DEMO/topics"),
                         ("HEAD", "/projects/DEMO/topics/alerts")):
        reply = ams.call(method, path)
        assert reply.status_code == 404
        assert reply.headers["content-type"] == PLAIN
    reply = ams.call("POST", "/version")
    assert (reply.status_code, reply.content) == (405, b"")


def test_unclean_paths_are_redirected(ams: Ams) -> None:
    reply = ams.client.get("/v1//projects?x=1", follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (301, "/v1/projects?x=1")
    reply = ams.client.get("/v1/projects/DEMO//topics/", follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (301, "/v1/projects/DEMO/topics/")


def test_unknown_verb_post_is_404_but_get_reaches_show_and_fails_name_validation(
        ams: Ams) -> None:
    ams.topic()
    assert ams.call("POST", "/projects/DEMO/topics/alerts:foo").status_code == 404
    reply = ams.call("GET", "/projects/DEMO/topics/alerts:unknownVerb")
    assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid topic name")
    assert reply.headers["content-type"] == PLAIN
    # A known verb with the wrong method also falls back to the plain resource route.
    reply = ams.call("GET", "/projects/DEMO/topics/alerts:publish")
    assert error_of(reply)[2] == "Invalid topic name"


def test_profile_shadows_user_named_profile_for_get_only(ams: Ams) -> None:
    reply = ams.call("GET", "/users/profile")
    assert reply.json()["name"] == "root"
    assert ams.call("POST", "/users/profile", body={}).status_code == 200
    assert ams.call("GET", "/users/profile").json()["name"] == "root"
    assert ams.call("DELETE", "/users/profile").status_code == 200


def test_name_validation_in_alphabetical_order_before_auth(ams: Ams) -> None:
    reply = ams.call("GET", "/projects/bad.project/topics/bad.topic/subscriptions", token=None)
    assert error_of(reply) == (400, "INVALID_ARGUMENT", "Invalid project name")
    reply = ams.call("GET", "/projects/DEMO/topics/bad.topic/subscriptions", token=None)
    assert error_of(reply)[2] == "Invalid topic name"
    reply = ams.call("GET", "/projects/DEMO/subscriptions/s%20p:offsets")
    assert error_of(reply)[2] == "Invalid subscription name"
    assert error_of(ams.call("GET", "/users:byUUID/a.b"))[2] == "Invalid uuid name"
    assert error_of(ams.call("GET", "/users:byToken/a:b"))[2] == "Invalid token name"
    assert error_of(ams.call("GET", "/projects/DEMO/schemas/%C3%A9"))[2] == "Invalid schema name"


def test_token_presence_then_project_then_token_lookup(ams: Ams) -> None:
    reply = ams.call("GET", "/projects/NOPE/topics", token=None)
    assert error_of(reply) == (401, "UNAUTHORIZED", "Unauthorized")
    assert reply.headers["content-type"] == PLAIN
    reply = ams.call("GET", "/projects/NOPE/topics", token="bogus")
    assert error_of(reply) == (404, "NOT_FOUND", "project doesn't exist")
    reply = ams.call("GET", "/projects/DEMO/topics", token="bogus")
    assert error_of(reply) == (401, "UNAUTHORIZED", "Unauthorized")
    reply = ams.call("GET", "/projects/DEMO/topics", token="")
    assert error_of(reply)[0] == 401


def test_non_member_gets_401_and_member_without_role_gets_403(ams: Ams) -> None:
    outsider = ams.user("outsider")
    assert error_of(ams.call("GET", "/projects/DEMO/topics", token=outsider))[0] == 401
    consumer = ams.user("carol", ["consumer"])
    reply = ams.call("GET", "/projects/DEMO/topics", token=consumer)
    assert error_of(reply) == (403, "FORBIDDEN", "Access to this resource is forbidden")
    assert reply.headers["content-type"] == PLAIN


def test_key_query_parameter_and_header_precedence(ams: Ams) -> None:
    assert ams.client.get("/v1/projects/DEMO/topics", params={"key": ADMIN}).status_code == 200
    reply = ams.client.get("/v1/projects/DEMO/topics", params={"key": "bogus"},
                           headers={"x-api-key": ADMIN})
    assert reply.status_code == 200
    reply = ams.client.get("/v1/projects/DEMO/topics", params={"key": ADMIN},
                           headers={"x-api-key": "bogus"})
    assert reply.status_code == 401


@pytest.mark.parametrize(("roles", "service_roles", "method", "path", "code"), [
    (["publisher"], [], "PUT", "/projects/DEMO/topics/new", 403),
    (["publisher"], [], "GET", "/projects/DEMO/subscriptions", 403),
    (["consumer"], [], "POST", "/projects/DEMO/topics/alerts:publish", 403),
    (["consumer"], [], "GET", "/projects/DEMO/topics/alerts:acl", 403),
    (["project_admin"], [], "POST", "/projects/OTHER", 401),
    (["project_admin"], [], "GET", "/users", 401),
    (["project_admin"], [], "DELETE", "/projects/DEMO", 403),
    ([], ["push_worker"], "GET", "/projects/DEMO/topics", 403),
    ([], ["admin_viewer"], "GET", "/projects", 403),
    ([], ["admin_viewer"], "GET", "/metrics", 403),
])
def test_each_role_is_denied_something(ams: Ams, roles: list[str], service_roles: list[str],
                                       method: str, path: str, code: int) -> None:
    ams.topic()
    token = ams.user("someone", roles, service_roles=service_roles)
    assert error_of(ams.call(method, path, token=token, body={}))[0] == code


def test_project_admin_manages_its_project(ams: Ams) -> None:
    alice = ams.user("alice", ["project_admin"])
    assert ams.call("PUT", "/projects/DEMO/topics/t", token=alice).status_code == 200
    reply = ams.call("PUT", "/projects/DEMO/subscriptions/s", token=alice,
                     body={"topic": "projects/DEMO/topics/t"})
    assert reply.status_code == 200
    assert ams.call("GET", "/projects/DEMO/members", token=alice).status_code == 200
    assert ams.call("GET", "/projects/DEMO", token=alice).status_code == 200


def test_status_details_need_an_operator_token(ams: Ams) -> None:
    assert ams.call("GET", "/status", token=None).json()["status"] == "ok"
    reply = ams.call("GET", "/status", token=None, params={"details": "true"})
    assert error_of(reply) == (403, "FORBIDDEN", "Access to this resource is forbidden")
    plain = ams.user("plain", ["consumer"])
    reply = ams.call("GET", "/status", token=plain, params={"details": "true"})
    assert error_of(reply) == (401, "UNAUTHORIZED", "Unauthorized")
    viewer = ams.user("viewer", service_roles=["admin_viewer"])
    assert ams.call("GET", "/status", token=viewer, params={"details": "true"}).status_code == 200


def test_status_without_push(store: object) -> None:
    from starlette.testclient import TestClient

    from pymod.emulator.app import create_app

    client = TestClient(create_app(store, push_enabled=False))  # type: ignore[arg-type]
    assert client.get("/v1/status").content == (
        b'{\n "status": "ok",\n "push_functionality": "disabled"\n}')


def test_version_shows_release_only_to_operators(ams: Ams) -> None:
    anonymous = ams.call("GET", "/version", token=None).json()
    assert list(anonymous) == ["build_time", "golang", "compiler", "os", "architecture", "distro"]
    assert "release" in ams.call("GET", "/version").json()
    assert ams.call("GET", "/version").content.startswith(b'{\n "build_time": ')


def test_cors_preflight(ams: Ams) -> None:
    # gorilla handlers.CORS: only the requested (allowed) headers and a non-simple method
    # are echoed back; a disallowed header or method is refused without a body.
    reply = ams.client.options("/v1/projects/DEMO/topics", headers={
        "Origin": "https://ui.example.org", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-api-key, content-type, accept"})
    assert reply.status_code == 200 and reply.content == b""
    assert reply.headers["access-control-allow-headers"] == "X-Api-Key,Content-Type"
    assert reply.headers["access-control-allow-methods"] == "PUT"
    assert reply.headers["access-control-allow-origin"] == "*"
    reply = ams.client.options("/v1/projects/DEMO/topics", headers={
        "Origin": "https://ui.example.org", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-methods" not in reply.headers
    for headers, status in (({"Access-Control-Request-Method": "PATCH"}, 405),
                            ({"Access-Control-Request-Method": "GET",
                              "Access-Control-Request-Headers": "x-secret"}, 403),
                            ({}, 400)):
        reply = ams.client.options("/v1/projects/DEMO/topics",
                                   headers={"Origin": "https://ui.example.org", **headers})
        assert (reply.status_code, reply.content) == (status, b"")
        assert "access-control-allow-origin" not in reply.headers
    assert ams.client.options("/v1/projects/DEMO/topics").status_code == 200
