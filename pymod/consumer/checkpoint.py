"""A committed offset kept in a file (see :mod:`pymod.consumer`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Optional, Union

__all__ = ["FileCheckpoint", "offset_of"]


def offset_of(ack_id: str) -> int:
    """The offset in an ackId ``projects/P/subscriptions/S:<offset>`` (what a checkpoint keeps)."""
    return int(ack_id.rsplit(":", 1)[1])


# ----------------------------------------------------------------------------------------------
# checkpoint file
# ----------------------------------------------------------------------------------------------
class FileCheckpoint:
    """A committed offset kept in a small text file, for jobs that resume like a cursor.

    Pass the object as ``checkpoint=`` (it is called with each committed offset) and its
    :meth:`load` as ``start_offset=``::

        cursor = FileCheckpoint("alerts-sub.offset")
        Consumer(ams, "alerts-sub", handle, checkpoint=cursor, start_offset=cursor.load())

    Writes are atomic (a temporary file in the same directory, flushed and fsynced, then
    ``os.replace``), so a crash leaves either the old or the new offset, never a torn file.

    Args:
        path: the file (its directory must exist).
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"FileCheckpoint({self.path!r})"

    def load(self, default: Optional[int] = None) -> Optional[int]:
        """The saved offset, or ``default`` if the file does not exist.

        Raises:
            ValueError: the file does not hold a non-negative integer.
        """
        try:
            with open(self.path, encoding="ascii") as fh:
                text = fh.read().strip()
        except FileNotFoundError:
            return default
        if not text.isdigit():
            raise ValueError(f"checkpoint file {self.path!r} does not hold an offset: {text[:40]!r}")
        return int(text)

    def save(self, offset: int) -> None:
        """Atomically replace the file's content with ``offset``.

        Raises:
            ValueError: ``offset`` is negative. OSError: the file cannot be written.
        """
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(f"{offset}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def __call__(self, offset: int) -> None:
        """Same as :meth:`save`: lets the object be passed as ``checkpoint=``."""
        self.save(offset)
