"""Every AMS route, through the client's public methods, against the emulator over HTTPS (or a real
AMS, see conftest.py; every name starts with a prefix unique to the run).

The module records the route of every request the client sends; the last test asserts that the
tests of this module reached all 64 AMS routes (all of them against the oracle too) and the x509
authn endpoint.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Set

import fastavro
import pytest

from pymod import (
    AmsMessage,
    AmsServiceException,
    AmsUser,
    AmsUserPage,
    AmsUserProject,
    ArgoMessagingService,
)
from pymod.emulator import Emulator
from pymod.routes import AUTHN_ROUTE, ROUTES, resolve_route
from pymod.transport import AmsHttpRequests

if TYPE_CHECKING:
    from conftest import AmsTarget

pytestmark = pytest.mark.service_admin("creates users, projects and registrations")

REACHED: Set[str] = set()
#: Prefix of every name these tests create, unique to the run.
R = f"routes-{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="module", autouse=True)
def record_routes() -> Iterator[None]:
    """Record the route name of every request sent while this module runs."""
    original = AmsHttpRequests._make_request

    def recording(self: AmsHttpRequests, url: str, body: Any = None, route_name: Any = None,
                  **kw: Any) -> Any:
        REACHED.add(resolve_route(route_name).name)
        return original(self, url, body, route_name, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AmsHttpRequests, "_make_request", recording)
        yield


def _client(ams_target: AmsTarget, token: str, project: str | None = None) -> ArgoMessagingService:
    return ArgoMessagingService(ams_target.endpoint, token=token,
                                project=project or ams_target.project, verify=ams_target.ca_path)


@pytest.fixture(scope="module")
def people(ams_target: AmsTarget,
           purge: Callable[..., None]) -> Iterator[Dict[str, ArgoMessagingService]]:
    """Clients for a project_admin, a publisher, a consumer and an admin_viewer of the project."""
    admin = _client(ams_target, ams_target.admin_token)
    clients = {"service_admin": admin}
    for name, roles, service_roles in (
        (f"{R}alice", ["project_admin"], []),
        (f"{R}bob", ["publisher"], []),
        (f"{R}carol", ["consumer"], []),
        (f"{R}victor", [], ["admin_viewer"]),
    ):
        projects = [AmsUserProject(ams_target.project, roles)] if roles else []
        user = admin.create_user(AmsUser(name=name, email=f"{name}@example.org",
                                         projects=projects, service_roles=service_roles))
        assert user.token and user.uuid
        key = roles[0] if roles else service_roles[0]
        clients[key] = _client(ams_target, user.token)
    yield clients
    purge(R, everyone=True)  # what the tests below leave: users, topics, subscriptions, schemas


def _denied(call: Any, *args: Any, code: int = 403, **kwargs: Any) -> None:
    with pytest.raises(AmsServiceException) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value


def test_topic_and_subscription_basics(people: Dict[str, ArgoMessagingService]) -> None:
    alice = people["project_admin"]
    alice.create_topic(f"{R}basic")
    assert alice.get_topic(f"{R}basic")["name"].endswith(f"/topics/{R}basic")
    assert any(t["name"].endswith(f"/{R}basic") for t in alice.list_topics()["topics"])
    assert alice.getacl_topic(f"{R}basic") == {"authorized_users": []}
    alice.create_sub(f"{R}basic-sub", f"{R}basic")
    assert any(s["name"].endswith(f"/{R}basic-sub") for s in alice.list_subs()["subscriptions"])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    alice.publish(f"{R}basic", [AmsMessage(data="one"), AmsMessage(data="two")])
    assert alice.time_to_offset_sub(f"{R}basic-sub", start) == 0
    pulled = alice.pull_sub(f"{R}basic-sub", 2, True)
    assert alice.ack_sub(f"{R}basic-sub", [pulled[-1][0]]) is True
    assert alice.getoffsets_sub(f"{R}basic-sub") == {"max": 2, "min": 0, "current": 2}
    alice.modifyoffset_sub(f"{R}basic-sub", 1)
    assert alice.getacl_sub(f"{R}basic-sub") == {"authorized_users": []}
    alice.pushconfig_sub(f"{R}basic-sub")  # pull stays pull
    assert alice.get_sub(f"{R}basic-sub")["pushConfig"]["type"] == ""
    alice.delete_sub(f"{R}basic-sub")
    alice.delete_topic(f"{R}basic")


def test_role_denials(people: Dict[str, ArgoMessagingService]) -> None:
    admin, alice = people["service_admin"], people["project_admin"]
    bob, carol, victor = people["publisher"], people["consumer"], people["admin_viewer"]
    alice.create_topic(f"{R}roles")
    alice.create_sub(f"{R}roles-sub", f"{R}roles")

    _denied(bob.create_topic, f"{R}nope")  # publisher cannot create topics
    _denied(bob.pull_sub, f"{R}roles-sub", 1, True)  # nor pull
    _denied(carol.publish, f"{R}roles", AmsMessage(data="x"))  # consumer cannot publish
    _denied(carol.create_sub, f"{R}nope", f"{R}roles")
    _denied(alice.create_project, f"{R}nope", "x", code=401)  # no service role: 401
    _denied(alice.list_users, code=401)
    _denied(victor.list_users)  # a service role without this route: 403
    # Per-resource ACLs: a publisher must be in the topic's ACL, a consumer in the sub's.
    _denied(bob.publish, f"{R}roles", AmsMessage(data="x"))
    _denied(carol.pull_sub, f"{R}roles-sub", 1, True)
    alice.modifyacl_topic(f"{R}roles", [f"{R}bob"])
    alice.modifyacl_sub(f"{R}roles-sub", [f"{R}carol"])
    assert bob.publish(f"{R}roles", AmsMessage(data="now allowed"))["messageIds"] == ["0"]
    assert carol.pull_sub(f"{R}roles-sub", 1, True)[0][1].get_data() == b"now allowed"
    # Listing filters: a pure publisher sees only topics whose ACL names it.
    alice.create_topic(f"{R}roles-hidden")
    visible = {t["name"].rsplit("/", 1)[1] for t in bob.list_topics()["topics"]}
    assert f"{R}roles" in visible and f"{R}roles-hidden" not in visible
    assert admin.getacl_topic(f"{R}roles")["authorized_users"] == [f"{R}bob"]


def test_users(ams_target: AmsTarget, people: Dict[str, ArgoMessagingService]) -> None:
    admin = people["service_admin"]
    dave = admin.create_user(AmsUser(name=f"{R}dave", email="dave@example.org",
                                     first_name="Dave"))
    assert isinstance(dave, AmsUser) and dave.first_name == "Dave"
    assert admin.get_user(f"{R}dave").uuid == dave.uuid
    assert admin.get_user_by_token(dave.token).name == f"{R}dave"
    assert admin.get_user_by_uuid(dave.uuid).name == f"{R}dave"
    assert admin.get_user_profile().name == ams_target.admin_name
    assert people["consumer"].get_user_profile().name == f"{R}carol"

    page = admin.list_users(details=False, page_size=2)
    assert isinstance(page, AmsUserPage) and len(page.users) == 2 and page.next_page_token
    everyone = {u.name for u in admin.iter_users(page_size=2)}
    assert {f"{R}dave", f"{R}alice", ams_target.admin_name} <= everyone
    members = admin.list_users(project=ams_target.project)
    assert f"{R}dave" not in {u.name for u in members.users}

    updated = admin.update_user(f"{R}dave", organization="Example Org")
    assert (updated.organization, updated.first_name, updated.email) == (
        "Example Org", "Dave", "dave@example.org")  # untouched fields stay
    refreshed = admin.refresh_user_token(f"{R}dave")
    assert refreshed.token != dave.token
    _denied(_client(ams_target, dave.token).get_user_profile, code=401)  # old token is dead

    report = people["project_admin"].usage_report()
    assert "va_metrics" in report and "operational_metrics" in report
    assert admin.delete_user(f"{R}dave") is None  # as argo-ams-library
    _denied(admin.get_user, f"{R}dave", code=404)


def test_projects_and_members(ams_target: AmsTarget, people: Dict[str, ArgoMessagingService]) -> None:
    admin, alice = people["service_admin"], people["project_admin"]
    created = admin.create_project(f"{R}proj", "for the route tests")
    assert created["name"] == f"{R}proj" and created["description"] == "for the route tests"
    assert admin.get_project(f"{R}proj")["name"] == f"{R}proj"
    assert f"{R}proj" in {p["name"] for p in admin.list_projects()}
    assert admin.update_project(f"{R}proj", description="renamed")["description"] == "renamed"

    erin = admin.create_project_member(f"{R}erin", project=f"{R}proj", roles=["consumer"],
                                       email="erin@example.org")
    assert erin.token and erin.projects[0].roles == ["consumer"]
    assert admin.get_project_member(f"{R}erin", project=f"{R}proj").name == f"{R}erin"
    proj = admin.get_project(f"{R}proj", retobj=True)
    assert [u.name for u in proj.members()] == [f"{R}erin"]
    assert proj.member(f"{R}erin").projects[0].roles == ["consumer"]
    again = admin.update_project_member(f"{R}erin", ["publisher"], project=f"{R}proj")
    assert again.projects[0].roles == ["publisher"]
    admin.add_project_member(f"{R}bob", project=f"{R}proj", roles=["consumer"])
    names = {u.name for u in admin.iter_project_members(project=f"{R}proj", page_size=1)}
    assert names == {f"{R}erin", f"{R}bob"}
    page = alice.list_project_members(details=True)
    assert {f"{R}alice", f"{R}bob", f"{R}carol"} <= {u.name for u in page.users}
    assert admin.remove_project_member(f"{R}bob", f"{R}proj") == {}
    _denied(admin.get_project_member, f"{R}bob", project=f"{R}proj", code=404)

    metrics = alice.getmetrics_project()
    assert metrics["metrics"][0]["metric"] == "project.number_of_topics"
    # Deleted with what it holds. (An empty project would do against a real AMS, but the oracle's
    # mock store answers 404 when a project has no topic, subscription or message count.)
    inside = _client(ams_target, ams_target.admin_token, project=f"{R}proj")
    inside.create_topic("doomed")
    inside.create_sub("doomed-sub", "doomed")
    inside.publish("doomed", AmsMessage(data="gone with the project"))
    assert admin.delete_project(f"{R}proj") == {}
    _denied(admin.get_project, f"{R}proj", code=404)
    _denied(inside.get_topic, "doomed", code=404)


def test_registrations(people: Dict[str, ArgoMessagingService]) -> None:
    admin = people["service_admin"]
    reg = admin.create_registration(f"{R}fred", first_name="Fred", email="fred@example.org",
                                    organization="Org", description="wants in")
    assert reg["status"] == "pending" and len(reg["activation_token"]) == 64
    assert admin.get_registration(reg["uuid"])["name"] == f"{R}fred"
    assert [r["uuid"] for r in admin.list_registrations(name=f"{R}fred")] == [reg["uuid"]]
    fred = admin.accept_registration(reg["uuid"])
    assert fred.name == f"{R}fred" and fred.token
    assert admin.get_registration(reg["uuid"])["status"] == "accepted"

    other = admin.create_registration(f"{R}gina", email="gina@example.org")
    assert admin.decline_registration(other["uuid"], comment="not eligible") == {}
    declined = admin.list_registrations(status="declined", name=f"{R}gina")
    assert declined[0]["decline_comment"] == "not eligible"
    assert admin.delete_registration(other["uuid"]) == {}
    _denied(admin.get_registration, other["uuid"], code=404)


READING = {
    "type": "object",
    "properties": {"temp": {"type": "number"}, "unit": {"type": "string"}},
    "required": ["temp"],
}
AVRO = {
    "type": "record", "name": "Reading",
    "fields": [{"name": "temp", "type": "double"}, {"name": "unit", "type": "string"}],
}


def _avro_b64(datum: Dict[str, Any]) -> str:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(AVRO), datum)
    return base64.b64encode(buf.getvalue()).decode()


def test_schemas(people: Dict[str, ArgoMessagingService]) -> None:
    alice = people["project_admin"]
    schema = alice.create_schema(f"{R}reading", "json", READING)
    assert schema["name"].endswith(f"/schemas/{R}reading") and schema["type"] == "json"
    assert alice.get_schema(f"{R}reading")["schema"]["required"] == ["temp"]
    assert f"{R}reading" in {s["name"].rsplit("/", 1)[1] for s in alice.list_schemas()}
    assert alice.get_schema(f"{R}reading", retobj=True).validate({"temp": 1}) == {
        "message": "Message validated successfully"}
    ok = alice.validate_schema_message(f"{R}reading", {"temp": 21.5})
    assert ok == {"message": "Message validated successfully"}
    with pytest.raises(AmsServiceException) as info:
        alice.validate_schema_message(f"{R}reading", {"unit": "C"})
    assert "temp is required" in info.value.error_message

    topic = alice.create_topic(f"{R}schema-topic", schema=f"{R}reading")
    assert topic["schema"].endswith(f"/schemas/{R}reading")
    good = AmsMessage(data=json.dumps({"temp": 20, "unit": "C"}))
    bad = AmsMessage(data=json.dumps({"unit": "C"}))
    assert alice.publish(f"{R}schema-topic", good)["messageIds"] == ["0"]
    with pytest.raises(AmsServiceException) as info:
        alice.publish(f"{R}schema-topic", [good, bad])
    assert info.value.code == 400
    assert info.value.error_message.startswith("Message 1 data is not valid")
    alice.detachschema_topic(f"{R}schema-topic")
    assert alice.publish(f"{R}schema-topic", bad)["messageIds"] == ["1"]
    alice.attachschema_topic(f"{R}schema-topic", f"{R}reading")
    assert alice.get_topic(f"{R}schema-topic")["schema"].endswith(f"/{R}reading")

    updated = alice.update_schema(f"{R}reading", schema={**READING, "required": ["unit"]})
    assert updated["schema"]["required"] == ["unit"]
    alice.create_schema(f"{R}avro", "avro", AVRO)
    valid = alice.validate_schema_message(f"{R}avro",
                                          {"data": _avro_b64({"temp": 1.5, "unit": "C"})})
    assert valid == {"message": "Message validated successfully"}
    with pytest.raises(AmsServiceException):
        alice.validate_schema_message(f"{R}avro", {"data": base64.b64encode(b"\x01").decode()})
    assert alice.delete_schema(f"{R}avro") == {}
    _denied(alice.get_schema, f"{R}avro", code=404)


def test_operations(people: Dict[str, ArgoMessagingService]) -> None:
    admin = people["service_admin"]
    assert admin.status()["status"] == "ok"
    assert admin.status(details=True)["status"] == "ok"
    assert "build_time" in admin.version()
    node_metrics = admin.metrics()["metrics"]
    assert [m["metric"] for m in node_metrics[:2]] == ["ams_node.cpu_usage", "ams_node.memory_usage"]
    today = datetime.date.today()
    report = admin.va_metrics(start_date=today - datetime.timedelta(days=1), end_date=today)
    assert "projects_metrics" in report and "total_users_count" in report


def test_topic_and_subscription_extras(people: Dict[str, ArgoMessagingService]) -> None:
    alice = people["project_admin"]
    alice.create_topic(f"{R}extras")
    alice.create_sub(f"{R}extras-a", f"{R}extras")
    alice.create_sub(f"{R}extras-b", f"{R}extras")
    assert sorted(alice.list_topic_subs(f"{R}extras")) == [
        f"/projects/{alice.project}/subscriptions/{R}extras-a",
        f"/projects/{alice.project}/subscriptions/{R}extras-b",
    ]
    alice.modifyackdeadline_sub(f"{R}extras-a", 120)
    assert alice.get_sub(f"{R}extras-a")["ackDeadlineSeconds"] == 120
    alice.publish(f"{R}extras", [AmsMessage(data="a"), AmsMessage(data="b")])
    alice.pull_sub(f"{R}extras-a", 2, True)
    topic_metrics = {m["metric"]: m for m in alice.getmetrics_topic(f"{R}extras")["metrics"]}
    assert topic_metrics["topic.number_of_messages"]["timeseries"][0]["value"] == 2
    assert topic_metrics["topic.number_of_subscriptions"]["timeseries"][0]["value"] == 2
    sub_metrics = {m["metric"]: m for m in alice.getmetrics_sub(f"{R}extras-a")["metrics"]}
    assert sub_metrics["subscription.number_of_messages"]["timeseries"][0]["value"] == 2
    assert alice.delete_topic(f"{R}extras") == {}
    assert alice.delete_sub(f"{R}extras-b") == {}


class _Receiver(BaseHTTPRequestHandler):
    verification_hash = ""
    received: List[Dict[str, Any]] = []
    authorization: List[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.verification_hash.encode() if self.path == "/ams_verification_hash" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.authorization.append(self.headers.get("Authorization", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.emulator_only("push delivery to a local receiver with a certificate of the emulator's CA")
def test_push_delivery_to_a_local_receiver(emulator: Emulator,
                                           people: Dict[str, ArgoMessagingService]) -> None:
    alice = people["project_admin"]
    cert, key = emulator.issue_server_cert("127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"https://127.0.0.1:{server.server_address[1]}/receive"
        alice.create_topic(f"{R}push")
        sub = alice.create_sub(f"{R}push-sub", f"{R}push", push_endpoint=endpoint,
                               retry_policy_period=100, max_messages=1)
        config = sub["pushConfig"]
        assert config["type"] == "http_endpoint" and config["verified"] is False
        _Receiver.verification_hash = config["verificationHash"]
        alice.verifypushendpoint_sub(f"{R}push-sub")
        assert alice.get_sub(f"{R}push-sub")["pushConfig"]["verified"] is True

        alice.publish(f"{R}push", [AmsMessage(data=f"pushed {i}", attributes={"i": str(i)})
                                      for i in range(3)])
        deadline = time.monotonic() + 20
        while len(_Receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = [base64.b64decode(item["message"]["data"]) for item in _Receiver.received]
        assert got == [b"pushed 0", b"pushed 1", b"pushed 2"]
        assert _Receiver.received[0]["subscription"].endswith(f"/subscriptions/{R}push-sub")
        assert _Receiver.authorization[0] == config["authorizationHeader"]["value"]
        alice.delete_sub(f"{R}push-sub")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.emulator_only("x509 login with a client certificate issued by the emulator's CA")
def test_certificate_login(emulator: Emulator) -> None:
    cert, key = emulator.issue_client_cert(emulator.admin_name)
    ams = ArgoMessagingService(emulator.endpoint, project=emulator.project, cert=cert, key=key,
                               authn_port=emulator.authn_port, verify=emulator.ca_path, timeout=10)
    assert ams.token == emulator.admin_token
    assert ams.get_user_profile().name == emulator.admin_name
    stranger_cert, stranger_key = emulator.issue_client_cert("nobody-known")
    with pytest.raises(AmsServiceException) as info:
        ArgoMessagingService(emulator.endpoint, project=emulator.project, cert=stranger_cert,
                             key=stranger_key, authn_port=emulator.authn_port,
                             verify=emulator.ca_path)
    assert info.value.code == 404


def test_push_endpoint_verification_can_fail(people: Dict[str, ArgoMessagingService]) -> None:
    """Runs against a real AMS too: nothing listens at the endpoint, so the check fails."""
    alice = people["project_admin"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    alice.create_topic(f"{R}unverified")
    alice.create_sub(f"{R}unverified-sub", f"{R}unverified",
                     push_endpoint=f"https://127.0.0.1:{port}/receive")
    with pytest.raises(AmsServiceException) as info:
        alice.verifypushendpoint_sub(f"{R}unverified-sub")
    assert info.value.code == 401
    assert info.value.error_message.startswith("Endpoint verification failed")
    assert alice.get_sub(f"{R}unverified-sub")["pushConfig"]["verified"] is False
    alice.delete_sub(f"{R}unverified-sub")
    alice.delete_topic(f"{R}unverified")


def test_zz_every_route_was_reached(ams_target: AmsTarget) -> None:
    """Runs last in this module: the tests above reached every AMS route and authn (against a real
    AMS: every route, since x509 login is tried only with the emulator's certificates)."""
    expected = set(ROUTES) | {AUTHN_ROUTE.name}
    if ams_target.kind != "emulator":
        expected.remove(AUTHN_ROUTE.name)
    assert len(ROUTES) == 64
    assert sorted(expected - REACHED) == []
