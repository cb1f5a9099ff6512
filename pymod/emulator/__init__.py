"""pymod's AMS emulator: a local ARGO Messaging Service over real HTTPS.

>>> from pymod.emulator import Emulator
>>> with Emulator() as emu:                                   # doctest: +SKIP
...     print(emu.endpoint, emu.ca_path, emu.project)

See :class:`Emulator` for the options, :class:`FaultConfig` for fault injection,
``python -m pymod.emulator --help`` for the command line and
:mod:`pymod.emulator.pytest_plugin` for the ``ams_emulator`` pytest fixture.

Importing this package is cheap: uvicorn, the app and the store are loaded when an
emulator starts.
"""

from __future__ import annotations

from pymod.emulator.faults import FAULT_KINDS, FaultConfig
from pymod.emulator.server import Emulator

__all__ = ["FAULT_KINDS", "Emulator", "FaultConfig"]
