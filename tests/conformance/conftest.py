"""Fixtures of the conformance suite: one oracle (the real AMS) and one emulator per session,
both put back to the oracle's fixture before each case."""

from __future__ import annotations

import asyncio
import pathlib
import sys
from collections.abc import Iterator
from typing import Tuple

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/: oracle.py

from harness import PUSH_WORKER, Server, Snapshot, seed_fixture  # noqa: E402
from oracle import Oracle, oracle_unavailable, start_oracle  # noqa: E402

from pymod.emulator import Emulator  # noqa: E402


@pytest.fixture(scope="session")
def oracle() -> Iterator[Oracle]:
    reason = oracle_unavailable()
    if reason is not None:
        pytest.skip(f"conformance suite needs the real AMS (ams-oracle): {reason}")
    with start_oracle() as running:
        yield running


@pytest.fixture(scope="session")
def emulator(oracle: Oracle) -> Iterator[Tuple[Emulator, Snapshot]]:
    with Emulator(project="ARGO", admin_token=oracle.admin_token) as emu:
        if emu._push is not None:  # noqa: SLF001 - the oracle's push server delivers nothing
            asyncio.run_coroutine_threadsafe(emu._push.stop(), emu._loop).result(10)  # noqa: SLF001
            emu._push = None  # noqa: SLF001
        emu.call(seed_fixture, emu.store)
        emu._faults.app.state.service.push_worker_name = PUSH_WORKER  # noqa: SLF001
        yield emu, Snapshot(emu.store)


@pytest.fixture
def servers(oracle: Oracle, emulator: Tuple[Emulator, Snapshot]) -> Tuple[Server, Server]:
    """Both servers, freshly reset to the fixture."""
    emu, snapshot = emulator
    oracle.reset()
    emu.call(snapshot.restore)
    return (Server("oracle", oracle.url, oracle.ca_path), Server("emulator", emu.url, emu.ca_path))
