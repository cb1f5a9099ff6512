"""The scripts in examples/ compile, and run against the embedded emulator."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List

import pytest

from pymod.emulator import Emulator

if TYPE_CHECKING:
    from conftest import AmsTarget

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_the_expected_examples_exist():
    assert {p.name for p in SCRIPTS} >= {"publish.py", "consume_pull.py", "retry.py",
                                          "cron_consumer.py", "push_receiver.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_compiles_and_documents_how_to_run(script: Path, tmp_path: Path):
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)
    source = script.read_text()
    assert source.lstrip().startswith('"""') and "AMS_HOST" in source


@pytest.fixture
def env(ams_target: AmsTarget) -> Dict[str, str]:
    return dict(os.environ, AMS_HOST=ams_target.endpoint, AMS_TOKEN=ams_target.admin_token,
                AMS_PROJECT=ams_target.project, AMS_CA=ams_target.ca_path)


def run(script: str, args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_publish_then_consume_pull_then_cron_consumer(env, names, tmp_path):
    topic = names["topic"]  # the example makes f"{topic}-sub"; the fixture deletes both
    published = run("publish.py", [topic, "7"], env)
    assert f"published 7 message(s) to {topic}: ids 0, 1, 2, 3, 4, 5, 6" in published.stdout
    consumed = run("consume_pull.py", [f"{topic}-sub"], env)
    assert f"consumed 7 message(s) from {topic}-sub" in consumed.stdout
    assert "reading 6: 21.6 C" in consumed.stdout

    run("publish.py", [topic, "3"], env)
    cursor = tmp_path / "cursor"
    first = run("cron_consumer.py", [f"{topic}-sub", str(cursor)], env)
    assert [line.split()[0] for line in first.stdout.splitlines()] == ["7", "8", "9"]
    assert cursor.read_text().strip() == "10"
    second = run("cron_consumer.py", [f"{topic}-sub", str(cursor)], env)
    assert second.stdout == "" and "stop_reason=empty" in second.stderr


def test_retry_example_publishes_everything(env, names):
    result = run("retry.py", [names["topic"], "120"], env)
    assert "published 120 message(s)" in result.stdout


@pytest.mark.emulator_only("push delivery to a local receiver with a certificate of the emulator's CA")
def test_push_receiver_demo(emulator: Emulator, env):
    cert, key = emulator.issue_server_cert("127.0.0.1")
    result = run("push_receiver.py", ["--cert", cert, "--key", key, "--demo", "3"], env)
    assert "received 3 of 3 message(s)" in result.stdout
    assert "data='pushed message 2'" in result.stdout
