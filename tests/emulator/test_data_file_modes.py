"""The emulator's data files hold every token: they are 0600 (the SQLite database with its WAL
and SHM files, the admin token, the private keys), in directories of mode 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from pymod.emulator import Emulator
from pymod.emulator.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_store_and_its_wal_and_shm_files_are_owner_only(tmp_path: Path, open_umask: None):
    path = tmp_path / "ams.sqlite3"
    store = Store(str(path))
    store.bootstrap(admin_name="root", admin_token="a" * 64, project="DEMO")
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(f.exists() for f in files)
    assert [mode(f) for f in files] == [0o600] * 3
    store.close()


def test_an_existing_readable_database_is_made_owner_only(tmp_path: Path, open_umask: None):
    path = tmp_path / "ams.sqlite3"
    Store(str(path)).close()
    path.chmod(0o644)
    Store(str(path)).close()
    assert mode(path) == 0o600


def test_a_data_directory_is_0700_with_0600_secrets(tmp_path: Path, open_umask: None):
    data = tmp_path / "data"
    token_file = data / "admin-token"
    data.mkdir(mode=0o700)
    token_file.write_text("b" * 64 + "\n")
    token_file.chmod(0o644)  # a token file left readable: made 0600 on the next start
    with Emulator(data_dir=data) as emulator:
        assert emulator.admin_token == "b" * 64
        secrets = [data / "ams.sqlite3", data / "ams.sqlite3-wal", data / "ams.sqlite3-shm",
                   token_file, *data.glob("tls/**/*key*.pem")]
        assert len(secrets) >= 5
        assert {str(p.relative_to(data)): mode(p) for p in secrets} == \
            {str(p.relative_to(data)): 0o600 for p in secrets}
    fresh = tmp_path / "fresh" / "data"
    with Emulator(data_dir=fresh):
        dirs = [fresh, *(p for p in fresh.rglob("*") if p.is_dir())]
        assert len(dirs) >= 2 and {mode(d) for d in dirs} == {0o700}
        assert {mode(p) for p in fresh.rglob("*sqlite3*")} == {0o600}
