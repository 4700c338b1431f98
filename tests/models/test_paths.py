"""Data and log folders per platform convention, and the one version number."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from app.paths import data_dir, log_dir, user_dirs
from app.version import read_version

ROOT = Path(__file__).resolve().parents[2]


def test_windows_uses_local_appdata():
    dirs = user_dirs("win32", {"LOCALAPPDATA": r"C:\Users\li\AppData\Local"}, r"C:\Users\li")
    assert dirs.data == PureWindowsPath(r"C:\Users\li\AppData\Local\Anju")
    assert dirs.logs == PureWindowsPath(r"C:\Users\li\AppData\Local\Anju\logs")
    assert str(dirs.data) == r"C:\Users\li\AppData\Local\Anju"


def test_windows_without_or_with_a_bad_local_appdata_falls_back_to_the_profile():
    for env in ({}, {"LOCALAPPDATA": ""}, {"LOCALAPPDATA": r"AppData\Local"}):
        dirs = user_dirs("win32", env, r"D:\Profiles\wang")
        assert str(dirs.data) == r"D:\Profiles\wang\AppData\Local\Anju"


def test_windows_override_keeps_everything_in_one_folder():
    dirs = user_dirs("win32", {"ANJU_DATA_DIR": r"E:\安居台账数据", "LOCALAPPDATA": r"C:\x"}, r"C:\Users\li")
    assert str(dirs.data) == r"E:\安居台账数据"
    assert str(dirs.logs) == r"E:\安居台账数据\logs"


def test_linux_follows_xdg():
    dirs = user_dirs("linux", {}, "/home/li")
    assert dirs.data == PurePosixPath("/home/li/.local/share/anju")
    assert dirs.logs == PurePosixPath("/home/li/.local/state/anju/logs")
    env = {"XDG_DATA_HOME": "/srv/data", "XDG_STATE_HOME": "/srv/state"}
    dirs = user_dirs("linux", env, "/home/li")
    assert dirs.data == PurePosixPath("/srv/data/anju")
    assert dirs.logs == PurePosixPath("/srv/state/anju/logs")


def test_linux_ignores_relative_xdg_paths():
    dirs = user_dirs("linux", {"XDG_DATA_HOME": "data", "XDG_STATE_HOME": "./state"}, "/home/li")
    assert dirs.data == PurePosixPath("/home/li/.local/share/anju")
    assert dirs.logs == PurePosixPath("/home/li/.local/state/anju/logs")


def test_macos():
    dirs = user_dirs("darwin", {}, "/Users/li")
    assert dirs.data == PurePosixPath("/Users/li/Library/Application Support/Anju")
    assert dirs.logs == PurePosixPath("/Users/li/Library/Logs/Anju")


def test_this_pc_honours_the_override(_private_data_dir):
    assert data_dir() == _private_data_dir
    assert log_dir() == _private_data_dir / "logs"
    assert log_dir().is_dir()


def test_this_pc_without_override_uses_the_convention(monkeypatch, tmp_path):
    monkeypatch.delenv("ANJU_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    monkeypatch.setattr("sys.platform", "linux")
    assert data_dir() == tmp_path / "d" / "anju"
    assert log_dir() == tmp_path / "s" / "anju" / "logs"


def test_version_comes_from_pyproject(tmp_path):
    import tomllib

    import app

    with (ROOT / "pyproject.toml").open("rb") as fh:
        assert app.__version__ == tomllib.load(fh)["project"]["version"]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "anju"\nversion = "9.8.7"\n')
    assert read_version(tmp_path) == "9.8.7"


def test_version_ignores_another_projects_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "9.8.7"\n')
    assert read_version(tmp_path) != "9.8.7"
    assert read_version(tmp_path / "nowhere") != "9.8.7"


def test_cli_version(capsys):
    import app
    from app.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"anju {app.__version__}"
