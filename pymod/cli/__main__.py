"""``python -m pymod.cli``: the ``ams`` command."""

import sys

from pymod.cli import main

if __name__ == "__main__":
    sys.exit(main())
