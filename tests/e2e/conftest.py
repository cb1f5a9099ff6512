"""Fixtures for end-to-end tests: the client against the embedded emulator over real HTTPS."""

from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from pymod import ArgoMessagingService, RetryPolicy
from pymod.emulator import Emulator

_counter = itertools.count()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the whole session (in memory, HTTPS on loopback)."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def names() -> dict[str, str]:
    """Fresh topic and subscription names, unique within the session."""
    n = next(_counter)
    return {"topic": f"topic-{n}", "sub": f"sub-{n}"}


@pytest.fixture
def ams(emulator: Emulator) -> Iterator[ArgoMessagingService]:
    """A service_admin client of the emulator's project (sleeps are recorded, not slept)."""
    sleeps: list[float] = []
    client = ArgoMessagingService(
        emulator.endpoint,
        token=emulator.admin_token,
        project=emulator.project,
        verify=emulator.ca_path,
        retry_policy=RetryPolicy(jitter=0, sleep=sleeps.append),
    )
    client.recorded_sleeps = sleeps  # type: ignore[attr-defined]
    with client:
        yield client
