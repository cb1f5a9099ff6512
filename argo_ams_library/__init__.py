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


def _client_dir() -> str:
    """The directory of the pymod client package: beside this package first (the same
    installation), then wherever the import system or ``sys.path`` has one."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [os.path.join(here, "pymod")]
    try:
        spec = importlib.util.find_spec("pymod")
    except (ImportError, ValueError):  # a foreign pymod in sys.modules without a spec
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(spec.submodule_search_locations)
    candidates.extend(os.path.join(entry, "pymod") for entry in sys.path if entry)
    for candidate in candidates:
        if _is_client_dir(candidate):
            return candidate
    raise ImportError("argo_ams_library needs the pymod AMS client (pip install pymod-ams)")


def _load_pymod() -> ModuleType:
    """The pymod AMS client package, loaded from its own directory.

    A foreign module named ``pymod`` (a folder beside the running script, which comes first on
    ``sys.path``) is never taken for it. If such a module was imported already, it is put back in
    ``sys.modules`` afterwards and the client stays reachable as ``argo_ams_library.pymod``.

    Raises:
        ImportError: pymod is not installed.
    """
    loaded = sys.modules.get("pymod")
    if loaded is not None and _is_client_dir(os.path.dirname(getattr(loaded, "__file__", None) or "")):
        return loaded
    directory = _client_dir()
    foreign = {n: m for n, m in sys.modules.items() if n == "pymod" or n.startswith("pymod.")}
    for name in foreign:
        del sys.modules[name]
    found = importlib.util.spec_from_file_location(
        "pymod", os.path.join(directory, "__init__.py"), submodule_search_locations=[directory]
    )
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules["pymod"] = module
    try:
        found.loader.exec_module(module)
    except BaseException:
        for name in [n for n in sys.modules if n == "pymod" or n.startswith("pymod.")]:
            del sys.modules[name]
        sys.modules.update(foreign)
        raise
    if foreign:  # the script's own pymod keeps its name; the client lives on under ours
        for name in [n for n in sys.modules if n == "pymod" or n.startswith("pymod.")]:
            sys.modules[__name__ + "._" + name] = sys.modules.pop(name)
        sys.modules.update(foreign)
    return module


pymod = _load_pymod()

# the names of pymod, taken from the loaded module (not by importing "pymod" again: that name may
# be a foreign module's)
__all__ = list(pymod.__all__)
globals().update({_name: getattr(pymod, _name) for _name in __all__})
__version__ = pymod.__version__
ams, amsexceptions, amsmsg = pymod.ams, pymod.amsexceptions, pymod.amsmsg
amssubscription, amstopic, amsuser = pymod.amssubscription, pymod.amstopic, pymod.amsuser

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
