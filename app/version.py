"""The program's one version number, read from pyproject.toml (also bundled into the built program)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path


def read_version(root: Path | None = None) -> str:
    """pyproject.toml beside the `app` package (a checkout, or the PyInstaller bundle), else the
    installed distribution's metadata (a wheel install has no pyproject.toml)."""
    pyproject = (root or Path(__file__).resolve().parent.parent) / "pyproject.toml"
    try:
        with pyproject.open("rb") as fh:
            project = tomllib.load(fh).get("project", {})
        if project.get("name") == "anju" and project.get("version"):
            return str(project["version"])
    except (OSError, tomllib.TOMLDecodeError):
        pass
    try:
        return metadata.version("anju")
    except metadata.PackageNotFoundError:
        return "0+unknown"


VERSION = read_version()
