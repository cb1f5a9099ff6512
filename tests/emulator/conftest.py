"""Fixtures for the emulator app tests: the app over an in-memory store with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ams_testkit import ADMIN, Ams, FakeClock
from starlette.testclient import TestClient

from pymod.emulator.app import create_app
from pymod.emulator.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[Store]:
    store = Store(clock=clock)
    store.bootstrap(admin_name="root", admin_token=ADMIN, project="DEMO")
    yield store
    store.close()


@pytest.fixture
def client(store: Store) -> TestClient:
    return TestClient(create_app(store))


@pytest.fixture
def ams(client: TestClient, store: Store) -> Ams:
    return Ams(client, store)
