"""The public API promised to existing users (seeds/pymod-api.txt) exists with the exact
signatures, and the ``argo_ams_library`` alias resolves to the same objects.

The seed listing is parsed when it is available; the same entries are also hard-coded below (the
seed is the contract), so the test runs and fails on a renamed parameter or a changed default
even without the file.
"""

from __future__ import annotations

import ast
import collections.abc
import importlib
import inspect
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import requests

import pymod
from pymod import (
    AmsBalancerException,
    AmsConnectionException,
    AmsException,
    AmsMessageException,
    AmsServiceException,
    AmsTimeoutException,
)

SEED_FILE = Path("/work/shared/seeds/pymod-api.txt")

#: (module, class, method or None for the constructor, seed parameter list)
SEED: List[Tuple[str, str, Optional[str], str]] = [
    ("pymod.ams", "AmsHttpRequests", None, "endpoint, authn_port, token='', cert='', key=''"),
    ("pymod.ams", "AmsHttpRequests", "assign_token", "token, cert, key"),
    ("pymod.ams", "AmsHttpRequests", "auth_via_cert", "cert, key, **reqkwargs"),
    ("pymod.ams", "AmsHttpRequests", "do_delete",
     "url, route_name, retry=0, retrysleep=60, retrybackoff=None, **reqkwargs"),
    ("pymod.ams", "AmsHttpRequests", "do_get", "url, route_name, **reqkwargs"),
    ("pymod.ams", "AmsHttpRequests", "do_post",
     "url, body, route_name, retry=0, retrysleep=60, retrybackoff=None, **reqkwargs"),
    ("pymod.ams", "AmsHttpRequests", "do_put", "url, body, route_name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", None,
     "endpoint, token='', project='', cert='', key='', authn_port=8443"),
    ("pymod.ams", "ArgoMessagingService", "ack_sub", "sub, ids, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "add_project_member",
     "username, project=None, roles=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "create_project", "name, description, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "create_project_member",
     "username, project=None, roles=None, email=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "create_sub",
     "sub, topic, ackdeadline=10, push_endpoint=None, retry_policy_type='linear', "
     "retry_policy_period=300, retobj=False, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "create_topic", "topic, retobj=False, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "create_user", "user, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "delete_project", "name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "delete_sub", "sub, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "delete_topic", "topic, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "delete_user", "name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_project", "name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_project_member",
     "username, project=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_pullopt", "key"),
    ("pymod.ams", "ArgoMessagingService", "get_sub", "sub, retobj=False, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_topic", "topic, retobj=False, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_user", "name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_user_by_token", "token, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_user_by_uuid", "uuid, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "get_user_profile", "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "getacl_sub", "sub, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "getacl_topic", "topic, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "getoffsets_sub", "sub, offset='all', **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "has_sub", "sub, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "has_topic", "topic, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "iter_subs", "topic=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "list_subs", "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "list_topics", "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "list_users",
     "details=True, page_size=0, next_page_token='', **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "metrics", "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "modifyacl_sub", "sub, users, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "modifyacl_topic", "topic, users, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "modifyoffset_sub", "sub, move_to, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "publish",
     "topic, msg, retry=0, retrysleep=60, retrybackoff=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "pull_sub",
     "sub, num=1, return_immediately=False, retry=0, retrysleep=60, retrybackoff=None, "
     "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "pullack_sub",
     "sub, num=1, return_immediately=False, retry=0, retrysleep=60, retrybackoff=None, "
     "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "pushconfig_sub",
     "sub, push_endpoint=None, retry_policy_type='linear', retry_policy_period=300, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "refresh_user_token", "name, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "remove_project_member",
     "username, project, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "set_pullopt", "key, value"),
    ("pymod.ams", "ArgoMessagingService", "status", "**reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "time_to_offset_sub", "sub, timestamp, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "topic", "topic, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "update_project",
     "name, description='', updated_name='', **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "update_user",
     "name, first_name='', last_name='', description='', organization='', username='', "
     "email='', service_roles=None, projects=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "usage_report",
     "projects=None, start_date=None, end_date=None, **reqkwargs"),
    ("pymod.ams", "ArgoMessagingService", "va_metrics",
     "projects=None, start_date=None, end_date=None, **reqkwargs"),
    ("pymod.amsexceptions", "AmsBalancerException", None, "json, request"),
    ("pymod.amsexceptions", "AmsConnectionException", None, "exp, request"),
    ("pymod.amsexceptions", "AmsException", None, "*args, **kwargs"),
    ("pymod.amsexceptions", "AmsMessageException", None, "msg"),
    ("pymod.amsexceptions", "AmsServiceException", None, "json, request"),
    ("pymod.amsexceptions", "AmsTimeoutException", None, "json, request"),
    ("pymod.amsmsg", "AmsMessage", None,
     "b64enc=True, attributes='', data=None, messageId='', publishTime=''"),
    ("pymod.amsmsg", "AmsMessage", "set_attr", "key, value"),
    ("pymod.amsmsg", "AmsMessage", "set_data", "data, b64enc=True"),
    ("pymod.amssubscription", "AmsSubscription", None,
     "fullname, topic, pushconfig, ackdeadline, init"),
    ("pymod.amssubscription", "AmsSubscription", "ack",
     "ids, retry=0, retrysleep=60, retrybackoff=None, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "acl", "users=None, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "offsets",
     "offset='all', move_to=0, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "pull",
     "num=1, retry=0, retrysleep=60, retrybackoff=None, return_immediately=False, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "pullack",
     "num=1, retry=0, retrysleep=60, retrybackoff=None, return_immediately=False, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "pushconfig",
     "push_endpoint=None, retry_policy_type='linear', retry_policy_period=300, **reqkwargs"),
    ("pymod.amssubscription", "AmsSubscription", "time_to_offset", "timestamp, **reqkwargs"),
    ("pymod.amstopic", "AmsTopic", None, "fullname, init"),
    ("pymod.amstopic", "AmsTopic", "acl", "users=None, **reqkwargs"),
    ("pymod.amstopic", "AmsTopic", "iter_subs", ""),
    ("pymod.amstopic", "AmsTopic", "publish",
     "msg, retry=0, retrysleep=60, retrybackoff=None, **reqkwargs"),
    ("pymod.amstopic", "AmsTopic", "subscription", "sub, ackdeadline=10, **reqkwargs"),
]

_SIG_LINE = re.compile(r"^\((.*)\)\[source\]")


def parse_seed(text: str) -> List[Tuple[str, str, Optional[str], str]]:
    """Entries of the Sphinx text dump: ``class``/``exception`` blocks and their methods."""
    lines = text.splitlines()
    entries = []
    current = None
    for i, line in enumerate(lines):
        match = _SIG_LINE.match(line)
        if not match:
            continue
        name = lines[i - 1].strip()
        if i >= 3 and lines[i - 3].strip() in ("class", "exception"):
            current = (lines[i - 2].strip().rstrip("."), name)
            entries.append((current[0], current[1], None, match.group(1)))
        elif name != "__init__":
            assert current is not None
            entries.append((current[0], current[1], name, match.group(1)))
    return entries


@pytest.mark.skipif(not SEED_FILE.exists(), reason="seed listing not available")
def test_hard_coded_list_matches_the_seed_file():
    assert sorted(parse_seed(SEED_FILE.read_text(encoding="utf-8")), key=str) == sorted(SEED, key=str)


class SeedParam:
    def __init__(self, name: str, kind: str, default: object = inspect.Parameter.empty):
        self.name, self.kind, self.default = name, kind, default


def seed_params(params: str) -> List[SeedParam]:
    args = ast.parse(f"def f({params}): pass").body[0].args  # type: ignore[attr-defined]
    out = []
    positional = args.args
    defaults: Dict[str, object] = {
        a.arg: ast.literal_eval(d)
        for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults)
    }
    for a in positional:
        out.append(SeedParam(a.arg, "positional", defaults.get(a.arg, inspect.Parameter.empty)))
    if args.vararg:
        out.append(SeedParam(args.vararg.arg, "varargs"))
    if args.kwarg:
        out.append(SeedParam(args.kwarg.arg, "varkw"))
    return out


P = inspect.Parameter


def check_signature(func, params: str) -> None:
    """Assert that ``func`` accepts every call the seed parameter list ``params`` accepts."""
    actual = list(inspect.signature(func).parameters.values())
    assert actual and actual[0].name == "self", f"{func} must be a method"
    actual = actual[1:]
    positional = [p for p in actual if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    expected = seed_params(params)
    exp_positional = [p for p in expected if p.kind == "positional"]
    # every seed parameter keeps its name, position and default
    assert [p.name for p in positional[: len(exp_positional)]] == [p.name for p in exp_positional]
    for exp, act in zip(exp_positional, positional):
        assert act.kind == P.POSITIONAL_OR_KEYWORD, f"{exp.name} must be passable by keyword"
        if exp.default is P.empty:
            assert act.default is P.empty, f"{exp.name} must stay required"
        else:
            assert act.default is not P.empty, f"{exp.name} lost its default"
            assert type(act.default) is type(exp.default) and act.default == exp.default, (
                f"default of {exp.name}: {act.default!r} != {exp.default!r}")
    # additions are optional only, so that every existing call still works
    for extra in positional[len(exp_positional):]:
        assert extra.default is not P.empty, f"new parameter {extra.name} must have a default"
    for extra in actual:
        if extra.kind == P.KEYWORD_ONLY:
            assert extra.default is not P.empty, f"new keyword {extra.name} must have a default"
    if any(p.kind == "varkw" for p in expected):
        assert any(p.kind == P.VAR_KEYWORD for p in actual), "**reqkwargs was removed"
    if any(p.kind == "varargs" for p in expected):
        assert any(p.kind == P.VAR_POSITIONAL for p in actual), "*args was removed"


@pytest.mark.parametrize(("module", "cls", "method", "params"), SEED,
                         ids=[f"{c}.{m or '__init__'}" for _, c, m, _ in SEED])
def test_seed_signature(module, cls, method, params):
    klass = getattr(importlib.import_module(module), cls)
    func = klass.__init__ if method is None else getattr(klass, method, None)
    assert callable(func), f"{cls}.{method} is missing"
    if cls == "AmsException":
        # The seed's (*args, **kwargs) is Exception's own constructor, which has no
        # introspectable signature; positional arguments must keep working.
        assert klass("a", 1).args == ("a", 1)
        return
    check_signature(func, params)


def test_signature_checker_catches_changes():
    """The checker itself: a renamed, removed or re-defaulted parameter must fail."""
    spec = "topic, retobj=False, **reqkwargs"

    class Broken:
        def renamed(self, name, retobj=False, **reqkwargs): ...
        def changed_default(self, topic, retobj=None, **reqkwargs): ...
        def now_required(self, topic, retobj, **reqkwargs): ...
        def reordered(self, retobj=False, topic=None, **reqkwargs): ...
        def no_reqkwargs(self, topic, retobj=False): ...
        def required_extra(self, topic, retobj=False, extra=None, *, must, **reqkwargs): ...
        def keyword_only(self, topic, *, retobj=False, **reqkwargs): ...

    class Fine:
        def get_topic(self, topic, retobj=False, extra=1, *, more=None, **reqkwargs): ...

    for name in ("renamed", "changed_default", "now_required", "reordered", "no_reqkwargs",
                 "required_extra", "keyword_only"):
        with pytest.raises(AssertionError):
            check_signature(getattr(Broken, name), spec)
    check_signature(Fine.get_topic, spec)


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (AmsBalancerException, AmsServiceException),
        (AmsConnectionException, AmsException),
        (AmsException, Exception),
        (AmsMessageException, AmsException),
        (AmsServiceException, AmsException),
        (AmsTimeoutException, AmsServiceException),
        (pymod.AmsMessage, collections.abc.Callable),
    ],
)
def test_seed_bases(cls, base):
    assert issubclass(cls, base)


# ---- exception constructors with the seed's positional arguments ----------------------------
ENVELOPE = {"error": {"code": 404, "message": "Topic doesn't exist", "status": "NOT_FOUND"}}


@pytest.mark.parametrize("cls", [AmsServiceException, AmsBalancerException, AmsTimeoutException])
def test_service_exception_constructor(cls):
    exc = cls(ENVELOPE, "topic_get")
    assert exc.code == 404
    assert exc.status == "NOT_FOUND"
    assert exc.msg == "While trying the [topic_get]: Topic doesn't exist"
    assert isinstance(exc, AmsException)
    with pytest.raises(cls):
        raise exc


def test_service_exception_with_minimal_envelope():
    exc = AmsServiceException({"error": {"message": "boom"}}, "sub_pull")
    assert exc.code == 500 and exc.status == "" and "boom" in exc.msg
    exc = AmsServiceException(json={"error": {"code": 409, "message": "exists"}}, request="x")
    assert exc.code == 409


def test_connection_exception_constructor():
    cause = requests.exceptions.ConnectionError("Connection refused")
    exc = AmsConnectionException(cause, "topic_publish")
    assert exc.exp is cause
    assert "topic_publish" in exc.msg and "Connection refused" in exc.msg
    assert isinstance(exc, AmsException)


def test_message_exception_constructor():
    exc = AmsMessageException("b64encode() failed")
    assert exc.msg == "b64encode() failed"
    assert str(exc) == "b64encode() failed"


# ---- argo_ams_library alias -------------------------------------------------------------------
def test_argo_ams_library_top_level_names():
    from argo_ams_library import (
        AmsBalancerException as AliasBalancer,
    )
    from argo_ams_library import (
        AmsConnectionException,
        AmsMessage,
        AmsServiceException,
        AmsSubscription,
        AmsTopic,
        ArgoMessagingService,
    )
    from argo_ams_library import AmsException as AliasException
    from argo_ams_library import AmsMessageException as AliasMessageException
    from argo_ams_library import AmsTimeoutException as AliasTimeout

    assert ArgoMessagingService is pymod.ArgoMessagingService
    assert AmsMessage is pymod.AmsMessage
    assert AmsServiceException is pymod.AmsServiceException
    assert AmsConnectionException is pymod.AmsConnectionException
    assert AmsTopic is pymod.AmsTopic and AmsSubscription is pymod.AmsSubscription
    assert AliasBalancer is AmsBalancerException
    assert AliasException is AmsException
    assert AliasMessageException is AmsMessageException
    assert AliasTimeout is AmsTimeoutException


@pytest.mark.parametrize("sub", ["ams", "amsexceptions", "amsmsg", "amssubscription", "amstopic",
                                 "amsuser"])
def test_argo_ams_library_submodules(sub):
    alias = importlib.import_module(f"argo_ams_library.{sub}")
    assert alias is importlib.import_module(f"pymod.{sub}")


def test_argo_ams_library_submodule_names():
    from argo_ams_library.ams import AmsHttpRequests, ArgoMessagingService
    from argo_ams_library.amsexceptions import AmsServiceException
    from argo_ams_library.amsmsg import AmsMessage

    assert ArgoMessagingService is pymod.ArgoMessagingService
    assert AmsHttpRequests is pymod.AmsHttpRequests
    assert AmsServiceException is pymod.AmsServiceException
    assert AmsMessage is pymod.AmsMessage


def test_pymod_public_names():
    for name in pymod.__all__:
        assert hasattr(pymod, name), name
    import argo_ams_library

    assert set(pymod.__all__) <= set(argo_ams_library.__all__)
    assert argo_ams_library.__version__ == pymod.__version__
