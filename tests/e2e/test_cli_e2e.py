"""The ``ams`` command against the embedded emulator over real HTTPS: publish a JSONL file,
consume it back, in-process (``main``) and as a real subprocess (the installed entry point)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List

import pytest

from pymod import ArgoMessagingService, cli
from pymod.emulator import Emulator

if TYPE_CHECKING:
    from conftest import AmsTarget


@pytest.fixture
def ams_env(ams_target: AmsTarget, monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    env = {"AMS_HOST": ams_target.endpoint, "AMS_TOKEN": ams_target.admin_token,
           "AMS_PROJECT": ams_target.project, "AMS_CA": ams_target.ca_path}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _messages(n: int) -> List[Dict[str, Any]]:
    """n file records: text payloads (some non-ASCII), every fifth one binary."""
    records: List[Dict[str, Any]] = []
    for i in range(n):
        attributes = {"seq": str(i), "kind": "alert" if i % 3 == 0 else "metric"}
        if i % 5 == 4:
            raw = bytes([i % 256, 0xFF, 0x00, 0xFE])
            records.append({"data_b64": base64.b64encode(raw).decode(), "attributes": attributes})
        else:
            records.append({"data": f"message {i} – ünïcode", "attributes": attributes})
    return records


def _write_jsonl(path: Path, records: List[Dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def _check_round_trip(sent: List[Dict[str, Any]], output: str) -> None:
    got = [json.loads(line) for line in output.splitlines()]
    assert len(got) == len(sent)
    for i, (record, line) in enumerate(zip(sent, got)):
        assert line["messageId"] == str(i) and line["ackId"].endswith(f":{i}")
        assert line["attributes"] == record["attributes"]
        assert line["publishTime"].endswith("Z")
        if "data_b64" in record:
            assert line["data_b64"] == record["data_b64"] and "data" not in line
        else:
            assert line["data"] == record["data"]


def test_publish_file_then_consume_in_process(ams: ArgoMessagingService, names, ams_env,
                                              tmp_path, capsys):
    topic, sub = names["topic"], names["sub"]
    assert cli.main(["topics", "create", topic]) == 0
    assert cli.main(["subs", "create", sub, "--topic", topic, "--ack-deadline", "30"]) == 0
    sent = _messages(40)
    path = tmp_path / "msgs.jsonl"
    _write_jsonl(path, sent)
    capsys.readouterr()

    assert cli.main(["publish", topic, "--file", str(path), "--batch", "15"]) == 0
    assert capsys.readouterr().out == f"published 40 message(s) to {topic} (ids 0..39)\n"

    assert cli.main(["consume", sub, "--max", "40", "--ack"]) == 0
    captured = capsys.readouterr()
    _check_round_trip(sent, captured.out)
    assert "acknowledged 40" in captured.err
    assert ams.getoffsets_sub(sub) == {"max": 40, "min": 0, "current": 40}

    assert cli.main(["offsets", sub, "--move", "38", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"] == 38
    assert cli.main(["pull", sub, "--max", "5"]) == 0  # a peek: not acknowledged
    assert [json.loads(x)["messageId"] for x in capsys.readouterr().out.splitlines()] == \
        ["38", "39"]
    assert ams.getoffsets_sub(sub, "current") == 38

    assert cli.main(["subs", "list", "--topic", topic, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"].rsplit("/", 1)[-1] for s in listed] == [sub]


def test_service_errors_are_one_line(ams_env, capsys):
    assert cli.main(["topics", "show", "does-not-exist"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Topic doesn't exist" in err
    assert ams_env["AMS_TOKEN"] not in err

    assert cli.main(["--token", "0" * 64, "topics", "list"]) == 1
    err = capsys.readouterr().err
    assert "Unauthorized" in err and "0" * 64 not in err


def test_entry_points_as_real_processes(ams: ArgoMessagingService, names, ams_env, tmp_path):
    topic, sub = names["topic"], names["sub"]
    ams.create_topic(topic)
    ams.create_sub(sub, topic, ackdeadline=30)
    sent = _messages(12)
    path = tmp_path / "msgs.jsonl"
    _write_jsonl(path, sent)
    env = dict(os.environ, **ams_env)
    script = Path(sys.executable).with_name("ams")
    publish_cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pymod.cli"]
    published = subprocess.run([*publish_cmd, "publish", topic, "--file", str(path)], env=env,
                               capture_output=True, text=True, timeout=60)
    assert published.returncode == 0, published.stderr
    assert "published 12 message(s)" in published.stdout

    consumed = subprocess.run(
        [sys.executable, "-m", "pymod.cli", "consume", sub, "--max", "12", "--ack"],
        env=env, capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert consumed.returncode == 0, consumed.stderr
    _check_round_trip(sent, consumed.stdout)
    assert ams.getoffsets_sub(sub, "current") == 12

    failed = subprocess.run([sys.executable, "-m", "pymod.cli", "topics", "show", "nope"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith("ams: error: ") and "Traceback" not in failed.stderr


@pytest.mark.emulator_only("run_demo drives an Emulator object")
def test_demo_against_the_shared_emulator(emulator: Emulator):
    import io

    from pymod.demo import run_demo

    out = io.StringIO()
    assert run_demo(n=300, batch=70, size=16, emulator=emulator, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pymod demo: running an embedded AMS emulator over HTTPS at "
                               f"{emulator.endpoint}")
    figures = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in lines[2:]}
    assert figures["published"].startswith("300 in ") and figures["consumed"].startswith("300 in ")
    assert figures["mismatched"] == "0" and figures["missing"] == "0"
    assert figures["result"].startswith("OK")


@pytest.mark.emulator_only("starts its own emulator")
def test_ams_demo_command_starts_its_own_emulator(capsys):
    assert cli.main(["demo", "-n", "50", "--batch", "20"]) == 0
    out = capsys.readouterr().out
    assert "missing:     0" in out and "result:      OK" in out


def test_demo_check_detects_mismatched_and_missing_messages(ams: ArgoMessagingService, names):
    from pymod.demo import DemoReport, _consume, _publish

    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"], ackdeadline=30)
    report = DemoReport(20)
    expected = _publish(ams, names["topic"], 20, 8, 4, report)
    assert report.published == 20 and set(expected) == {str(i) for i in range(20)}
    payload, attributes = expected["5"]
    expected["5"] = (payload + b"!", attributes)  # what arrives will differ from this
    expected["20"] = (b"never published", {"seq": "20", "kind": "log"})
    report.n = 21
    _consume(ams, names["sub"], expected, 8, 30.0, report)
    assert (report.consumed, report.mismatched, report.missing) == (20, 1, 1)
    assert not report.ok
