"""Unit tests of the pymod client (``responses`` at the HTTP seam; no network, no real sleeps)."""
