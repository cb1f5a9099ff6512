"""Fuzzing: whatever the request, the app answers with a well-formed response, never a crash."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ams_testkit import ADMIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pymod.emulator.app import ROUTES, create_app
from pymod.emulator.store import Store

_STORE = Store()
_STORE.bootstrap(admin_name="root", admin_token=ADMIN, project="DEMO")
_CLIENT = TestClient(create_app(_STORE))
for _path, _body in (("/v1/projects/DEMO/topics/alerts", None),
                     ("/v1/projects/DEMO/subscriptions/alerts-sub",
                      {"topic": "projects/DEMO/topics/alerts"})):
    _CLIENT.put(_path, headers={"x-api-key": ADMIN}, json=_body)

#: The only 500 messages a client can provoke on purpose (spec 5.10 and 4.5).
KNOWN_500 = {"no ack pending", "wrong ack",
             "Message retrieved from broker network has invalid JSON Structure"}

names = st.one_of(st.sampled_from(["DEMO", "alerts", "alerts-sub", "root", "x"]),
                  st.text(min_size=0, max_size=12).map(lambda t: quote(t, safe=":")))
texts = st.text(max_size=20) | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                                      max_size=3)
keys = st.sampled_from(["messages", "data", "attributes", "ackIds", "maxMessages", "topic",
                        "pushConfig", "offset", "schema", "type", "roles", "projects", "project",
                        "authorized_users", "name", "returnImmediately", "description", "email",
                        "comment", "ackDeadlineSeconds", "pushEndpoint", "service_roles"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        keys | st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
#: Objects shaped like request bodies: known keys, values that are often lists of objects.
struct_bodies = st.dictionaries(
    keys, json_values | st.lists(st.dictionaries(keys, json_values, max_size=3), max_size=3),
    max_size=4)
bodies = st.one_of(st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode()))


@st.composite
def paths(draw: Any) -> str:
    """A route template filled with random names, or random segments, plus optional verbs."""
    if draw(st.booleans()):
        template = draw(st.sampled_from(ROUTES)).template
        for var in ("project", "topic", "subscription", "schema", "user", "uuid", "token"):
            template = template.replace("{" + var + "}", draw(names))
        return "/v1" + template
    segments = draw(st.lists(names, max_size=6))
    prefix = draw(st.sampled_from(["/v1/", "/v2/", "/"]))
    path = prefix + "/".join(segments) + draw(st.sampled_from(["", ":pull", ":acl", ":x", "/"]))
    return "/v1" + path if path.startswith("//") else path


queries = st.dictionaries(
    st.sampled_from(["pageSize", "pageToken", "details", "time", "project", "key", "status",
                     "start_date", "end_date", "projects"]),
    st.one_of(st.text(max_size=12), st.integers().map(str), st.just("true")), max_size=3)


def check(method: str, path: str, body: bytes, token: str, query: dict[str, str]) -> None:
    reply = _CLIENT.request(method, path, content=body, headers={"x-api-key": token},
                            params=query)
    if reply.status_code == 404 and reply.content == b"404 page not found\n":
        return
    if reply.status_code == 405:
        assert reply.content == b""
        return
    assert reply.status_code in (200, 400, 401, 403, 404, 408, 409, 413, 500), reply.status_code
    if reply.status_code != 200:
        error = reply.json()["error"]
        assert list(error) == ["code", "message", "status"]
        assert error["code"] == reply.status_code
        if reply.status_code == 500:
            assert error["message"] in KNOWN_500, error


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), path=paths(),
       body=bodies, token=st.sampled_from([ADMIN, "", "bogus"]), query=queries)
def test_random_requests_get_well_formed_answers(method: str, path: str, body: bytes,
                                                 token: str, query: dict[str, str]) -> None:
    check(method, path, body, token, query)


_VALID = {"project": "DEMO", "topic": "alerts", "subscription": "alerts-sub", "schema": "s",
          "user": "root", "uuid": "u", "token": ADMIN}


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES),
       body=(struct_bodies | json_values).map(lambda v: json.dumps(v).encode()),
       query=queries)
def test_every_route_survives_random_bodies(route: Any, body: bytes,
                                            query: dict[str, str]) -> None:
    path = route.template
    for var, value in _VALID.items():
        path = path.replace("{" + var + "}", value)
    if route.route_id in ("projects:delete", "users:delete", "users:refreshToken",
                          "users:update", "projects:update"):
        return  # would destroy the shared fixture (admin, project) for later examples
    check(route.method, "/v1" + path, body, ADMIN, query)
