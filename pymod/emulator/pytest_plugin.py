"""pytest plugin: test your own AMS code against a real local AMS.

Installing ``pymod[emulator]`` registers this plugin (entry point ``pytest11``),
which provides one fixture:

``ams_emulator`` (session scope)
    A started :class:`pymod.emulator.Emulator` with an in-memory store and a
    ``DEMO`` project, shared by the whole test session and stopped at its end.
    Useful attributes: ``endpoint`` (``"127.0.0.1:PORT"``), ``url``, ``ca_path``
    (pass as ``verify=``), ``admin_token``, ``project``, ``authn_port``;
    methods: ``set_faults()`` / ``clear_faults()`` / ``fault_counts()``,
    ``issue_client_cert(cn)``, ``call(func, ...)`` (run a function on the server
    thread, e.g. to use ``store``).

Example::

    from pymod import ArgoMessagingService

    def test_my_publisher(ams_emulator):
        ams = ArgoMessagingService(
            endpoint=ams_emulator.endpoint,
            token=ams_emulator.admin_token,
            project=ams_emulator.project,
            verify=ams_emulator.ca_path,
        )
        ...

The emulator is shared, so give each test its own topic and subscription names.
A test that enables fault injection should clear it again (``try/finally``), or
use its own emulator (``with Emulator() as emu: ...``).

Installing pymod (also ``pip install -e``) registers the plugin. Only when pymod is
importable without being installed (e.g. through ``PYTHONPATH``), enable it in a
``conftest.py`` with ``pytest_plugins = ["pymod.emulator.pytest_plugin"]``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from pymod.emulator.server import Emulator

__all__ = ["ams_emulator"]


@pytest.fixture(scope="session")
def ams_emulator() -> Iterator[Emulator]:
    """A running AMS emulator shared by the test session."""
    with Emulator() as emu:
        yield emu
