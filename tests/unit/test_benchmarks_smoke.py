"""Smoke test of the benchmark code (benchmarks/run.py, benchmarks/server.py), so it cannot rot.

It starts the benchmark server (a child process on loopback, TLS) and runs each contender for a
handful of messages, checking that they round-trip. Nothing is timed and nothing is asserted
about speed: benchmarks are printed by ``benchmarks/run.py``, never asserted.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Iterator

import pytest

pytest.importorskip("trustme")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_RUN = os.path.join(_ROOT, "benchmarks", "run.py")


def _load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pymod_benchmarks_run", _RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bench = _load_run()


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with bench.start_server() as srv:
        yield srv


@pytest.mark.timeout(60)
@pytest.mark.parametrize("which", ["floor", "pymod"])
def test_contender_round_trips_messages(server: object, which: str) -> None:
    contender = bench.RawUrllib3(server) if which == "floor" else bench.PymodClient(server)
    topic, sub = f"smoke-{which}", f"smoke-{which}"
    server.create_topic_sub(topic, sub)  # type: ignore[attr-defined]
    try:
        one = bench._payloads(1)
        five = bench._payloads(5)
        assert len(contender.publish(topic, one)) == 1
        assert len(contender.publish(topic, five)) == 5
        assert contender.pull_ack(sub, 100) == one + five
        assert contender.pull_ack(sub, 100) == []

        contender.publish(topic, five)
        seen: list = []
        assert contender.consume(sub, 5, seen.append) == 5
        assert seen == five

        server.fill(topic, 3, size=bench.PAYLOAD_SIZE)  # type: ignore[attr-defined]
        assert [len(d) for d in contender.pull_ack(sub, 10)] == [bench.PAYLOAD_SIZE] * 3
    finally:
        contender.close()


@pytest.mark.timeout(60)
def test_measure_reports_server_cpu(server: object) -> None:
    contender = bench.RawUrllib3(server)
    server.create_topic_sub("smoke-measure", "smoke-measure")  # type: ignore[attr-defined]
    payloads = bench._payloads(3)
    sample = bench.measure(server, lambda: len(contender.publish("smoke-measure", payloads)))
    contender.close()
    assert sample.messages == 3
    assert sample.wall > 0 and sample.cpu >= 0 and sample.server_cpu >= 0


def test_argo_ams_library_alias_is_not_taken_for_the_old_library() -> None:
    module, why = bench.argo_ams_library_module()
    if module is None:
        assert why.startswith("not installed")
