"""A message counter on stderr for ``ams publish`` and ``ams consume`` (no dependency)."""

from __future__ import annotations

import time
from typing import IO, Callable, Optional


class Progress:
    """``publishing: 1,500 msg (3,000 msg/s)`` on ``stream``, redrawn in place on a terminal.

    Args:
        label: what is counted (``"published"``, ``"consumed"``).
        stream: where to write (stderr); nothing is written when ``enabled`` is False.
        enabled: show it at all.
        interval: least seconds between two updates (a line each on a non-terminal).
        clock: monotonic clock in seconds.
    """

    def __init__(
        self,
        label: str,
        stream: IO[str],
        enabled: bool,
        *,
        interval: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.count = 0
        self._tty = isatty(stream)
        self.interval = interval if interval is not None else (0.2 if self._tty else 5.0)
        self._clock = clock
        self._t0 = clock()
        self._last = self._t0
        self._drawn = False

    def update(self, n: int) -> None:
        """Count ``n`` more messages; redraw if the interval has passed."""
        self.count += n
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(now)

    def close(self) -> None:
        """Draw the final count (and end the line on a terminal)."""
        if not self.enabled:
            return
        self._draw(self._clock(), final=True)

    def _draw(self, now: float, final: bool = False) -> None:
        elapsed = now - self._t0
        rate = f" ({self.count / elapsed:,.0f} msg/s)" if elapsed > 0 else ""
        text = f"{self.label}: {self.count:,} msg{rate}"
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = True


def isatty(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal (False for closed or fake streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
