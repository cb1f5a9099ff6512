"""The consumer loop against the embedded emulator over real HTTPS: failures are never
acknowledged, SIGTERM loses nothing, checkpoints resume, transient faults are survived."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Set

import pytest

from pymod import AmsMessage, ArgoMessagingService
from pymod.consumer import Consumer, FileCheckpoint, PoisonMessageError
from pymod.emulator import Emulator, FaultConfig

if TYPE_CHECKING:
    from conftest import AmsTarget


def _setup(ams: ArgoMessagingService, names: Dict[str, str], count: int) -> str:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"], ackdeadline=60)
    msgs = [AmsMessage(data=f"payload {i}", attributes={"seq": str(i), "kind": "odd" if i % 2
                                                       else "even"}) for i in range(count)]
    assert len(ams.publish(names["topic"], msgs)["messageIds"]) == count
    return names["sub"]


def _no_sleep(seconds: float) -> None:
    return None


def test_failed_messages_are_never_acked_and_all_are_eventually_handled(ams, names):
    sub = _setup(ams, names, 60)
    fail_plan = {3: 1, 17: 2, 18: 1, 40: 3, 59: 1}  # message -> how many times it fails
    ok: Set[int] = set()
    failures: List[int] = []
    committed: List[int] = []

    def handle(msg: AmsMessage) -> None:
        n = int(msg.get_attr("seq"))
        if fail_plan.get(n, 0) > 0:
            fail_plan[n] -= 1
            failures.append(n)
            raise RuntimeError(f"transient failure on {n}")
        ok.add(n)

    def checkpoint(offset: int) -> None:
        # after every acknowledgement the server's committed offset covers handled messages only
        assert ams.getoffsets_sub(sub, "current") == offset
        missing = [o for o in range(offset) if o not in ok]
        assert not missing, f"acknowledged but never handled: {missing}"
        committed.append(offset)

    result = Consumer(ams, sub, handle, batch_size=8, stop_when_empty=True,
                      checkpoint=checkpoint, sleep=_no_sleep,
                      install_signal_handlers=False).run()
    assert ok == set(range(60))
    assert sorted(failures) == [3, 17, 17, 18, 40, 40, 40, 59]
    assert result.failed == 8 and result.acked == 60 and committed[-1] == 60
    assert ams.getoffsets_sub(sub, "current") == 60


def test_poison_message_stops_and_blocks_at_its_offset(ams, names):
    sub = _setup(ams, names, 10)

    def handle(msg: AmsMessage) -> None:
        if msg.get_attr("seq") == "4":
            raise ValueError("cannot parse")

    with pytest.raises(PoisonMessageError) as info:
        Consumer(ams, sub, handle, batch_size=10, max_redeliveries=2, sleep=_no_sleep,
                 stop_when_empty=True, install_signal_handlers=False).run()
    assert info.value.offset == 4 and info.value.result.acked == 4
    assert ams.getoffsets_sub(sub, "current") == 4


def test_filter_skips_and_acknowledges(ams, names):
    sub = _setup(ams, names, 20)
    seen: List[str] = []
    result = Consumer(ams, sub, lambda m: seen.append(m.get_attr("seq")), batch_size=7,
                      filter={"kind": "odd"}, stop_when_empty=True,
                      install_signal_handlers=False).run()
    assert seen == [str(i) for i in range(1, 20, 2)]
    assert result.skipped == 10 and ams.getoffsets_sub(sub, "current") == 20


def test_resumed_run_starts_from_the_checkpoint(ams, names, tmp_path):
    sub = _setup(ams, names, 25)
    cursor = FileCheckpoint(tmp_path / "cursor")
    first: List[int] = []
    Consumer(ams, sub, lambda m: first.append(int(m.get_msgid())), batch_size=4,
             max_messages=10, checkpoint=cursor, start_offset=cursor.load(),
             install_signal_handlers=False).run()
    assert first == list(range(10)) and cursor.load() == 10
    ams.modifyoffset_sub(sub, 0)  # somebody rewinds the subscription; the job's cursor wins
    second: List[int] = []
    result = Consumer(ams, sub, lambda m: second.append(int(m.get_msgid())), batch_size=4,
                      checkpoint=cursor, start_offset=cursor.load(), stop_when_empty=True,
                      install_signal_handlers=False).run()
    assert second == list(range(10, 25)) and cursor.load() == 25
    assert result.committed_offset == 25


def test_start_time_resumes_from_a_publish_time(ams, names):
    sub = _setup(ams, names, 5)
    pulled = ams.pull_sub(sub, num=5, return_immediately=True)
    third_time = pulled[3][1].get_publishtime()  # e.g. 2024-05-02T09:50:01.482117309Z
    from pymod.cli import parse_time

    seen: List[str] = []
    Consumer(ams, sub, lambda m: seen.append(m.get_msgid()), start_time=parse_time(third_time),
             stop_when_empty=True, install_signal_handlers=False).run()
    # millisecond precision: message 3, or an earlier one published in the same millisecond
    assert seen[-2:] == ["3", "4"] and len(seen) <= 5


@pytest.mark.emulator_only("fault injection")
@pytest.mark.parametrize("seed", [7, 11, 12345])
def test_transient_faults_are_survived_without_losing_or_skipping(emulator: Emulator, ams, names,
                                                                  seed):
    sub = _setup(ams, names, 80)
    ok: Set[int] = set()
    handled: List[int] = []

    def handle(msg: AmsMessage) -> None:
        n = int(msg.get_msgid())
        handled.append(n)
        ok.add(n)

    def checkpoint(offset: int) -> None:
        assert all(o in ok for o in range(offset))

    kinds = ("502", "503", "504", "408", "reset-before", "reset-after", "truncate")
    before = sum(emulator.fault_counts().values())
    emulator.set_faults(FaultConfig(rate=0.15, kinds=kinds, seed=seed))
    try:
        result = Consumer(ams, sub, handle, batch_size=10, stop_when_empty=True,
                          checkpoint=checkpoint, sleep=_no_sleep, max_errors=10,
                          install_signal_handlers=False, ack_deadline=60).run()
    finally:
        emulator.clear_faults()
    assert sum(emulator.fault_counts().values()) > before  # faults did happen
    assert result.errors > 0 or result.ack_timeouts > 0
    assert ok == set(range(80))
    assert ams.getoffsets_sub(sub, "current") == 80


_SUBPROCESS_CONSUMER = textwrap.dedent("""
    import json, os, sys, time
    from pymod import ArgoMessagingService
    from pymod.consumer import Consumer

    sub, record, ready = sys.argv[1], sys.argv[2], sys.argv[3]
    out = open(record, "a")

    def handle(msg):
        n = int(msg.get_msgid())
        time.sleep(0.2 if n >= 25 else 0.01)
        out.write(f"{n}\\n")
        out.flush()
        if n == 25:
            open(ready, "w").close()

    ams = ArgoMessagingService(os.environ["AMS_HOST"], token=os.environ["AMS_TOKEN"],
                               project=os.environ["AMS_PROJECT"], verify=os.environ["AMS_CA"])
    result = Consumer(ams, sub, handle, batch_size=50, idle_sleep=0.1).run()
    print(json.dumps({"stop_reason": result.stop_reason, "signal": result.signal,
                      "committed": result.committed_offset, "handled": result.handled}))
""")


def test_sigterm_mid_batch_exits_cleanly_and_loses_nothing(ams_target: AmsTarget, ams, names,
                                                          tmp_path: Path):
    total = 120
    sub = _setup(ams, names, total)
    script = tmp_path / "consumer.py"
    script.write_text(_SUBPROCESS_CONSUMER)
    record, ready = tmp_path / "handled.txt", tmp_path / "ready"
    env = dict(os.environ, AMS_HOST=ams_target.endpoint, AMS_TOKEN=ams_target.admin_token,
               AMS_PROJECT=ams_target.project, AMS_CA=ams_target.ca_path)
    proc = subprocess.Popen([sys.executable, str(script), sub, str(record), str(ready)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        guard = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < guard, "the consumer never reached message 25"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["stop_reason"] == "signal" and summary["signal"] == "SIGTERM"
    handled_first = [int(line) for line in record.read_text().split()]
    committed = ams.getoffsets_sub(sub, "current")
    assert committed == summary["committed"]
    # the current message was finished and acknowledged; nothing handled was left unacked,
    # nothing acknowledged was left unhandled; the batch of 50 was cut in the middle
    assert set(handled_first) == set(range(committed))
    assert 26 <= committed < 50

    handled_rest: List[int] = []
    Consumer(ams, sub, lambda m: handled_rest.append(int(m.get_msgid())), batch_size=50,
             stop_when_empty=True, install_signal_handlers=False).run()
    assert handled_rest == list(range(committed, total))
    assert set(handled_first) | set(handled_rest) == set(range(total))
