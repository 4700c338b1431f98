"""Build-time rules shared by build_installer.spec and the package scripts (no PyInstaller import).

Everything that depends on the build platform is a plain function of its inputs (platform name,
file names as strings in either slash style), so tests evaluate the Windows branches on Linux.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

APP_NAME = "安居台账"
PACKAGE = "anju"
PUBLISHER = "安居台账项目组"

# Qt modules the program imports (tests/test_packaging.py checks this against app/ by parsing it).
# Every other PySide6 module is excluded from the build.
KEPT_QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtPrintSupport", "QtSvg")

# Qt shared libraries behind those modules and the kept plugins (Linux libQt6X.so.6 / Windows Qt6X.dll).
# DBus: QtGui links it on Linux; XcbQpa/Wayland*/OpenGL: the X11 and Wayland platform plugins.
KEPT_QT_LIBS = frozenset({
    "Core", "Gui", "Widgets", "PrintSupport", "Svg", "DBus", "OpenGL",
    "XcbQpa", "WaylandClient", "WaylandEglClientHwIntegration", "WlShellIntegration",
})

# Plugin folders kept, and for some of them which plugins (by stem, without lib prefix/suffix).
# Not kept: generic (touch/evdev input for embedded boards), egldeviceintegrations (eglfs),
# networkinformation and tls (QtNetwork), sqldrivers (the program uses Python's sqlite3).
KEPT_PLUGINS: dict[str, frozenset[str] | None] = {
    "platforms": frozenset({"qxcb", "qwayland", "qwayland-egl", "qwayland-generic", "qoffscreen",
                            "qminimal", "qwindows", "qcocoa"}),
    # gtk3 would pull GTK into the package's dependencies; the portal theme needs only D-Bus.
    "platformthemes": frozenset({"qxdgdesktopportal"}),
    "platforminputcontexts": None,  # ibus/compose: Chinese input methods
    "imageformats": frozenset({"qsvg", "qico", "qjpeg", "qgif"}),
    "iconengines": None,
    "printsupport": None,  # CUPS printers on Linux
    "styles": None,  # the Windows 11 style
    "xcbglintegrations": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "wayland-shell-integration": None,
}

# Qt's own translations: Chinese for the office, English as the fallback.
KEPT_TRANSLATION = re.compile(r"^qt(base)?_(zh_CN|en)\.qm$")

# Python modules never used at run time: development tools, other GUI toolkits, the C parts of
# Japanese/Korean/Traditional-Chinese codecs, and what openpyxl imports only if it happens to be
# installed (numpy, pandas, Pillow: ~50 MB that a build venv with matplotlib would drag in).
EXCLUDED_PYTHON_MODULES = (
    "tkinter", "_tkinter", "idlelib", "lib2to3", "pydoc_data", "ensurepip", "venv", "test",
    "IPython", "pytest", "_pytest", "hypothesis", "setuptools", "pkg_resources", "pip", "PyInstaller",
    "numpy", "pandas", "PIL", "matplotlib",
    "_codecs_jp", "_codecs_kr", "_codecs_tw", "_codecs_hk", "_codecs_iso2022",
)

# On Linux, libraries from the system's own folders come from the Debian packages named in the
# package's Depends (dpkg-shlibdeps works them out) instead of being copied. The interpreter
# stays bundled even from a system Python: the bundled standard library is compiled for it.
SYSTEM_LIB_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")
BUNDLED_SYSTEM_LIBS = re.compile(r"^libpython3[.\d]*\.so")


def project_version(pyproject: Path) -> str:
    """The one version number, from pyproject.toml."""
    with pyproject.open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def _parts(dest: str) -> tuple[str, ...]:
    return tuple(p for p in dest.replace("\\", "/").split("/") if p)


def excluded_qt_modules(available: Iterable[str]) -> list[str]:
    """`PySide6.X` names to exclude: every available Qt module the program does not import."""
    return [f"PySide6.{m}" for m in available if m not in KEPT_QT_MODULES]


def qt_library_module(name: str) -> str | None:
    """'libQt6Network.so.6' or 'Qt6Network.dll' -> 'Network'; None if not a Qt library."""
    m = re.match(r"^(?:lib)?Qt6(\w+?)(?:\.so(?:\.\d+)*|\.dll)$", name)
    return m.group(1) if m else None


def plugin_stem(name: str) -> str:
    """'libqxcb.so' -> 'qxcb', 'qwindows.dll' -> 'qwindows', 'libqwayland-egl.so' -> 'qwayland-egl'."""
    stem = name.split(".")[0]
    return stem[3:] if stem.startswith("lib") else stem


def keep_file(dest: str) -> bool:
    """Whether a collected file (its destination inside the bundle, either slash style) is shipped."""
    parts = _parts(dest)
    if not parts:
        return True
    name = parts[-1]
    module = qt_library_module(name)
    if module is not None:
        return module in KEPT_QT_LIBS
    if name == "opengl32sw.dll":  # Windows software OpenGL for Qt Quick; widgets paint without it
        return False
    if "PySide6" in parts:
        if "plugins" in parts:
            i = parts.index("plugins")
            if len(parts) < i + 3:
                return True
            kind = parts[i + 1]
            if kind not in KEPT_PLUGINS:
                return False
            allowed = KEPT_PLUGINS[kind]
            return allowed is None or plugin_stem(name) in allowed
        if "translations" in parts:
            return bool(KEPT_TRANSLATION.match(name))
    return True


def is_system_library(src: str, platform: str) -> bool:
    """A Linux shared library that comes from the system's folders (left to the package's Depends)."""
    if not platform.startswith("linux") or not src:
        return False
    path = PurePosixPath(src)
    if not any(str(path).startswith(d) for d in SYSTEM_LIB_DIRS):
        return False
    return not BUNDLED_SYSTEM_LIBS.match(path.name)


def executables(platform: str) -> list[tuple[str, bool]]:
    """(name, console) of the programs to build.

    Windows needs two: a windowed `anju.exe` (no console flashing up) and a console `anju-cli.exe`
    for scripts. Elsewhere there is no such difference, so one program serves both names
    (`anju-cli` is a link to it) and the bundle does not carry the Python archive twice.
    """
    if platform.startswith("win"):
        return [("anju", False), ("anju-cli", True)]
    return [("anju", False)]


def icon_file(platform: str, root: Path) -> str | None:
    """The program icon PyInstaller embeds (Windows .ico); Linux desktops use the packaged icon."""
    if platform.startswith("win"):
        return str(root / "resources" / "icons" / "anju.ico")
    return None


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """'1.2.3rc1' -> (1, 2, 3, 0): the four 16-bit numbers of a Windows version resource."""
    release = re.match(r"^\d+(\.\d+)*", version)
    if not release:
        raise ValueError(f"not a release version: {version!r}")
    numbers = [int(n) for n in release.group(0).split(".")][:3]
    numbers += [0] * (4 - len(numbers))
    if any(n > 0xFFFF for n in numbers):
        raise ValueError(f"version part over 65535: {version!r}")
    return tuple(numbers)  # type: ignore[return-value]


def windows_version_info(version: str, exe_name: str) -> str:
    """The text of a PyInstaller version file (VSVersionInfo) for one Windows program."""
    fixed = version_tuple(version)
    strings = {
        "CompanyName": PUBLISHER,
        "FileDescription": APP_NAME if exe_name == "anju" else f"{APP_NAME}（命令行）",
        "FileVersion": version,
        "InternalName": exe_name,
        "LegalCopyright": PUBLISHER,
        "OriginalFilename": f"{exe_name}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
    }
    table = ",\n          ".join(f"StringStruct({k!r}, {v!r})" for k, v in strings.items())
    # 0x0804 = Chinese (PRC), 0x04B0 = 1200, Unicode.
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={fixed}, prodvers={fixed}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('080404b0', [
          {table}])]),
    VarFileInfo([VarStruct('Translation', [2052, 1200])])
  ]
)
"""


def debian_version(version: str) -> str:
    """A PEP 440 version as a Debian one that sorts the same: pre-releases before the release."""
    m = re.match(r"^(\d+(?:\.\d+)*)(?:\.?(a|b|rc|dev)\.?(\d*))?(?:\.?post\.?(\d+))?$", version)
    if not m:
        raise ValueError(f"unsupported version: {version!r}")
    base, pre, pre_n, post = m.groups()
    out = base
    if pre:
        out += f"~{pre}{pre_n}"
    if post:
        out += f"+post{post}"
    return out
