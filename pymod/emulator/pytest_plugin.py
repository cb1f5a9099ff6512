"""pytest plugin: a test kit to test your own AMS code against a real local AMS.

Installing ``pymod-ams[emulator]`` registers this plugin (entry point ``pytest11``), which
provides these fixtures:

``ams_emulator`` (session scope)
    A started :class:`pymod.emulator.Emulator` with an in-memory store, shared by the whole
    test session and stopped at its end. Useful attributes: ``endpoint``
    (``"127.0.0.1:PORT"``), ``url``, ``ca_path`` (pass as ``verify=``), ``admin_token``,
    ``project`` (``DEMO``), ``authn_port``; ``env()`` (the ``AMS_*`` variables);
    ``faults(...)``, a context manager injecting faults for a block; ``fault_counts()``,
    ``issue_client_cert(cn)``, ``call(func, ...)`` (run a function on the server thread).

``ams_project`` (function scope)
    The name of a fresh project, created for the test and deleted (with everything in it)
    after it. Tests sharing the session's emulator do not see each other's topics.

``ams_client`` (function scope)
    An :class:`~pymod.ams.ArgoMessagingService` bound to ``ams_project``, as the admin user;
    closed after the test.

``ams_topic`` / ``ams_subscription`` (function scope)
    Factories: ``ams_topic()`` creates a topic with a unique name and returns its
    :class:`~pymod.amstopic.AmsTopic`; ``ams_subscription(topic=None, **kwargs)`` creates a
    subscription (on ``topic``, an ``AmsTopic`` or a name; a new topic if None) and returns its
    :class:`~pymod.amssubscription.AmsSubscription`; ``kwargs`` go to ``create_sub``
    (``ackdeadline=``...). Both take an optional ``name``. Everything is deleted after the test.

``ams_env`` (function scope)
    Exports ``AMS_HOST``, ``AMS_TOKEN``, ``AMS_PROJECT`` (``ams_project``) and ``AMS_CA`` in
    ``os.environ`` for the test (restored after it) and returns them as a dict: a subprocess
    started by the test (a script using :meth:`ArgoMessagingService.from_env
    <pymod.ams.ArgoMessagingService.from_env>`, or the ``ams`` command) connects to the
    emulator.

``ams_fast_backoff`` (function scope)
    Makes waiting fast for the test: every :class:`~pymod.consumer.Consumer` created without
    explicit values gets ``backoff=0.01``, ``max_backoff=0.05`` and ``idle_sleep=0.01``, and
    every retry sleep of the client (:class:`~pymod.retry.RetryPolicy`) is at most 0.01 s. A
    flaky-network test then takes a fraction of a second instead of tens of seconds.

Example::

    def test_my_consumer(ams_client, ams_subscription, ams_emulator, ams_fast_backoff):
        sub = ams_subscription()
        ams_client.publish(sub.topic.name, [AmsMessage(data="x")])
        with ams_emulator.faults(rate=0.3, kinds=("503", "reset-before"), seed=7):
            result = Consumer(ams_client, sub.name, handle, stop_when_empty=True).run()
        assert result.handled == 1

Installing pymod (also ``pip install -e``) registers the plugin. Only when pymod is
importable without being installed (e.g. through ``PYTHONPATH``), enable it in a
``conftest.py`` with ``pytest_plugins = ["pymod.emulator.pytest_plugin"]``.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import pytest

from pymod.emulator.server import Emulator

__all__ = [
    "ams_client",
    "ams_emulator",
    "ams_env",
    "ams_fast_backoff",
    "ams_project",
    "ams_subscription",
    "ams_topic",
]

#: Consumer keyword defaults in ``ams_fast_backoff`` (seconds).
FAST_CONSUMER = {"backoff": 0.01, "max_backoff": 0.05, "idle_sleep": 0.01}
#: Longest retry sleep in ``ams_fast_backoff`` (seconds).
FAST_RETRY_SLEEP = 0.01

_counter = itertools.count(1)


def _unique(prefix: str) -> str:
    """A name no other test of the session uses (AMS name rules: letters, digits, ``_-``)."""
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


def _admin_client(emu: Emulator, project: str = "") -> Any:
    from pymod.ams import ArgoMessagingService

    return ArgoMessagingService(endpoint=emu.endpoint, token=emu.admin_token, project=project,
                                verify=emu.ca_path)


@pytest.fixture(scope="session")
def ams_emulator() -> Iterator[Emulator]:
    """A running AMS emulator shared by the test session."""
    emu = Emulator()
    missing = ""
    try:
        emu.start()
    except ModuleNotFoundError as exc:  # the [emulator] extra is missing: say so, in one line
        missing = str(exc)
    if missing:
        pytest.fail(f"ams_emulator: {missing}", pytrace=False)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def ams_project(ams_emulator: Emulator) -> Iterator[str]:
    """A fresh project for the test, deleted after it."""
    name = _unique("test")
    with _admin_client(ams_emulator) as admin:
        admin.create_project(name, "created by the ams_project fixture")
        try:
            yield name
        finally:
            admin.delete_project(name)


@pytest.fixture
def ams_client(ams_emulator: Emulator, ams_project: str) -> Iterator[Any]:
    """A client bound to the test's fresh project (``ams_project``)."""
    with _admin_client(ams_emulator, ams_project) as client:
        yield client


@pytest.fixture
def ams_topic(ams_client: Any) -> Iterator[Callable[..., Any]]:
    """Factory of topics with unique names: ``ams_topic(name=None, **create_topic kwargs)``."""
    created: List[str] = []

    def make(name: Optional[str] = None, **kwargs: Any) -> Any:
        topic = ams_client.create_topic(name or _unique("topic"), retobj=True, **kwargs)
        created.append(topic.name)
        return topic

    yield make
    _delete_all(created, ams_client.delete_topic)


@pytest.fixture
def ams_subscription(ams_client: Any, ams_topic: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Factory of subscriptions: ``ams_subscription(topic=None, name=None, **create_sub kwargs)``."""
    created: List[str] = []

    def make(topic: Union[None, str, Any] = None, name: Optional[str] = None,
             **kwargs: Any) -> Any:
        if topic is None:
            topic = ams_topic()
        topic_name = topic if isinstance(topic, str) else topic.name
        sub = ams_client.create_sub(name or _unique("sub"), topic_name, retobj=True, **kwargs)
        created.append(sub.name)
        return sub

    yield make
    _delete_all(created, ams_client.delete_sub)


def _delete_all(names: List[str], delete: Callable[[str], Any]) -> None:
    """Delete what a factory created (what the test deleted itself is skipped)."""
    from pymod.amsexceptions import AmsServiceException

    for name in reversed(names):
        try:
            delete(name)
        except AmsServiceException as exc:
            if exc.code != 404:
                raise


@pytest.fixture
def ams_env(ams_emulator: Emulator, ams_project: str,
            monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """``AMS_*`` for the test's project, exported in ``os.environ`` and returned."""
    from pymod.envconfig import ENV_VARS

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    env = dict(ams_emulator.env(), AMS_PROJECT=ams_project)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def ams_fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short consumer backoffs and retry sleeps for the test (see the module docstring)."""
    from pymod.consumer import Consumer
    from pymod.retry import RetryPolicy

    defaults = Consumer.__init__.__kwdefaults__ or {}
    for key, value in FAST_CONSUMER.items():
        if key in defaults:
            monkeypatch.setitem(defaults, key, value)
    jittered = RetryPolicy._jittered  # every computed retry sleep passes through it

    def fast(self: RetryPolicy, seconds: float) -> float:
        return min(jittered(self, seconds), FAST_RETRY_SLEEP)

    monkeypatch.setattr(RetryPolicy, "_jittered", fast)
