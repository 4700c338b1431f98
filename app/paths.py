"""Where the program keeps its data, logs and bundled resources."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import NamedTuple


@lru_cache(maxsize=1)
def resource_dir() -> Path:
    """The `resources/` folder, in a source checkout and in a PyInstaller build alike."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


class UserDirs(NamedTuple):
    data: PurePath
    logs: PurePath


def user_dirs(platform: str, env: Mapping[str, str], home: str) -> UserDirs:
    """Data and log folders by each platform's convention (what QStandardPaths and platformdirs use).

    Windows: %LOCALAPPDATA%\\Anju (local, not roaming: a database must not travel with a roaming
    profile) and its `logs`. Linux: $XDG_DATA_HOME/anju and $XDG_STATE_HOME/anju/logs (the XDG
    base directories; logs are state). macOS: Application Support and ~/Library/Logs.
    ANJU_DATA_DIR puts both in one folder (portable use, tests).
    """
    windows = platform.startswith("win")
    pure: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    override = env.get("ANJU_DATA_DIR")
    if override:
        base = pure(override)
        return UserDirs(base, base / "logs")
    home_path = pure(home)
    if windows:
        local = env.get("LOCALAPPDATA")
        base = (pure(local) if local and pure(local).is_absolute() else home_path / "AppData" / "Local") / "Anju"
        return UserDirs(base, base / "logs")
    if platform == "darwin":
        return UserDirs(home_path / "Library" / "Application Support" / "Anju", home_path / "Library" / "Logs" / "Anju")

    def xdg(name: str, default: PurePath) -> PurePath:
        # The XDG spec says relative paths in these variables are invalid and must be ignored.
        value = env.get(name)
        return pure(value) if value and pure(value).is_absolute() else default

    data = xdg("XDG_DATA_HOME", home_path / ".local" / "share") / "anju"
    state = xdg("XDG_STATE_HOME", home_path / ".local" / "state") / "anju"
    return UserDirs(data, state / "logs")


def _this_pc() -> UserDirs:
    return user_dirs(sys.platform, os.environ, str(Path.home()))


def data_dir() -> Path:
    """The per-user data folder (created on demand)."""
    base = Path(_this_pc().data)
    if not base.is_dir():
        base.mkdir(parents=True, exist_ok=True, mode=0o700)  # residents' data: owner only
    return base


def default_db_path() -> Path:
    return data_dir() / "anju.db"


def demo_db_path() -> Path:
    return data_dir() / "demo.db"


def backup_dir() -> Path:
    """The folder of automatic backups, in the data folder (created on demand, owner only)."""
    path = data_dir() / "backups"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """The per-user folder for crash reports and logs (created on demand)."""
    path = Path(_this_pc().logs)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)  # logs and crash reports: owner only
    return path
