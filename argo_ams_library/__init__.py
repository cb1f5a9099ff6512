"""Compatibility alias: ``argo_ams_library`` is :mod:`pymod`.

Scripts written for the older ``argo-ams-library`` keep working unchanged::

    from argo_ams_library import ArgoMessagingService, AmsMessage, AmsServiceException

Submodules are aliased too (``argo_ams_library.ams``, ``argo_ams_library.amsexceptions``,
``argo_ams_library.amsmsg``, ``argo_ams_library.amstopic``, ``argo_ams_library.amssubscription``,
``argo_ams_library.amsuser``).
"""

import sys

import pymod
from pymod import *  # noqa: F403
from pymod import __all__ as _pymod_all
from pymod import ams, amsexceptions, amsmsg, amssubscription, amstopic, amsuser

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
