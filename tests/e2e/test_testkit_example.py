"""The worked example of the test kit, shown on the emulator page of the docs (literalinclude)
and run by the test suite as it is."""

import subprocess
import sys

from pymod import AmsMessage
from pymod.consumer import Consumer


def store_alerts(ams, subscription, db):
    """The code under test: store each alert once, keyed by its "key" attribute."""
    def handle(msg):
        db.setdefault(msg.get_attr("key"), msg.get_data().decode())

    return Consumer(ams, subscription, handle, stop_when_empty=True).run()


def test_each_alert_is_stored_once(ams_client, ams_subscription):
    sub = ams_subscription()                      # a new topic and subscription, removed after
    alert = AmsMessage(data="disk full", attributes={"key": "node7/1"})
    ams_client.publish(sub.topic.name, [alert, alert])   # delivered twice
    db = {}
    assert store_alerts(ams_client, sub.name, db).handled == 2
    assert db == {"node7/1": "disk full"}


def test_a_flaky_network_loses_nothing(ams_client, ams_subscription, ams_emulator,
                                       ams_fast_backoff):
    sub = ams_subscription()
    ams_client.publish(sub.topic.name, [AmsMessage(data=f"a{i}", attributes={"key": str(i)})
                                        for i in range(50)])
    db = {}
    with ams_emulator.faults(rate=0.2, kinds=("503", "reset-before"), seed=1):
        store_alerts(ams_client, sub.name, db)      # retried with fast backoff
    assert ams_emulator.faults.rate == 0             # the faults ended with the block
    assert sorted(db, key=int) == [str(i) for i in range(50)]


def test_a_script_configured_by_the_environment(ams_env, ams_client):
    ams_client.create_topic("alerts")
    script = ("from pymod import ArgoMessagingService\n"
              "with ArgoMessagingService.from_env() as ams:\n"
              "    print(len(ams.list_topics()['topics']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "1", done.stderr
