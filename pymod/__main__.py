"""``python -m pymod``: the ``ams`` command (see :mod:`pymod.cli`)."""

import sys

from pymod.cli import main

if __name__ == "__main__":
    sys.exit(main())
