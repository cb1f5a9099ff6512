"""Every route, fed wrongly typed 200 replies, raises a typed AmsException (AmsResponseException)
-- never a bare KeyError/TypeError/AttributeError/RecursionError, and never a wrong result
(``list_topic_subs`` turning ``"abc"`` into ``['a', 'b', 'c']``).

The matrix is built from the facade tests' cases (tests/unit/test_facade_*.py: one call and its
valid reply per facade method): each value of each valid reply, at every depth, is replaced by
values of other JSON types; and each route also gets whole replies that are not an object, or
are nested too deeply to decode.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, List, Tuple

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pymod import AmsException, AmsMessage, AmsMessageException
from pymod.amsexceptions import AmsResponseException

from ._support import BASE, JSON_CT, PULL_REPLY, Case, make_client, reply_text
from .test_facade_accounts import CASES as ACCOUNT_CASES
from .test_facade_service import CASES as SERVICE_CASES
from .test_facade_subscriptions import CASES as SUBSCRIPTION_CASES
from .test_facade_topics import CASES as TOPIC_CASES

ALL_CASES: List[Case] = ACCOUNT_CASES + SERVICE_CASES + SUBSCRIPTION_CASES + TOPIC_CASES
#: Publish, pull and ack replies are checked against their request, in their own tests.
_OWN_CHECKS = (":publish", ":pull", ":acknowledge")
#: Free-form documents inside a reply: the key's type is checked, not what is inside.
_FREE_FORM = ("schema",)

#: For a value of each JSON type, values of other types that must be refused in its place.
WRONG = {
    str: [7, ["x"]],
    int: ["7", True],  # (1.5 is a valid value where the sample's int is a number)
    float: ["0.4", [0.4]],
    bool: ["false"],
    list: ["abc", {"a": 1}, 7],
    dict: [["a"], "abc"],
}
#: Whole replies that are not an object, or too deeply nested to decode.
DEEP = '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"
NOT_AN_OBJECT = {"list": "[]", "string": '"abc"', "number": "7", "null": "null",
                 "true": "true", "deep": DEEP}


def _paths(value: Any, path: Tuple[Any, ...] = ()) -> Iterator[Tuple[Tuple[Any, ...], Any]]:
    """(path, value) of every value under ``value`` (the first item of each list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), item
            if key not in _FREE_FORM:
                yield from _paths(item, path + (key,))
    elif isinstance(value, list) and value:
        yield path + (0,), value[0]
        yield from _paths(value[0], path + (0,))


def _replace(value: Any, path: Tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def _valid_reply(case: Case) -> Any:
    """The case's reply as decoded JSON (some cases give it as the raw text AMS sends)."""
    if isinstance(case.reply, str):
        try:
            return json.loads(case.reply)
        except ValueError:
            return None
    return case.reply


def _matrix() -> Iterator[Any]:
    for case in ALL_CASES:
        valid = _valid_reply(case)
        if case.path.endswith(_OWN_CHECKS) or not isinstance(valid, dict):
            continue
        for path, value in _paths(valid):
            for wrong in WRONG.get(type(value), []):
                where = ".".join(str(step) for step in path)
                yield pytest.param(case, _replace(valid, path, wrong),
                                   id=f"{case.id}:{where}={json.dumps(wrong)}")


def _mock_reply(rsps: responses.RequestsMock, case: Case, text: str) -> None:
    """The requests the case makes first (with their valid replies), then ``text`` for its own."""
    for method, path, reply in case.before:
        rsps.add(method, BASE + path[3:], body=reply_text(reply), status=200, content_type=JSON_CT)
    rsps.add(case.method, BASE + case.path[3:], body=text, status=200, content_type=JSON_CT)


MATRIX = list(_matrix())
ROUTES = sorted({(c.method, c.path) for c in ALL_CASES})


def test_the_matrix_covers_every_route_with_a_data_reply():
    routes = {(p.values[0].method, p.values[0].path) for p in MATRIX}
    assert len(routes) >= 40 and len(MATRIX) >= 400, (len(routes), len(MATRIX))


@pytest.mark.parametrize("case, reply", MATRIX)
def test_a_wrongly_typed_value_is_a_typed_error(case: Case, reply: Any) -> None:
    client = make_client()
    with responses.RequestsMock() as rsps:
        _mock_reply(rsps, case, json.dumps(reply))
        with pytest.raises(AmsResponseException) as info:
            case.call(client)
    assert info.value.code == 200 and "malformed" in str(info.value)


@pytest.mark.parametrize("kind", sorted(NOT_AN_OBJECT))
@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.reply != ""], ids=lambda c: c.id)
def test_a_reply_that_is_not_an_object_is_a_typed_error(case: Case, kind: str) -> None:
    client = make_client()
    with responses.RequestsMock() as rsps:
        _mock_reply(rsps, case, NOT_AN_OBJECT[kind])
        with pytest.raises(AmsResponseException) as info:
            case.call(client)
    assert info.value.code == 200


def test_an_integer_field_refuses_a_fraction():
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/projects/DEMO/subscriptions/alerts-sub:offsets",
                 json={"max": 43, "min": 0, "current": 41.5})
        with pytest.raises(AmsResponseException, match="current should be an integer, not float"):
            client.getoffsets_sub("alerts-sub")


def test_list_topic_subs_refuses_a_string():
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/projects/DEMO/topics/alerts/subscriptions",
                 json={"subscriptions": "abc"})
        with pytest.raises(AmsResponseException, match="subscriptions should be a list"):
            client.list_topic_subs("alerts")


def test_the_message_names_the_place_and_types_never_the_value():
    client = make_client()
    secret = "f" * 64
    users = {"users": [{"name": "a"}, {"name": "b", "projects": [{"project": "P",
                                                                 "roles": [secret, 7]}]}]}
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/users", json=users)
        with pytest.raises(AmsResponseException) as info:
            client.list_users()
    text = str(info.value)
    assert "users[1].projects[0].roles[1] should be a string, not int" in text
    assert secret not in text and secret not in info.value.body


def test_null_values_and_missing_keys_are_accepted():
    """AMS leaves out empty fields and sends null for some: not an error."""
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/users/alice", json={"name": "alice", "service_roles": None,
                                              "projects": [{"project": "P", "roles": None}]})
        rsps.get(f"{BASE}/projects/DEMO/topics", json={})
        user = client.get_user("alice")
        assert user.service_roles == [] and user.projects[0].roles == []
        assert client.list_topics()["topics"] == []


def test_an_error_reply_nested_too_deeply_is_a_typed_error():
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/projects/DEMO/topics/alerts", body=DEEP, status=500)
        with pytest.raises(AmsException) as info:
            client.get_topic("alerts")
    assert info.value.code == 500  # type: ignore[attr-defined]


# ---- pulled messages ------------------------------------------------------------------------
@pytest.mark.parametrize("field, wrong", [
    ("data", 7), ("data", ["x"]), ("messageId", 41), ("publishTime", {}),
    ("attributes", "a=b"), ("attributes", {"a": 1}), ("attributes", [["a", "b"]]),
])
def test_a_pulled_message_with_a_wrongly_typed_field_is_a_typed_error(field, wrong):
    reply = json.loads(json.dumps(PULL_REPLY))
    reply["receivedMessages"][1]["message"][field] = wrong
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.post(f"{BASE}/projects/DEMO/subscriptions/alerts-sub:pull", json=reply)
        with pytest.raises(AmsResponseException, match="malformed pulled message"):
            client.pull_sub("alerts-sub", 2, True)


@pytest.mark.parametrize("message", [7, "abc", None, ["x"]])
def test_a_pulled_message_that_is_not_an_object_is_a_typed_error(message):
    reply = {"receivedMessages": [{"ackId": "projects/DEMO/subscriptions/alerts-sub:1",
                                   "message": message}]}
    client = make_client()
    with responses.RequestsMock() as rsps:
        rsps.post(f"{BASE}/projects/DEMO/subscriptions/alerts-sub:pull", json=reply)
        with pytest.raises(AmsResponseException):
            client.pull_sub("alerts-sub", 1, True)


def test_a_pulled_message_of_the_right_types_keeps_them():
    msg = AmsMessage._from_wire({"data": "eA==", "attributes": {"a": "b"}, "messageId": "3",
                                 "publishTime": "2024-05-02T09:50:01Z"})
    assert repr(msg).startswith("AmsMessage(messageId='3'") and msg.get_data() == b"x"
    # no data: get_data() raises, as in argo-ams-library
    with pytest.raises(AmsMessageException, match="no data"):
        AmsMessage._from_wire({"messageId": "4", "attributes": {"a": "b"}}).get_data()
    with pytest.raises(AmsMessageException, match="At least data field"):
        AmsMessage._from_wire({"messageId": "4"}).get_data()


# ---- pagination that never ends --------------------------------------------------------------
PAGED = [
    ("iter_topics", lambda c: c.iter_topics(page_size=1), "/projects/DEMO/topics", "topics",
     {"name": "/projects/DEMO/topics/t"}),
    ("iter_subs", lambda c: c.iter_subs(page_size=1), "/projects/DEMO/subscriptions",
     "subscriptions", {"name": "/projects/DEMO/subscriptions/s",
                       "topic": "/projects/DEMO/topics/t", "ackDeadlineSeconds": 10}),
    ("iter_users", lambda c: c.iter_users(page_size=1), "/users", "users", {"name": "u"}),
    ("iter_project_members", lambda c: c.iter_project_members(page_size=1),
     "/projects/DEMO/members", "users", {"name": "u"}),
]


@pytest.mark.parametrize("tokens", [["same", "same"], ["a", "b", "a"]], ids=["stuck", "cycle"])
@pytest.mark.parametrize("method, call, path, key, item", PAGED, ids=[p[0] for p in PAGED])
def test_pagination_that_does_not_advance_is_a_typed_error(method, call, path, key, item, tokens):
    client = make_client()
    with responses.RequestsMock() as rsps:
        for token in tokens:
            rsps.get(BASE + path, json={key: [item], "nextPageToken": token, "totalSize": 9})
        got = []
        with pytest.raises(AmsResponseException, match="does not advance"):
            for obj in call(client):
                got.append(obj)
        assert len(got) == len(tokens) and len(rsps.calls) == len(tokens)


# ---- fuzz: any JSON in any place of any route's reply --------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8,
)
FUZZ_CASES = [c for c in ALL_CASES if isinstance(_valid_reply(c), dict) and _valid_reply(c)]


def _touch(result: Any) -> None:
    """Use a result as a caller would: show it, walk it, decode pulled payloads."""
    repr(result)
    items = result if isinstance(result, list) else [result]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            repr(part)
            if isinstance(part, AmsMessage):
                with contextlib.suppress(AmsException):
                    part.get_data()


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_value_anywhere_gives_a_result_or_a_typed_error(data: Any) -> None:
    case = data.draw(st.sampled_from(FUZZ_CASES), label="case")
    reply: Any = _valid_reply(case)
    paths = [p for p, _ in _paths(reply)]
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        path = data.draw(st.sampled_from(paths), label="path")
        value = data.draw(json_values, label="value")
        with contextlib.suppress(KeyError, IndexError, TypeError):  # a change removed the place
            reply = _replace(reply, path, value)
    client = make_client()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _mock_reply(rsps, case, json.dumps(reply))
        try:
            result = case.call(client)
        except AmsException:
            return
    _touch(result)


def test_a_wrongly_shaped_reply_to_a_get_is_retried_like_any_unusable_reply():
    """The shape check runs inside each attempt: a GET (safe to repeat) with a malformed reply is
    repeated under ``retry``; a publish-like request is not (see test_replies.py)."""
    client = make_client()
    with responses.RequestsMock() as rsps:
        url = f"{BASE}/projects/DEMO/topics/alerts"
        rsps.get(url, json={"name": 5})
        rsps.get(url, json={"name": "/projects/DEMO/topics/alerts"})
        topic = client.get_topic("alerts", retry=1, retrysleep=0)
        assert topic["name"] == "/projects/DEMO/topics/alerts" and len(rsps.calls) == 2
