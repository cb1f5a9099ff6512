"""Every HTTP mocking library that test suites of argo-ams-library use sees every pymod request.

httmock and requests-mock replace ``requests.Session.send``, responses patches
``HTTPAdapter.send``, and ``unittest.mock.patch`` may replace ``Session.request``/``send``,
``HTTPAdapter.send`` or ``requests.post``. In each case the client must go through ``requests``
(not its direct urllib3 path) so that the mock answers; the endpoint is ``mock_host`` as in the
Nagios probe's tests, so a request that escaped the mock would fail to resolve.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterator, List
from unittest import mock

import httmock
import pytest
import requests
import requests.adapters
import requests_mock
import responses

from pymod import ArgoMessagingService
from pymod.bypass import may_bypass_requests

URL = "https://mock_host/v1/projects/TEST/topics/t1:publish"
REPLY = {"messageIds": ["7"]}


def _client() -> ArgoMessagingService:
    return ArgoMessagingService(endpoint="mock_host", token="s3cret", project="TEST")


def _check(ams: ArgoMessagingService, seen: List[Dict[str, Any]]) -> None:
    assert ams.publish("t1", {"data": "aGk=", "attributes": {"k": "v"}}) == REPLY
    assert len(seen) == 1
    assert seen[0]["url"] == URL
    assert seen[0]["method"] == "POST"
    assert seen[0]["x-api-key"] == "s3cret"
    assert json.loads(seen[0]["body"]) == {"messages": [{"attributes": {"k": "v"}, "data": "aGk="}]}
    assert ams._targets == {}  # the direct path was never taken


def _record(seen: List[Dict[str, Any]], request: Any) -> None:
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    seen.append({"url": request.url, "method": request.method,
                 "x-api-key": request.headers.get("x-api-key"), "body": body})


def _fake_response(request: Any) -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    resp._content = json.dumps(REPLY).encode()
    resp.request = request
    resp.url = request.url
    return resp


def test_httmock() -> None:
    seen: List[Dict[str, Any]] = []

    @httmock.urlmatch(netloc="mock_host", path="/v1/projects/TEST/topics/t1:publish")
    def handler(url: Any, request: Any) -> Dict[str, Any]:
        _record(seen, request)
        return {"status_code": 200, "content": REPLY}

    with httmock.HTTMock(handler):
        _check(_client(), seen)


@responses.activate
def test_responses() -> None:
    seen: List[Dict[str, Any]] = []

    def callback(request: Any) -> Any:
        _record(seen, request)
        return 200, {}, json.dumps(REPLY)

    responses.add_callback(responses.POST, URL, callback=callback)
    _check(_client(), seen)


def test_requests_mock() -> None:
    seen: List[Dict[str, Any]] = []
    with requests_mock.Mocker() as m:
        m.post(URL, json=REPLY)
        ams = _client()
        assert ams.publish("t1", {"data": "aGk=", "attributes": {"k": "v"}}) == REPLY
        for req in m.request_history:
            _record(seen, req)
    assert len(seen) == 1 and seen[0]["x-api-key"] == "s3cret" and seen[0]["url"] == URL
    assert json.loads(seen[0]["body"])["messages"][0]["data"] == "aGk="


def _patched_send(seen: List[Dict[str, Any]]) -> Callable[..., requests.Response]:
    def send(self: Any, request: Any, **kwargs: Any) -> requests.Response:
        _record(seen, request)
        return _fake_response(request)

    return send


@pytest.mark.parametrize("target", ["requests.Session.send", "requests.adapters.HTTPAdapter.send"])
def test_mock_patch_of_send(target: str) -> None:
    seen: List[Dict[str, Any]] = []
    with mock.patch(target, _patched_send(seen)):
        _check(_client(), seen)


def test_mock_patch_of_session_request() -> None:
    seen: List[Dict[str, Any]] = []

    def request(self: Any, method: str, url: str, data: Any = None, headers: Any = None,
                **kwargs: Any) -> requests.Response:
        prepared = requests.Request(method, url, data=data, headers=headers).prepare()
        _record(seen, prepared)
        return _fake_response(prepared)

    with mock.patch("requests.Session.request", request):
        _check(_client(), seen)


def test_mock_patch_of_requests_post_as_the_original_was_tested() -> None:
    reply = mock.Mock(status_code=200, content=json.dumps(REPLY).encode())
    with mock.patch("requests.post", return_value=reply) as post:
        ams = _client()
        assert ams.publish("t1", {"data": "aGk="}) == REPLY
    assert post.call_count == 1
    args, kwargs = post.call_args
    assert args == (URL,)
    assert kwargs["headers"]["x-api-key"] == "s3cret"
    assert json.loads(kwargs["data"]) == {"messages": [{"data": "aGk="}]}


def test_patch_on_the_instance_is_seen_too() -> None:
    seen: List[Dict[str, Any]] = []
    ams = _client()
    adapter = ams._session.get_adapter(URL)
    with mock.patch.object(adapter, "send", lambda request, **kw: (_record(seen, request),
                                                                   _fake_response(request))[1]):
        _check(ams, seen)


@pytest.fixture
def plain_client() -> Iterator[ArgoMessagingService]:
    ams = _client()
    yield ams
    ams.close()


def test_nothing_mocked_means_the_direct_path(plain_client: ArgoMessagingService) -> None:
    session = plain_client._session
    assert may_bypass_requests(session, session.get_adapter(URL), type(session))


@pytest.mark.parametrize("target", [
    "requests.Session.send", "requests.Session.request", "requests.Session.get_adapter",
    "requests.adapters.HTTPAdapter.send", "requests.get", "requests.post",
])
def test_any_patch_turns_the_direct_path_off(plain_client: ArgoMessagingService, target: str) -> None:
    session = plain_client._session
    adapter = session.get_adapter(URL)
    with mock.patch(target):
        assert not may_bypass_requests(session, adapter, type(session))
    assert may_bypass_requests(session, adapter, type(session))


def test_foreign_adapter_or_session_class_is_not_bypassed(plain_client: ArgoMessagingService) -> None:
    session = plain_client._session

    class Adapter(requests.adapters.HTTPAdapter):
        pass

    assert not may_bypass_requests(session, Adapter(), type(session))
    assert not may_bypass_requests(requests.Session(), session.get_adapter(URL), type(session))


def test_direct_path_is_taken_against_a_real_server_when_nothing_is_mocked() -> None:
    from pymod.emulator import Emulator

    with Emulator() as emu, ArgoMessagingService(
        emu.endpoint, token=emu.admin_token, project=emu.project, verify=emu.ca_path
    ) as ams:
        ams.create_topic("direct-t")
        assert ams.publish("direct-t", {"data": "aGk="})["messageIds"]
        assert ams._targets, "the request went through session.request, not the direct path"
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_passthru("https://")
            ams._targets.clear()
            ams.get_topic("direct-t")
            assert ams._targets == {}  # responses active: through requests, and passed through


@pytest.mark.parametrize("name", ["send", "request", "get_adapter"])
def test_patch_on_the_clients_session_class_turns_the_direct_path_off(
    plain_client: ArgoMessagingService, name: str
) -> None:
    session = plain_client._session
    adapter = session.get_adapter(URL)
    with mock.patch.object(type(session), name, create=True):
        assert not may_bypass_requests(session, adapter, type(session))
    assert may_bypass_requests(session, adapter, type(session))


def test_patches_through_the_alias_module_as_tests_of_the_original_write_them() -> None:
    import argo_ams_library

    reply = mock.Mock(status_code=200, content=json.dumps(REPLY).encode())
    with mock.patch("argo_ams_library.ams.requests.post", return_value=reply) as post, \
            mock.patch("argo_ams_library.ams.time.sleep") as sleep:
        post.side_effect = [requests.exceptions.ConnectionError("down"), reply]
        ams = argo_ams_library.ArgoMessagingService(endpoint="mock_host", token="t", project="TEST")
        assert ams.publish("t1", {"data": "aGk="}, retry=1, retrysleep=3) == REPLY
    assert post.call_count == 2
    sleep.assert_called_once()
    assert 0.75 * 3 <= sleep.call_args[0][0] <= 3
