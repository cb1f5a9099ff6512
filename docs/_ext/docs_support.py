"""Support code for running the documentation's examples against pymod's emulator.

Used by ``sphinx -b doctest`` (``doctest_global_setup`` in ``conf.py``) and by
``tests/unit/test_docs_examples.py``. One emulator is started per process, on first use,
and stopped at exit; every document gets its own project (``DOCS1``, ``DOCS2`` ...) so that
the examples of one page can create topics named ``alerts`` without clashing with another
page's.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from typing import TYPE_CHECKING, Optional, Tuple

if TYPE_CHECKING:
    from pymod import ArgoMessagingService
    from pymod.emulator import Emulator

_lock = threading.Lock()
_emulator: Optional[Emulator] = None
_counter = itertools.count(1)


def emulator() -> Emulator:
    """The process-wide emulator, started on first use."""
    global _emulator
    with _lock:
        if _emulator is None:
            from pymod.emulator import Emulator

            emu = Emulator()
            emu.start()
            atexit.register(emu.stop)
            _emulator = emu
        return _emulator


def client_for_document(project: Optional[str] = None) -> Tuple[Emulator, ArgoMessagingService]:
    """``(emu, ams)``: the shared emulator and a client whose default project is new.

    The client uses the emulator's admin token (``service_admin`` and ``project_admin``), so
    every example may create topics, subscriptions and users.
    """
    from pymod import ArgoMessagingService

    emu = emulator()
    name = project or f"DOCS{next(_counter)}"
    admin = ArgoMessagingService(
        endpoint=emu.endpoint, token=emu.admin_token, project=emu.project, verify=emu.ca_path
    )
    with admin:
        admin.create_project(name, "documentation examples")
    ams = ArgoMessagingService(
        endpoint=emu.endpoint, token=emu.admin_token, project=name, verify=emu.ca_path
    )
    return emu, ams


def shutdown() -> None:
    """Stop the process-wide emulator, if it was started (it is also stopped at exit)."""
    global _emulator
    with _lock:
        if _emulator is not None:
            _emulator.stop()
            _emulator = None
