"""kill -9 of an emulator with a data directory, in the middle of a publish/consume run.

After a restart on the same data directory (topics, subscriptions, users and ACLs are kept):

* every message whose publish was confirmed is still there, byte for byte;
* the committed offset is at least one past the last confirmed acknowledgement (nothing acknowledged
  comes again) and at most the log end; messages from it on are pulled again (nothing unacknowledged
  is lost).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

from pymod import AmsException, AmsMessage, ArgoMessagingService

_START_TIMEOUT = 30.0


def _start(data_dir: Path, port: int = 0) -> Tuple[subprocess.Popen[str], Dict[str, str]]:
    """Start ``python -m pymod.emulator`` on ``data_dir``; its process and the AMS_* settings."""
    cmd = [sys.executable, "-m", "pymod.emulator", "--data-dir", str(data_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + _START_TIMEOUT
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("export "):
            settings = dict(item.split("=", 1) for item in shlex.split(line)[1:])
            return proc, settings
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"emulator did not start: {proc.stderr.read() if proc.stderr else ''}")


def _client(settings: Dict[str, str]) -> ArgoMessagingService:
    return ArgoMessagingService(settings["AMS_HOST"], token=settings["AMS_TOKEN"],
                                project=settings["AMS_PROJECT"], verify=settings["AMS_CA"],
                                timeout=5)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "ams-data"


@pytest.mark.emulator_only("kill -9 and restart of an emulator with a data directory")
def test_kill_9_mid_run_loses_nothing(data_dir: Path) -> None:
    proc, settings = _start(data_dir)
    port = int(settings["AMS_HOST"].rsplit(":", 1)[1])
    ams = _client(settings)
    ams.create_topic("durable")
    ams.create_sub("durable-sub", "durable", ackdeadline=600)
    carol = ams.create_project_member("durable-carol", roles=["consumer"])
    ams.modifyacl_sub("durable-sub", ["durable-carol"])

    published: Dict[int, bytes] = {}  # confirmed publishes: offset -> payload
    acked_up_to = 0  # offset after the last confirmed acknowledgement
    seq = 0
    killer = threading.Timer(1.5, lambda: os.kill(proc.pid, signal.SIGKILL))
    killer.start()
    try:
        while proc.poll() is None:
            batch = [AmsMessage(data=f"msg-{seq + i}".encode(), attributes={"seq": str(seq + i)})
                     for i in range(50)]
            seq += 50
            try:
                ids = ams.publish("durable", batch)["messageIds"]
                published.update({int(i): m.get_data() or b"" for i, m in zip(ids, batch)})
                pulled = ams.pull_sub("durable-sub", num=30, return_immediately=True)
                if pulled:
                    ams.ack_sub("durable-sub", [pulled[-1][0]])
                    acked_up_to = int(pulled[-1][1].get_msgid()) + 1
            except AmsException:
                break  # the server died under us
    finally:
        killer.cancel()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(published) > 100, "the run should have got going before the kill"

    proc2, settings2 = _start(data_dir, port)
    try:
        assert settings2["AMS_TOKEN"] == settings["AMS_TOKEN"]
        ams2 = _client(settings2)
        # Users, tokens, memberships and ACLs survive too.
        survivor = ams2.get_user("durable-carol")
        assert (survivor.uuid, survivor.token) == (carol.uuid, carol.token)
        assert survivor.projects[0].roles == ["consumer"]
        assert ams2.getacl_sub("durable-sub") == {"authorized_users": ["durable-carol"]}
        offsets = ams2.getoffsets_sub("durable-sub")
        assert isinstance(offsets, dict)
        assert offsets["max"] >= max(published) + 1
        assert acked_up_to <= offsets["current"] <= offsets["max"]

        # Everything from the committed offset on comes again, in order and intact.
        seen: Dict[int, bytes] = {}
        while True:
            pulled = ams2.pull_sub("durable-sub", num=500, return_immediately=True)
            if not pulled:
                break
            seen.update({int(m.get_msgid()): m.get_data() or b"" for _, m in pulled})
            ams2.ack_sub("durable-sub", [pulled[-1][0]])
        assert sorted(seen) == list(range(offsets["current"], offsets["max"]))
        for offset, payload in published.items():
            if offset >= offsets["current"]:
                assert seen[offset] == payload
        # And the acknowledged part is still in the log, for replay.
        ams2.modifyoffset_sub("durable-sub", 0)
        first = ams2.pull_sub("durable-sub", num=1, return_immediately=True)
        assert first[0][1].get_data() == published[0]
    finally:
        proc2.send_signal(signal.SIGTERM)
        assert proc2.wait(timeout=15) == 0
