"""AmsSchema and AmsProject: each method calls the right route and keeps the object current."""

from __future__ import annotations

import json

import pytest
import responses

from pymod import AmsProject, AmsSchema, AmsUser, ArgoMessagingService

from ._support import ALICE, BASE, PROJECT_OBJ, SCHEMA, SCHEMA_DOC, TOKEN

P = f"{BASE}/projects/DEMO"
METRICS = {"metrics": []}


@pytest.fixture
def schema(ams: ArgoMessagingService, rsps: responses.RequestsMock) -> AmsSchema:
    rsps.get(f"{P}/schemas/reading", json=SCHEMA)
    found = ams.get_schema("reading", retobj=True)
    assert isinstance(found, AmsSchema)
    return found


def test_get_schema_retobj(schema: AmsSchema, ams: ArgoMessagingService) -> None:
    assert (schema.name, schema.fullname, schema.type) == ("reading", SCHEMA["name"], "json")
    assert schema.uuid == SCHEMA["uuid"] and schema.schema == SCHEMA_DOC
    assert schema.init is ams
    assert repr(schema) == "AmsSchema('projects/DEMO/schemas/reading', type='json')"


def test_schema_validate(schema: AmsSchema, rsps: responses.RequestsMock) -> None:
    rsps.post(f"{P}/schemas/reading:validate", json={"message": "Message validated successfully"})
    assert schema.validate({"temp": 1}) == {"message": "Message validated successfully"}
    assert json.loads(rsps.calls[-1].request.body) == {"temp": 1}


def test_schema_update_reloads_the_object(schema: AmsSchema, rsps: responses.RequestsMock) -> None:
    renamed = {**SCHEMA, "name": "projects/DEMO/schemas/reading2", "schema": {"type": "object"}}
    rsps.put(f"{P}/schemas/reading", json=renamed)
    assert schema.update(new_name="reading2", schema={"type": "object"}) is schema
    assert json.loads(rsps.calls[-1].request.body) == {
        "name": "projects/DEMO/schemas/reading2", "schema": {"type": "object"}}
    assert (schema.name, schema.schema) == ("reading2", {"type": "object"})


def test_schema_attach_and_delete(schema: AmsSchema, rsps: responses.RequestsMock) -> None:
    rsps.post(f"{P}/topics/alerts:attachSchema", body="")
    rsps.delete(f"{P}/schemas/reading", body="")
    schema.attach("alerts")
    assert json.loads(rsps.calls[-1].request.body) == {"schema": "projects/DEMO/schemas/reading"}
    assert schema.delete() is None
    assert rsps.calls[-1].request.method == "DELETE"


@pytest.fixture
def project(ams: ArgoMessagingService, rsps: responses.RequestsMock) -> AmsProject:
    rsps.get(f"{P}", json=PROJECT_OBJ)
    found = ams.get_project("DEMO", retobj=True)
    assert isinstance(found, AmsProject)
    return found


def test_get_project_retobj(project: AmsProject, ams: ArgoMessagingService) -> None:
    assert project == AmsProject("DEMO", ams) and project.name == "DEMO"
    assert repr(project) == "AmsProject('DEMO')"


def test_project_get_update_metrics_delete(project: AmsProject, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{P}", json=PROJECT_OBJ)
    rsps.put(f"{P}", json={**PROJECT_OBJ, "name": "DEMO2"})
    rsps.get(f"{BASE}/projects/DEMO2:metrics", json=METRICS)
    rsps.delete(f"{BASE}/projects/DEMO2", body="")
    assert project.get()["description"] == PROJECT_OBJ["description"]
    assert project.update(updated_name="DEMO2")["name"] == "DEMO2"
    assert json.loads(rsps.calls[-1].request.body) == {"name": "DEMO2"}
    assert project.name == "DEMO2"  # the object follows the rename
    assert project.metrics() == METRICS
    project.delete()
    assert [c.request.method for c in rsps.calls[-2:]] == ["GET", "DELETE"]


def test_project_members(project: AmsProject, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{P}/members", json={"users": [ALICE], "nextPageToken": "", "totalSize": 1})
    rsps.get(f"{P}/members/alice", json=ALICE)
    rsps.post(f"{P}/members/bob:add", json=ALICE)
    rsps.post(f"{P}/members/carol", json=ALICE)
    rsps.put(f"{P}/members/alice", json=ALICE)
    rsps.post(f"{P}/members/bob:remove", json={})
    assert [u.name for u in project.members(page_size=10)] == ["alice"]
    assert "pageSize=10" in rsps.calls[-1].request.url
    assert isinstance(project.member("alice"), AmsUser)
    project.add_member("bob", ["consumer"])
    assert json.loads(rsps.calls[-1].request.body) == {"roles": ["consumer"]}
    project.create_member("carol", ["publisher"], email="c@example.org")
    assert json.loads(rsps.calls[-1].request.body) == {
        "projects": [{"project": "DEMO", "roles": ["publisher"], "topics": [], "subscriptions": []}],
        "email": "c@example.org"}
    project.update_member("alice", ["project_admin"])
    assert json.loads(rsps.calls[-1].request.body) == {
        "projects": [{"project": "DEMO", "roles": ["project_admin"]}]}
    project.remove_member("bob")
    assert rsps.calls[-1].request.url.endswith("/members/bob:remove")
    assert all(c.request.headers["x-api-key"] == TOKEN for c in rsps.calls)
