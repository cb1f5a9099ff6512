"""Cross-cutting facade behaviour: name validation before any request, caller headers and
requests keywords, and a check that every public facade method has a test."""

from __future__ import annotations

import datetime
import inspect

import pytest

from pymod import AmsArgumentException, AmsMessage, AmsUser, ArgoMessagingService

from . import (
    test_facade_accounts,
    test_facade_service,
    test_facade_subscriptions,
    test_facade_topics,
)
from ._support import (
    ACK_PREFIX,
    BASE,
    EMPTY_PULL,
    HOST,
    JSON_CT,
    TOKEN,
    TOPIC,
    make_client,
    pretty,
)

BAD_NAMES = ["../x", "a/b", "a?b", "", "ü", 123, "a b", "a:b", "a#b", "%2F", "a\nb", "a.b"]
DT = datetime.datetime(2024, 5, 2, 9, 50, 1)

#: (id, call(client, bad), whether "" means "use the default" for this argument)
NAME_CALLS = [
    ("get_topic", lambda c, n: c.get_topic(n), False),
    ("create_topic", lambda c, n: c.create_topic(n), False),
    ("delete_topic", lambda c, n: c.delete_topic(n), False),
    ("has_topic", lambda c, n: c.has_topic(n), False),
    ("topic", lambda c, n: c.topic(n), False),
    ("publish", lambda c, n: c.publish(n, AmsMessage(data="x")), False),
    ("getacl_topic", lambda c, n: c.getacl_topic(n), False),
    ("modifyacl_topic", lambda c, n: c.modifyacl_topic(n, []), False),
    ("getmetrics_topic", lambda c, n: c.getmetrics_topic(n), False),
    ("list_topic_subs", lambda c, n: c.list_topic_subs(n), False),
    ("attachschema_topic-topic", lambda c, n: c.attachschema_topic(n, "reading"), False),
    ("attachschema_topic-schema", lambda c, n: c.attachschema_topic("alerts", n), False),
    ("detachschema_topic", lambda c, n: c.detachschema_topic(n), False),
    ("create_sub-sub", lambda c, n: c.create_sub(n, "alerts"), False),
    ("create_sub-topic", lambda c, n: c.create_sub("alerts-sub", n), False),
    ("get_sub", lambda c, n: c.get_sub(n), False),
    ("delete_sub", lambda c, n: c.delete_sub(n), False),
    ("has_sub", lambda c, n: c.has_sub(n), False),
    ("subscription", lambda c, n: c.subscription(n, "alerts"), False),
    ("pull_sub", lambda c, n: c.pull_sub(n), False),
    ("pullack_sub", lambda c, n: c.pullack_sub(n), False),
    ("ack_sub", lambda c, n: c.ack_sub(n, [ACK_PREFIX + "1"]), False),
    ("getoffsets_sub", lambda c, n: c.getoffsets_sub(n), False),
    ("modifyoffset_sub", lambda c, n: c.modifyoffset_sub(n, 1), False),
    ("time_to_offset_sub", lambda c, n: c.time_to_offset_sub(n, DT), False),
    ("getacl_sub", lambda c, n: c.getacl_sub(n), False),
    ("modifyacl_sub", lambda c, n: c.modifyacl_sub(n, []), False),
    ("modifyackdeadline_sub", lambda c, n: c.modifyackdeadline_sub(n, 10), False),
    ("pushconfig_sub", lambda c, n: c.pushconfig_sub(n), False),
    ("verifypushendpoint_sub", lambda c, n: c.verifypushendpoint_sub(n), False),
    ("getmetrics_sub", lambda c, n: c.getmetrics_sub(n), False),
    ("iter_subs", lambda c, n: list(c.iter_subs(topic=n)), True),
    ("create_user", lambda c, n: c.create_user(AmsUser(name=n)), False),
    ("get_user", lambda c, n: c.get_user(n), False),
    ("get_user_by_token", lambda c, n: c.get_user_by_token(n), False),
    ("get_user_by_uuid", lambda c, n: c.get_user_by_uuid(n), False),
    ("update_user", lambda c, n: c.update_user(n, email="x@example.org"), False),
    ("delete_user", lambda c, n: c.delete_user(n), False),
    ("refresh_user_token", lambda c, n: c.refresh_user_token(n), False),
    ("list_users-project", lambda c, n: c.list_users(project=n), False),
    ("create_project", lambda c, n: c.create_project(n, "d"), False),
    ("get_project", lambda c, n: c.get_project(n), False),
    ("update_project", lambda c, n: c.update_project(n, description="d"), False),
    ("delete_project", lambda c, n: c.delete_project(n), False),
    ("getmetrics_project", lambda c, n: c.getmetrics_project(n), True),
    ("add_project_member-user", lambda c, n: c.add_project_member(n, roles=["consumer"]), False),
    ("add_project_member-project", lambda c, n: c.add_project_member("bob", n), True),
    ("create_project_member", lambda c, n: c.create_project_member(n), False),
    ("get_project_member", lambda c, n: c.get_project_member(n), False),
    ("update_project_member", lambda c, n: c.update_project_member(n, ["consumer"]), False),
    ("remove_project_member-user", lambda c, n: c.remove_project_member(n, "DEMO"), False),
    ("remove_project_member-project", lambda c, n: c.remove_project_member("bob", n), True),
    ("list_project_members", lambda c, n: c.list_project_members(n), True),
    ("get_registration", lambda c, n: c.get_registration(n), False),
    ("accept_registration", lambda c, n: c.accept_registration(n), False),
    ("decline_registration", lambda c, n: c.decline_registration(n), False),
    ("delete_registration", lambda c, n: c.delete_registration(n), False),
    ("create_schema", lambda c, n: c.create_schema(n, "json", {"type": "object"}), False),
    ("get_schema", lambda c, n: c.get_schema(n), False),
    ("update_schema", lambda c, n: c.update_schema(n, schema_type="json"), False),
    ("update_schema-new_name", lambda c, n: c.update_schema("reading", new_name=n), False),
    ("delete_schema", lambda c, n: c.delete_schema(n), False),
    ("validate_schema_message", lambda c, n: c.validate_schema_message(n, {}), False),
]

_NAME_PARAMS = [
    pytest.param(call, bad, id=f"{cid}-{bad!r}")
    for cid, call, empty_is_default in NAME_CALLS
    for bad in BAD_NAMES
    if not (empty_is_default and bad == "")
]


@pytest.mark.parametrize(("call", "bad"), _NAME_PARAMS)
def test_invalid_names_raise_before_any_request(ams, nonet, call, bad):
    with pytest.raises(AmsArgumentException):
        call(ams, bad)
    assert len(nonet.calls) == 0


@pytest.mark.parametrize("bad", [b for b in BAD_NAMES if b != ""])
def test_invalid_default_project_is_refused(nonet, bad):
    with pytest.raises(AmsArgumentException):
        ArgoMessagingService(HOST, token=TOKEN, project=bad)
    assert len(nonet.calls) == 0


@pytest.mark.parametrize(
    "endpoint", ["https://msg.example.org", "msg.example.org/v1", "", "msg example", 443,
                 "msg.example.org:port", "user@msg.example.org"]
)
def test_invalid_endpoint_is_refused(nonet, endpoint):
    with pytest.raises(AmsArgumentException):
        ArgoMessagingService(endpoint, token=TOKEN, project="DEMO")
    assert len(nonet.calls) == 0


# ---- caller headers and requests keywords -----------------------------------------------------
def test_caller_headers_are_sent_and_never_mutated(any_ams, rsps):
    ams = any_ams
    topic_url = BASE + "/projects/DEMO/topics/alerts"
    rsps.get(topic_url, body=pretty(TOPIC), content_type=JSON_CT)
    rsps.post(topic_url + ":publish", body=pretty({"messageIds": ["1"]}), content_type=JSON_CT)
    rsps.post(BASE + "/projects/DEMO/subscriptions/alerts-sub:pull", body=pretty(EMPTY_PULL),
              content_type=JSON_CT)
    rsps.get(topic_url, body=pretty(TOPIC), content_type=JSON_CT)
    headers = {"X-Request-Id": "req-42", "Accept-Language": "el"}
    snapshot = dict(headers)
    ams.get_topic("alerts", headers=headers)
    ams.publish("alerts", AmsMessage(data="x"), retry=1, headers=headers)
    ams.pull_sub("alerts-sub", num=3, headers=headers)
    ams.get_topic("alerts")
    assert headers == snapshot
    for call in rsps.calls[:3]:
        assert call.request.headers["X-Request-Id"] == "req-42"
        assert call.request.headers["Accept-Language"] == "el"
        assert call.request.headers["x-api-key"] == TOKEN
    last = rsps.calls[3].request.headers
    assert "X-Request-Id" not in last  # the client's own headers were not polluted
    assert last["x-api-key"] == TOKEN


REQKWARG_CALLS = [
    ("GET", "/projects/DEMO/topics/alerts", TOPIC, lambda c, kw: c.get_topic("alerts", **kw)),
    ("PUT", "/projects/DEMO/topics/alerts", TOPIC, lambda c, kw: c.create_topic("alerts", **kw)),
    ("DELETE", "/projects/DEMO/topics/alerts", "", lambda c, kw: c.delete_topic("alerts", **kw)),
    ("POST", "/projects/DEMO/topics/alerts:publish", {"messageIds": ["1"]},
     lambda c, kw: c.publish("alerts", AmsMessage(data="x"), retry=2, retrysleep=1, **kw)),
    ("POST", "/projects/DEMO/subscriptions/alerts-sub:pull", EMPTY_PULL,
     lambda c, kw: c.pull_sub("alerts-sub", num=5, **kw)),
    ("POST", "/projects/DEMO/subscriptions/alerts-sub:acknowledge", "{}",
     lambda c, kw: c.ack_sub("alerts-sub", [ACK_PREFIX + "3"], **kw)),
    ("GET", "/users/profile", {"uuid": "u", "name": "alice"},
     lambda c, kw: c.get_user_profile(**kw)),
]


@pytest.mark.parametrize(("method", "path", "reply", "call"), REQKWARG_CALLS,
                         ids=[f"{m} {p}" for m, p, _, _ in REQKWARG_CALLS])
def test_reqkwargs_reach_requests(any_ams, rsps, method, path, reply, call):
    ams = any_ams
    rsps.add(method, BASE + path, body=reply if isinstance(reply, str) else pretty(reply),
             content_type=JSON_CT)
    call(ams, {"timeout": (3.0, 7.0), "verify": "/etc/pki/custom-ca.pem",
               "cert": ("/etc/pki/me.pem", "/etc/pki/me.key")})
    sent = rsps.calls[0].request.req_kwargs
    assert sent["timeout"] == (3.0, 7.0)
    assert sent["verify"] == "/etc/pki/custom-ca.pem"
    assert sent["cert"] == ("/etc/pki/me.pem", "/etc/pki/me.key")


def test_client_defaults_apply_when_no_reqkwargs(rsps):
    client = make_client(timeout=4.5, verify="/etc/pki/ams-ca.pem")
    rsps.get(BASE + "/projects/DEMO/topics/alerts", body=pretty(TOPIC), content_type=JSON_CT)
    client.get_topic("alerts")
    sent = rsps.calls[0].request.req_kwargs
    assert sent["timeout"] == 4.5
    assert sent["verify"] == "/etc/pki/ams-ca.pem"


# ---- every public method of the facade is tested ---------------------------------------------
#: Facade methods whose tests are not rows of a route table, with where they are tested.
TESTED_ELSEWHERE = {
    "from_env": "test_from_env.py::test_from_env_*",
    "iter_topics": "test_facade_topics.py::test_iter_topics_walks_pages",
    "iter_subs": "test_facade_subscriptions.py::test_iter_subs_walks_pages_and_filters_by_topic",
    "iter_users": "test_facade_accounts.py::test_iter_users_walks_pages",
    "iter_project_members": "test_facade_accounts.py::test_iter_project_members_walks_pages",
    "pullack_sub": "test_facade_subscriptions.py::test_pullack_*",
    "get_pullopt": "test_facade_subscriptions.py::test_pullopts_get_set",
    "set_pullopt": "test_facade_subscriptions.py::test_pullopts_get_set",
    "assign_token": "test_transport.py::test_assign_token_*",
    "auth_via_cert": "test_transport.py::test_auth_via_cert_*",
    "close": "test_transport.py::test_*session*",
    "do_get": "test_transport.py::test_do_methods",
    "do_post": "test_transport.py::test_do_methods",
    "do_put": "test_transport.py::test_do_methods",
    "do_delete": "test_transport.py::test_do_methods",
    "url_for": "test_transport.py::test_url_for",
}


def test_every_public_facade_method_is_covered():
    public = {
        name for name, member in inspect.getmembers(ArgoMessagingService)
        if not name.startswith("_") and callable(member)
    }
    in_tables = {
        case.covers
        for module in (test_facade_topics, test_facade_subscriptions, test_facade_accounts,
                       test_facade_service)
        for case in module.CASES
    }
    covered = in_tables | set(TESTED_ELSEWHERE)
    assert public - covered == set(), "facade methods without a test"
    assert covered - public == set(), "tests listed for methods that do not exist"
