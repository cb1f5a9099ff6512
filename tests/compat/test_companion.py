"""The companion distribution in compat/: argo-ams-library 1.0.0+pymod.<version>, no code.

Built with pip into a temporary directory (a few seconds); skipped with the reason if it cannot be
built here (no network for the isolated build's setuptools).
"""

from __future__ import annotations

import configparser
import email
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from differential import CACHE, WHEEL
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import pymod

ROOT = Path(__file__).resolve().parents[2]


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("companion")
    done = _pip("wheel", "-q", "--no-deps", str(ROOT / "compat"), "-w", str(out))
    found = sorted(out.glob("argo_ams_library-*.whl"))
    if done.returncode != 0 or not found:
        pytest.skip("cannot build compat/ here: " + (done.stderr.strip().splitlines() or ["?"])[-1])
    yield found[0]


def test_metadata_names_the_original_and_depends_on_pymod(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(archive.read(meta_name))
    assert meta["Name"] == "argo-ams-library"
    version = Version(meta["Version"])
    assert version.public == "1.0.0" and version.local == f"pymod.{pymod.__version__}"
    assert version > Version("1.0.0")  # pip -U keeps it
    assert SpecifierSet(">=0.5.5").contains(version) and SpecifierSet("~=1.0").contains(version)
    assert [r.split(">=")[0] for r in meta.get_all("Requires-Dist")] == ["pymod-ams"]
    assert all(".dist-info/" in n for n in names)  # no code: argo_ams_library is pymod-ams's


def test_the_alias_package_belongs_to_the_main_distribution_only() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "argo_ams_library" in cfg["options.packages.find"]["include"].split()
    assert not (ROOT / "compat" / "argo_ams_library").exists()


def test_installed_it_answers_pkg_resources_and_importlib_metadata(wheel: Path,
                                                                    tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = _pip("install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    assert done.returncode == 0, done.stderr
    script = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import importlib.metadata, pkg_resources\n"
        "from argo_ams_library import *\n"
        "print(importlib.metadata.version('argo-ams-library'))\n"
        "print(pkg_resources.get_distribution('argo_ams_library').version)\n"
        "print(ArgoMessagingService.__module__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    expected = f"1.0.0+pymod.{pymod.__version__}"
    assert run.stdout.split() == [expected, expected, "pymod.ams"]


def test_pip_takes_it_over_the_original_for_a_requirement_of_the_original(wheel: Path) -> None:
    links = ["--find-links", str(wheel.parent)]
    if (CACHE / WHEEL).is_file():  # the original too, when the differential suite fetched it
        links += ["--find-links", str(CACHE)]
    done = _pip("install", "--dry-run", "--no-deps", "--no-index", "--ignore-installed",
                *links, "argo-ams-library>=0.5.5")
    assert done.returncode == 0, done.stderr
    assert f"Would install argo-ams-library-1.0.0+pymod.{pymod.__version__}" in done.stdout
