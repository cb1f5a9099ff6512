"""The emulator's AMS operations, one module per resource (see :mod:`pymod.emulator.app`)."""
