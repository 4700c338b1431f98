"""Where the program keeps its data, logs and bundled resources."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def resource_dir() -> Path:
    """The `resources/` folder, in a source checkout and in a PyInstaller build alike."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def data_dir() -> Path:
    """The per-user data folder (created on demand)."""
    override = os.environ.get("ANJU_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "Anju"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "Anju"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "anju"
    base.mkdir(parents=True, exist_ok=True)
    return base


def default_db_path() -> Path:
    return data_dir() / "anju.db"


def demo_db_path() -> Path:
    return data_dir() / "demo.db"


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
