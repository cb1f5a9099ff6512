"""Compatibility alias: ``argo_ams_library`` is :mod:`pymod`.

Scripts written for argo-ams-library 1.0.0 keep working unchanged::

    from argo_ams_library import ArgoMessagingService, AmsMessage, AmsServiceException

Submodules are aliased too (``argo_ams_library.ams``, ``argo_ams_library.amsexceptions``,
``argo_ams_library.amsmsg``, ``argo_ams_library.amssubscription``, ``argo_ams_library.amstopic``,
``argo_ams_library.amsuser``).

Two things the original did on import are done here as well:

* ``logging.handlers`` is imported (scripts use it after a bare ``import logging``), and the
  ``argo_ams_library`` logger gets a ``NullHandler``;
* pymod's log records (``pymod``, ``pymod.retry`` ...) are also handed to the handlers attached
  under ``argo_ams_library`` (as ``argo_ams_library.ams``, where the original logged), so a handler
  attached there sees the retry warnings. Records are not passed to the root logger a second time.

The real client is loaded from the directory this package was installed in, so a folder named
``pymod`` next to the running script (which comes first on ``sys.path``) is not mistaken for it.
"""

import importlib.util
import logging
import logging.handlers  # noqa: F401  (the original imported it; scripts rely on that)
import os
import sys
from types import ModuleType

_MARKERS = ("__init__.py", "ams.py", "transport.py", "amsexceptions.py", os.path.join("facade", "base.py"))


def _is_client_dir(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, marker)) for marker in _MARKERS)


def _load_pymod() -> ModuleType:
    """The pymod AMS client package, wherever ``sys.path`` would look first.

    Raises:
        ImportError: another module named ``pymod`` was already imported, or pymod is not
            installed.
    """
    loaded = sys.modules.get("pymod")
    if loaded is not None:
        location = os.path.dirname(getattr(loaded, "__file__", None) or "")
        if _is_client_dir(location):
            return loaded
        raise ImportError(
            "argo_ams_library needs the pymod AMS client, but another module named 'pymod' was "
            f"imported first (from {location or 'an unknown location'}); import argo_ams_library "
            "before it"
        )
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [here]
    spec = importlib.util.find_spec("pymod")
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(spec.submodule_search_locations)
    candidates.extend(os.path.join(entry, "pymod") for entry in sys.path if entry)
    for candidate in candidates:
        directory = candidate if os.path.basename(candidate) == "pymod" else os.path.join(candidate, "pymod")
        if not _is_client_dir(directory):
            continue
        found = importlib.util.spec_from_file_location(
            "pymod", os.path.join(directory, "__init__.py"), submodule_search_locations=[directory]
        )
        if found is None or found.loader is None:
            continue
        module = importlib.util.module_from_spec(found)
        sys.modules["pymod"] = module
        try:
            found.loader.exec_module(module)
        except BaseException:
            for name in [n for n in sys.modules if n == "pymod" or n.startswith("pymod.")]:
                del sys.modules[name]
            raise
        return module
    raise ImportError("argo_ams_library needs the pymod AMS client (pip install pymod-ams)")


pymod = _load_pymod()

from pymod import *  # noqa: E402,F403
from pymod import __all__ as _pymod_all  # noqa: E402
from pymod import ams, amsexceptions, amsmsg, amssubscription, amstopic, amsuser  # noqa: E402

__all__ = list(_pymod_all)
__version__ = pymod.__version__

for _name, _module in {
    "ams": ams,
    "amsexceptions": amsexceptions,
    "amsmsg": amsmsg,
    "amssubscription": amssubscription,
    "amstopic": amstopic,
    "amsuser": amsuser,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module


class _MirrorToLegacyLoggers(logging.Handler):
    """Hands each pymod record to the handlers under ``argo_ams_library`` (not to the root)."""

    #: pymod logger name -> the original library's logger it corresponds to
    NAMES = {"pymod": "argo_ams_library.ams", "pymod.retry": "argo_ams_library.ams"}

    def emit(self, record: logging.LogRecord) -> None:
        name = self.NAMES.get(record.name) or record.name.replace("pymod", __name__, 1)
        logger = logging.getLogger(name)
        if logger.disabled or not logger.isEnabledFor(record.levelno):
            return
        copy = logging.makeLogRecord(record.__dict__)
        copy.name = name
        if not logger.filter(copy):
            return
        current = logger
        while current is not None and current.name.startswith(__name__):
            for handler in current.handlers:
                if copy.levelno >= handler.level:
                    handler.handle(copy)
            if not current.propagate:
                break
            current = current.parent  # type: ignore[assignment]


logging.getLogger(__name__).addHandler(logging.NullHandler())
_pymod_logger = logging.getLogger("pymod")
if not any(type(h).__name__ == "_MirrorToLegacyLoggers" for h in _pymod_logger.handlers):
    _pymod_logger.addHandler(_MirrorToLegacyLoggers())
