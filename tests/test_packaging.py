"""The build rules of build_installer.spec and the packages, evaluated for Linux and Windows inputs."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_build_rules():
    spec = importlib.util.spec_from_file_location("anju_build", ROOT / "packaging" / "anju_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ab = _load_build_rules()


def _imports_of_app() -> set[str]:
    """Every dotted module name imported anywhere under app/ (module level or inside functions)."""
    names: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _qt_modules_of_app() -> set[str]:
    return {n.split(".")[1] for n in _imports_of_app() if re.match(r"^PySide6\.Qt\w+$", n)}


def test_every_qt_module_the_app_imports_is_kept():
    used = _qt_modules_of_app()
    assert {"QtCore", "QtGui", "QtWidgets"} <= used  # the scan itself works
    assert used <= set(ab.KEPT_QT_MODULES), f"add to KEPT_QT_MODULES: {sorted(used - set(ab.KEPT_QT_MODULES))}"


def test_the_excludes_leave_every_imported_qt_module_in():
    import PySide6

    excluded = set(ab.excluded_qt_modules(PySide6.__all__))
    assert "PySide6.QtNetwork" in excluded and "PySide6.QtQml" in excluded
    assert not excluded & {f"PySide6.{m}" for m in _qt_modules_of_app()}
    # The Qt libraries behind the kept modules are shipped too.
    for module in ab.KEPT_QT_MODULES:
        assert ab.keep_file(f"PySide6/Qt/lib/libQt6{module[2:]}.so.6")
        assert ab.keep_file(f"PySide6\\Qt6{module[2:]}.dll")


def test_no_excluded_python_module_is_imported_by_the_app():
    tops = {n.split(".")[0] for n in _imports_of_app()}
    excluded = {m.split(".")[0] for m in ab.EXCLUDED_PYTHON_MODULES}
    assert not tops & excluded


@pytest.mark.parametrize(("dest", "kept"), [
    # Linux layout (PySide6/Qt/...)
    ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
    ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
    ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
    ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
    ("PySide6/Qt/plugins/printsupport/libcupsprintersupport.so", True),
    ("PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so", True),
    ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
    ("PySide6/Qt/plugins/generic/libqevdevtouchplugin.so", False),
    ("PySide6/Qt/lib/libQt6Network.so.6", False),
    ("libQt6Network.so.6", False),
    ("PySide6/Qt/lib/libQt6XcbQpa.so.6", True),
    ("PySide6/Qt/lib/libicudata.so.73", True),
    ("PySide6/Qt/translations/qtbase_zh_CN.qm", True),
    ("PySide6/Qt/translations/qt_en.qm", True),
    ("PySide6/Qt/translations/qtbase_de.qm", False),
    ("PySide6/Qt/translations/qt_help_zh_CN.qm", False),
    # Windows layout (PySide6\plugins, Qt DLLs beside the bindings), backslashes as on Windows
    ("PySide6\\plugins\\platforms\\qwindows.dll", True),
    ("PySide6\\plugins\\platforms\\qdirect2d.dll", False),
    ("PySide6\\plugins\\styles\\qmodernwindowsstyle.dll", True),
    ("PySide6\\plugins\\imageformats\\qjpeg.dll", True),
    ("PySide6\\plugins\\imageformats\\qwebp.dll", False),
    ("PySide6\\translations\\qtbase_zh_CN.qm", True),
    ("PySide6\\translations\\qtbase_ja.qm", False),
    ("PySide6\\Qt6Widgets.dll", True),
    ("PySide6\\Qt6Network.dll", False),
    ("PySide6\\Qt6Qml.dll", False),
    ("PySide6\\opengl32sw.dll", False),
    ("PySide6\\msvcp140.dll", True),
    ("python311.dll", True),
])
def test_which_qt_files_ship(dest, kept):
    assert ab.keep_file(dest) is kept


def test_every_resource_ships_whole():
    files = [p for p in (ROOT / "resources").rglob("*") if p.is_file()]
    assert any(p.suffix == ".otf" for p in files)
    for path in files:
        rel = path.relative_to(ROOT)
        assert ab.keep_file(str(rel)), rel
        assert ab.keep_file(str(rel).replace("/", "\\")), rel


@pytest.mark.parametrize(("src", "platform", "system"), [
    ("/usr/lib/x86_64-linux-gnu/libX11.so.6", "linux", True),
    ("/lib/x86_64-linux-gnu/libssl.so.3", "linux", True),
    ("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "linux", True),
    ("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "linux", False),  # the interpreter stays bundled
    ("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "linux", False),
    ("/home/ci/.venv/lib/python3.11/site-packages/PySide6/Qt/lib/libQt6Core.so.6", "linux", False),
    ("C:\\Windows\\System32\\ucrtbase.dll", "win32", False),
    ("C:\\Python311\\python311.dll", "win32", False),
])
def test_system_libraries_are_left_to_the_package_depends(src, platform, system):
    assert ab.is_system_library(src, platform) is system


def test_programs_per_platform():
    assert ab.executables("win32") == [("anju", False), ("anju-cli", True)]
    assert ab.executables("linux") == [("anju", False)]
    ico = ab.icon_file("win32", ROOT)
    assert ico is not None and Path(ico).is_file() and Path(ico).read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert ab.icon_file("linux", ROOT) is None


def test_one_version_number():
    import app

    version = ab.project_version(ROOT / "pyproject.toml")
    assert app.__version__ == version


@pytest.mark.parametrize(("version", "numbers", "debian"), [
    ("0.1.0", (0, 1, 0, 0), "0.1.0"),
    ("1.2", (1, 2, 0, 0), "1.2"),
    ("1.2.3rc1", (1, 2, 3, 0), "1.2.3~rc1"),
    ("2.0.0.dev4", (2, 0, 0, 0), "2.0.0~dev4"),
    ("2.0.1.post2", (2, 0, 1, 0), "2.0.1+post2"),
])
def test_version_forms(version, numbers, debian):
    assert ab.version_tuple(version) == numbers
    assert ab.debian_version(version) == debian


def test_bad_versions_are_refused():
    with pytest.raises(ValueError):
        ab.version_tuple("v1")
    with pytest.raises(ValueError):
        ab.version_tuple("70000.0")


def test_windows_version_resource_text():
    version = ab.project_version(ROOT / "pyproject.toml")
    seen: dict[str, object] = {}

    def record(kind):
        def make(*args, **kwargs):
            seen.setdefault(kind, []).append((args, kwargs))
            return (kind, args, kwargs)
        return make

    names = ["VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct"]
    text = ab.windows_version_info(version, "anju-cli")
    eval(compile(text, "version-file", "eval"), {n: record(n) for n in names})  # noqa: S307 - our own text
    fixed = seen["FixedFileInfo"][0][1]
    assert fixed["filevers"] == fixed["prodvers"] == ab.version_tuple(version)
    strings = dict(args for args, _ in seen["StringStruct"])
    assert strings["ProductVersion"] == strings["FileVersion"] == version
    assert strings["OriginalFilename"] == "anju-cli.exe"
    assert strings["ProductName"] == "安居台账"
    assert seen["StringTable"][0][0][0] == "080404b0"  # Chinese (PRC), Unicode


def test_windows_version_resource_loads_in_pyinstaller_when_available(tmp_path):
    versioninfo = pytest.importorskip("PyInstaller.utils.win32.versioninfo")
    path = tmp_path / "v.txt"
    path.write_text(ab.windows_version_info("1.2.3", "anju"), encoding="utf-8")
    info = versioninfo.load_version_info_from_text_file(str(path))
    assert info.ffi.fileVersionMS == (1 << 16) | 2


def test_desktop_entry():
    text = (ROOT / "packaging" / "linux" / "anju.desktop").read_text(encoding="utf-8")
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert fields["Name"] == fields["Name[zh_CN]"] == "安居台账"
    assert fields["Exec"] == "anju" and fields["Icon"] == "anju" and fields["Terminal"] == "false"


def test_inno_setup_script():
    raw = (ROOT / "packaging" / "windows" / "anju.iss").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: how Inno Setup knows the file is UTF-8
    text = raw.decode("utf-8-sig")
    assert "ChineseSimplified.isl" in text
    assert "{group}\\安居台账" in text  # Start-menu entry
    # The version comes from the built program's version resource, never typed in here.
    assert re.search(r"GetVersionNumbersString|GetStringFileInfo", text)
    assert not re.search(r"AppVersion\s*=\s*\d", text)
    # The uninstaller deletes only the program folder, never the data folder.
    uninstall = text.split("[UninstallDelete]", 1)[1].split("\n[", 1)[0] if "[UninstallDelete]" in text else ""
    assert "localappdata" not in uninstall.lower() and "userappdata" not in uninstall.lower()


def test_spec_uses_the_tested_rules():
    spec = (ROOT / "build_installer.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    for rule in ("excluded_qt_modules", "EXCLUDED_PYTHON_MODULES", "keep_file", "is_system_library",
                 "executables", "icon_file", "windows_version_info", "project_version"):
        assert f"anju_build.{rule}" in spec, rule
