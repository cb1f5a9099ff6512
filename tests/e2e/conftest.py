"""Fixtures for end-to-end tests: the client against an AMS over real HTTPS.

By default the tests run against the embedded emulator (one per session, in memory, HTTPS on
loopback). They can run against a real AMS instead, given by pytest options or, for each option
not given, the environment variable beside it:

``--ams-endpoint HOST[:PORT]`` (``AMS_E2E_ENDPOINT``)
    the AMS to test against; giving it switches the suite to that server.
``--ams-token TOKEN`` (``AMS_E2E_TOKEN``)
    a token of that server; tests that create users or projects need a ``service_admin`` one.
``--ams-project PROJECT`` (``AMS_E2E_PROJECT``)
    the project the tests create their topics, subscriptions and schemas in.
``--ams-ca CA_FILE`` (``AMS_E2E_CA``)
    the CA bundle to verify the server with (default: the bundle ``requests`` uses).
``--ams-oracle`` (``AMS_E2E_ORACLE=1``)
    start the real argo-messaging server built from ``../shared/ams-oracle`` (see
    ``tests/oracle.py``) over HTTPS with a fresh trustme CA, and run against it (project ``ARGO``,
    its service_admin token). When it cannot be built here, every test is skipped with the reason.

The token should be a ``service_admin``'s; with another one (a ``project_admin``'s, say), the
tests marked ``service_admin`` (they create users or projects) are skipped. Against a real AMS
(the oracle included), tests marked ``emulator_only`` (fault injection,
restarts, kill -9, certificate login through the emulator's CA, push delivery to a local
receiver, starting their own emulator) are skipped with their reason, and so is any test that
asks for the ``emulator`` fixture; tests that run there use the ``ams_target`` fixture for the
endpoint, token, project and CA. Tests marked ``xfail_on_emulator(reason)`` assert the real
server's answer where the emulator still differs; they are expected to fail against the emulator
only (not strictly: XPASS once it is fixed). Every name the tests create starts with
``e2e-<run id>-`` (or ``routes-<run id>-``), so runs on a shared server do not collide, and the
``names`` fixture deletes its topics, subscriptions and user afterwards.
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import pytest
import requests

from pymod import AmsException, AmsServiceException, ArgoMessagingService, RetryPolicy
from pymod.emulator import Emulator

#: Unique per test session, in every name the tests create.
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()

_OPTIONS = (  # (option, environment variable, help)
    ("--ams-endpoint", "AMS_E2E_ENDPOINT", "HOST[:PORT] of a real AMS to run the e2e tests against"),
    ("--ams-token", "AMS_E2E_TOKEN", "token for --ams-endpoint (service_admin for every test)"),
    ("--ams-project", "AMS_E2E_PROJECT", "project of --ams-endpoint to create test resources in"),
    ("--ams-ca", "AMS_E2E_CA", "CA bundle to verify --ams-endpoint with"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ams-e2e", "pymod end-to-end tests against a real AMS")
    for option, env, help_text in _OPTIONS:
        group.addoption(option, default=os.environ.get(env), help=f"{help_text} (${env})")
    group.addoption("--ams-oracle", action="store_true",
                    default=os.environ.get("AMS_E2E_ORACLE", "") not in ("", "0"),
                    help="run the e2e tests against the real AMS of ../shared/ams-oracle "
                         "($AMS_E2E_ORACLE=1)")


def _mode(config: pytest.Config) -> str:
    if config.getoption("--ams-oracle"):
        return "oracle"
    return "real" if config.getoption("--ams-endpoint") else "emulator"


def _oracle_module() -> Any:
    tests_dir = str(Path(__file__).resolve().parents[1])
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import oracle  # tests/oracle.py

    return oracle


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = _mode(config)
    if mode == "emulator":
        for item in items:
            marker = item.get_closest_marker("xfail_on_emulator")
            if marker is not None:
                # not strict: the emulator is being brought in line; an XPASS says so
                item.add_marker(pytest.mark.xfail(strict=False, reason="emulator differs from the "
                                                  f"real AMS: {marker.args[0]}"))
        return
    if mode == "real":
        missing = [o for o in ("--ams-token", "--ams-project") if not config.getoption(o)]
        if missing:
            raise pytest.UsageError(f"--ams-endpoint needs {' and '.join(missing)} too")
    unavailable = _oracle_module().oracle_unavailable() if mode == "oracle" else None
    service_admin = mode == "oracle" or _service_admin_token(config)
    here = Path(__file__).resolve().parent
    for item in items:
        if here not in Path(str(item.fspath)).resolve().parents:
            continue
        if unavailable:
            item.add_marker(pytest.mark.skip(reason=f"--ams-oracle: {unavailable}"))
            continue
        marker = item.get_closest_marker("emulator_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"emulator only: {reason}"))
        marker = item.get_closest_marker("service_admin")
        if marker is not None and not service_admin:
            reason = marker.args[0] if marker.args else ""
            item.add_marker(pytest.mark.skip(reason=f"needs a service_admin token: {reason}"))


def _service_admin_token(config: pytest.Config) -> bool:
    """Whether ``--ams-token`` is a service_admin's (asked at collection, before any fixture)."""
    endpoint = config.getoption("--ams-endpoint")
    try:
        with ArgoMessagingService(endpoint, token=config.getoption("--ams-token"),
                                  project=config.getoption("--ams-project"),
                                  verify=config.getoption("--ams-ca") or True) as client:
            return "service_admin" in (client.get_user_profile().service_roles or [])
    except AmsException as exc:  # never holds the token
        raise pytest.UsageError(f"--ams-endpoint {endpoint}: {exc}") from None


@dataclass
class AmsTarget:
    """The AMS the e2e tests run against: the emulator, the oracle or a real deployment.

    The attribute names are the emulator's, so ``ams_target`` stands in for ``emulator`` wherever a
    test only needs to reach the server.
    """

    kind: str  #: "emulator", "oracle" or "real"
    endpoint: str
    admin_token: str
    project: str
    ca_path: str
    admin_name: str
    emulator: Optional[Emulator] = None
    service_admin: bool = True  #: whether the token has the service_admin role

    def _whoami(self) -> AmsTarget:
        with self.client() as client:
            profile = client.get_user_profile()
        self.admin_name = profile.name
        self.service_admin = "service_admin" in (profile.service_roles or [])
        return self

    def client(self, token: Optional[str] = None, **kwargs: Any) -> ArgoMessagingService:
        """A client of the target's project (``token``: the admin token by default)."""
        kwargs.setdefault("project", self.project)
        return ArgoMessagingService(self.endpoint, token=token or self.admin_token,
                                    verify=self.ca_path, **kwargs)


@pytest.fixture(scope="session")
def _session_emulator(request: pytest.FixtureRequest) -> Iterator[Optional[Emulator]]:
    if _mode(request.config) != "emulator":
        yield None
        return
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="session")
def ams_target(request: pytest.FixtureRequest,
               _session_emulator: Optional[Emulator]) -> Iterator[AmsTarget]:
    """The AMS under test, with a service_admin token (see the module docstring)."""
    config = request.config
    mode = _mode(config)
    if _session_emulator is not None:
        emu = _session_emulator
        yield AmsTarget("emulator", emu.endpoint, emu.admin_token, emu.project, emu.ca_path,
                        emu.admin_name, emu)
        return
    if mode == "oracle":
        with _oracle_module().start_oracle() as running:
            yield AmsTarget("oracle", running.endpoint, running.admin_token, "ARGO",
                            running.ca_path, "")._whoami()
        return
    yield AmsTarget("real", config.getoption("--ams-endpoint"), config.getoption("--ams-token"),
                    config.getoption("--ams-project"),
                    config.getoption("--ams-ca") or requests.utils.DEFAULT_CA_BUNDLE_PATH,
                    "")._whoami()


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest,
             _session_emulator: Optional[Emulator]) -> Emulator:
    """The session's embedded emulator; against a real AMS the test is skipped."""
    if _session_emulator is None:
        pytest.skip("needs the embedded emulator (uses the emulator fixture)")
    return _session_emulator


@pytest.fixture(scope="session")
def purge(ams_target: AmsTarget) -> Callable[..., None]:
    """``purge(prefix, users=..., everyone=False)``: delete what the tests made under ``prefix``.

    Deletes the target project's subscriptions, topics and schemas whose names start with
    ``prefix``, and the given ``users`` (a service_admin token deletes them, another one takes them
    out of the project); with ``everyone=True`` (service_admin only) also every user and project
    whose name starts with ``prefix``. What is gone already is fine.
    """

    def run(prefix: str, users: Iterable[str] = (), everyone: bool = False) -> None:
        with ams_target.client() as admin:
            for sub in admin.iter_subs():
                if sub.name.startswith(prefix):
                    _gone(admin.delete_sub, sub.name)
            for topic in admin.iter_topics():
                if topic.name.startswith(prefix):
                    _gone(admin.delete_topic, topic.name)
            for schema in admin.list_schemas():
                name = schema["name"].rsplit("/", 1)[-1]
                if name.startswith(prefix):
                    _gone(admin.delete_schema, name)
            names = set(users)
            if everyone and ams_target.service_admin:
                names |= {u.name for u in admin.iter_users(details=False) if u.name.startswith(prefix)}
                for project in admin.list_projects():
                    if project["name"].startswith(prefix):
                        _gone(admin.delete_project, project["name"])
            for user in sorted(names):
                if ams_target.service_admin:
                    _gone(admin.delete_user, user)
                else:
                    _gone(lambda u: admin.remove_project_member(u, ams_target.project), user)

    return run


@pytest.fixture
def names(purge: Callable[..., None]) -> Iterator[dict[str, str]]:
    """Fresh topic, subscription and user names, unique within the run; deleted afterwards.

    Names a test derives from these (``names["topic"] + "-2"``) are deleted too.
    """
    prefix = f"e2e-{RUN_ID}-{next(_counter)}-"
    yield {"topic": f"{prefix}topic", "sub": f"{prefix}sub", "user": f"{prefix}user"}
    purge(prefix, users=[f"{prefix}user"])


def _gone(delete: Callable[[str], Any], name: str) -> None:
    """Delete, and accept that it is not there (any more)."""
    try:
        delete(name)
    except AmsServiceException as exc:
        if exc.code != 404:
            raise


@pytest.fixture
def ams(ams_target: AmsTarget) -> Iterator[ArgoMessagingService]:
    """A service_admin client of the target's project (sleeps are recorded, not slept)."""
    sleeps: list[float] = []
    client = ams_target.client(retry_policy=RetryPolicy(jitter=0, sleep=sleeps.append))
    client.recorded_sleeps = sleeps  # type: ignore[attr-defined]
    with client:
        yield client
