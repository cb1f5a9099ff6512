"""The pytest plugin's test kit (pymod.emulator.pytest_plugin), used as a user would: its fixtures
in this module, and a user's test file run by ``pytester`` to check what they leave behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pymod import AmsConnectionException, AmsMessage, ArgoMessagingService, RetryPolicy
from pymod.consumer import Consumer
from pymod.emulator import Emulator

pytest_plugins = ["pytester"]


def test_ams_client_is_bound_to_a_fresh_project(ams_client, ams_project, ams_emulator):
    assert ams_client.project == ams_project != ams_emulator.project
    assert ams_client.list_topics()["topics"] == []
    ams_client.create_topic("mine")
    assert [t["name"] for t in ams_client.list_topics()["topics"]] == \
        [f"/projects/{ams_project}/topics/mine"]


def test_topic_and_subscription_factories(ams_client, ams_topic, ams_subscription):
    first, second = ams_topic(), ams_topic()
    assert first.name != second.name
    sub = ams_subscription(first, ackdeadline=30)
    assert sub.topic.name == first.name and ams_client.get_sub(sub.name)["ackDeadlineSeconds"] == 30
    own = ams_subscription()  # with a topic of its own
    assert own.topic.name not in (first.name, second.name)
    named = ams_subscription(second.name, name="named-sub")
    assert named.name == "named-sub"
    ams_client.publish(first.name, [AmsMessage(data="x")])
    assert [m.get_data() for _, m in ams_client.pull_sub(sub.name, 5, True)] == [b"x"]


def test_faults_context_manager_clears_itself(ams_emulator, ams_client, ams_topic):
    topic = ams_topic()
    with pytest.raises(RuntimeError), ams_emulator.faults(rate=1.0, kinds=("503",)) as config:
        assert ams_emulator.faults.rate == 1.0 and ams_emulator.faults == config
        with pytest.raises(Exception, match="503"):
            ams_client.publish(topic.name, [AmsMessage(data="x")])
        raise RuntimeError("the block fails: the faults are cleared all the same")
    assert ams_emulator.faults.rate == 0.0
    assert ams_client.publish(topic.name, [AmsMessage(data="x")])["messageIds"] == ["0"]


def test_ams_env_exports_settings_for_a_child_process(ams_env, ams_project, ams_client):
    assert os.environ["AMS_PROJECT"] == ams_project == ams_env["AMS_PROJECT"]
    ams_client.create_topic("from-parent")
    child = subprocess.run(
        [sys.executable, "-c", "import json; from pymod import ArgoMessagingService as A; "
         "print(json.dumps(A.from_env().list_topics()))"],
        capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    names = [t["name"] for t in json.loads(child.stdout)["topics"]]
    assert names == [f"/projects/{ams_project}/topics/from-parent"]


def test_fast_backoff_makes_a_flaky_consumer_quick(ams_fast_backoff, ams_emulator, ams_client,
                                                   ams_subscription):
    sub = ams_subscription()
    consumer = Consumer(ams_client, sub.name, lambda m: None, stop_when_empty=True)
    assert (consumer.backoff, consumer.max_backoff, consumer.idle_sleep) == (0.01, 0.05, 0.01)
    slept: list = []
    failures = iter([AmsConnectionException(OSError("down"), "topics:show")] * 3)

    def flaky() -> str:
        exc = next(failures, None)
        if exc is not None:
            raise exc
        return "ok"

    # the path every retried call takes (RetryPolicy.run), not a helper beside it
    assert RetryPolicy(jitter=0, sleep=slept.append).run(flaky, 4, 60) == "ok"
    assert slept == [0.01, 0.01, 0.01]
    ams_client.publish(sub.topic.name, [AmsMessage(data=str(i)) for i in range(20)])
    seen = []
    with ams_emulator.faults(rate=0.3, kinds=("503", "reset-before"), seed=2):
        result = Consumer(ams_client, sub.name, lambda m: seen.append(m.get_data()),
                          stop_when_empty=True, max_errors=50, batch_size=5).run()
    assert result.errors > 0 and sorted(set(seen), key=int) == [str(i).encode() for i in range(20)]


def test_without_fast_backoff_the_defaults_stay():
    consumer = Consumer(ArgoMessagingService("h", token="t", project="P"), "s", lambda m: None)
    assert consumer.backoff == 1.0 and RetryPolicy(jitter=0).delays(1, 60) == [60.0]


USER_TESTS = '''
import json, pathlib
from pymod import AmsMessage

OUT = pathlib.Path(__file__).with_name("seen.json")

def test_uses_everything(ams_emulator, ams_project, ams_topic, ams_subscription, ams_client):
    sub = ams_subscription()
    OUT.write_text(json.dumps({"project": ams_project, "endpoint": ams_emulator.endpoint,
                               "token": ams_emulator.admin_token, "ca": ams_emulator.ca_path}))
'''


def test_fixtures_clean_up_after_the_test(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    # the outcome is checked through the emulator the inner run keeps alive: run it in-process
    emulators = []
    start = Emulator.start

    def spy(self: Emulator) -> Emulator:
        emulators.append(self)
        return start(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(Emulator, "start", spy)
    stop = Emulator.stop
    mp.setattr(Emulator, "stop", lambda self: None)  # keep it up to look inside afterwards
    try:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
        result.assert_outcomes(passed=1)
        seen = json.loads((pytester.path / "seen.json").read_text())
        emu = emulators[0]
        with ArgoMessagingService(emu.endpoint, token=emu.admin_token, verify=emu.ca_path) as admin:
            names = [p["name"] for p in admin.list_projects()]
        assert seen["project"] not in names and emu.project in names
    finally:
        mp.undo()
        for emu in emulators:
            stop(emu)


def test_fixture_without_the_emulator_extra_says_what_to_install(pytester: pytest.Pytester,
                                                                 monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if [emulator] were not installed
    pytester.makepyfile(test_user="def test_x(ams_emulator):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "ams_emulator: the AMS emulator needs uvicorn" in out
    assert "pip install 'pymod-ams[emulator]'" in out
    assert "Traceback" not in out and "During handling" not in out


def test_from_env_with_a_client_certificate(ams_emulator):
    cert, key = ams_emulator.issue_client_cert(ams_emulator.admin_name)
    env = {"AMS_HOST": ams_emulator.endpoint, "AMS_CERT": cert, "AMS_KEY": key,
           "AMS_CA": ams_emulator.ca_path, "AMS_PROJECT": ams_emulator.project}
    with ArgoMessagingService.from_env(env, authn_port=ams_emulator.authn_port) as ams:
        assert ams.token == ams_emulator.admin_token  # exchanged at the authn service
        assert isinstance(ams.list_topics()["topics"], list)
