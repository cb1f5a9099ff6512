"""The argo_ams_library alias: import from a folder with a foreign ``pymod/``, logging.handlers,
and log records under the original's logger names."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import List
from unittest import mock

import responses

import argo_ams_library

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_star_import_from_a_directory_holding_a_foreign_pymod(tmp_path: Path) -> None:
    (tmp_path / "pymod").mkdir()
    (tmp_path / "pymod" / "__init__.py").write_text("raise RuntimeError('the foreign pymod')\n")
    (tmp_path / "script.py").write_text(
        "from argo_ams_library import *\n"
        "import logging, sys\n"
        "logging.handlers.RotatingFileHandler\n"  # only `import logging` in the script
        "ams = ArgoMessagingService(endpoint='mock_host', token='t', project='P')\n"
        "print(type(ams).__module__, AmsMessage(data='x').dict(), sys.modules['pymod'].__file__)\n"
    )
    done = _run("script.py", tmp_path)
    assert done.returncode == 0, done.stderr
    module, _, path = done.stdout.strip().partition(" ")
    assert module == "pymod.ams"
    assert "'data': 'eA=='" in path
    assert path.split()[-1] == str(ROOT / "pymod" / "__init__.py")


def test_foreign_pymod_imported_first_keeps_its_name(tmp_path: Path) -> None:
    (tmp_path / "pymod").mkdir()
    (tmp_path / "pymod" / "__init__.py").write_text("MINE = True\n")
    (tmp_path / "pymod" / "ams.py").write_text("WHAT = 'the script ams'\n")
    (tmp_path / "script.py").write_text(
        "import pymod\n"
        "import argo_ams_library as aal\n"
        "import pymod.ams\n"
        "ams = aal.ArgoMessagingService(endpoint='mock_host', token='t', project='P')\n"
        "err = aal.AmsServiceException({'error': {'code': 404, 'message': 'x'}}, 'topics:show')\n"
        "print(pymod.MINE, pymod.ams.WHAT, type(ams).__module__, err.msg)\n"
    )
    done = _run("script.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True the script ams pymod.ams While trying the [topic_get]: x"


def test_lazily_imported_parts_come_from_the_same_copy_under_a_foreign_pymod(tmp_path: Path) -> None:
    """from_env, Publisher's retry check and AmsSubscription.consume import parts of pymod when
    called: with a foreign ``pymod`` imported first they come from the renamed copy too."""
    (tmp_path / "pymod").mkdir()
    (tmp_path / "pymod" / "__init__.py").write_text("MINE = True\n")
    (tmp_path / "script.py").write_text(
        "import pymod\n"
        "import argo_ams_library as aal\n"
        "try:\n"
        "    aal.ArgoMessagingService.from_env({})\n"
        "except aal.AmsArgumentException as exc:\n"
        "    print('caught', type(exc).__module__)\n"
        "ams = aal.ArgoMessagingService(endpoint='mock_host', token='t', project='P')\n"
        "try:\n"
        "    aal.Publisher(ams, 't', retry=-1)\n"
        "except aal.AmsArgumentException:\n"
        "    print('caught publisher')\n"
        "import sys\n"
        "print([m for m in sys.modules if m.startswith('pymod.')])\n"
    )
    done = _run("script.py", tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[:2] == ["caught pymod.amsexceptions", "caught publisher"]  # the same classes
    assert lines[2] == "[]"  # nothing of pymod was loaded a second time under its own name


def test_handler_on_the_legacy_logger_sees_retry_warnings_once() -> None:
    seen: List[logging.LogRecord] = []
    root_seen: List[logging.LogRecord] = []

    class Keep(logging.Handler):
        def __init__(self, into: List[logging.LogRecord]) -> None:
            super().__init__()
            self.into = into

        def emit(self, record: logging.LogRecord) -> None:
            self.into.append(record)

    legacy, root = logging.getLogger("argo_ams_library"), logging.getLogger()
    mine, everything = Keep(seen), Keep(root_seen)
    legacy.addHandler(mine)
    root.addHandler(everything)
    try:
        with responses.RequestsMock() as rsps, mock.patch("time.sleep") as sleep:
            url = "https://mock_host/v1/projects/P/topics/t:publish"
            page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
            rsps.add(responses.POST, url, status=503, body=page)
            rsps.add(responses.POST, url, json={"messageIds": ["1"]})
            ams = argo_ams_library.ArgoMessagingService(endpoint="mock_host", token="t", project="P")
            assert ams.publish("t", {"data": "eA=="}, retry=1, retrysleep=2) == {"messageIds": ["1"]}
        sleep.assert_called_once()
    finally:
        legacy.removeHandler(mine)
        root.removeHandler(everything)
    assert [r.name for r in seen] == ["argo_ams_library.ams"]
    assert seen[0].levelno == logging.WARNING
    assert [r.name for r in root_seen] == ["pymod.retry"]  # the root logger sees it once
