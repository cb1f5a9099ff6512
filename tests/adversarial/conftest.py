"""Fixtures of the adversarial tests: a throwaway CA for the hostile servers and the proxy."""

from __future__ import annotations

from typing import Any, Callable, List

import pytest

from pymod import ArgoMessagingService, RetryPolicy

from .netfaults import TLSFiles


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return TLSFiles(str(tmp_path_factory.mktemp("adversary-tls")))


@pytest.fixture
def client_for(tls: TLSFiles) -> Callable[..., ArgoMessagingService]:
    """``client_for(server, **kwargs)``: a client of a hostile server that records its sleeps."""
    made: List[ArgoMessagingService] = []

    def make(server: Any, **kwargs: Any) -> ArgoMessagingService:
        kwargs.setdefault("retry_policy", RetryPolicy(jitter=0, sleep=lambda s: None))
        client = ArgoMessagingService(server.endpoint, token="hostile-test-token", project="DEMO",
                                      verify=tls.ca_path, **kwargs)
        made.append(client)
        return client

    yield make  # type: ignore[misc]
    for client in made:
        client.close()
