"""Builds dist/anju_<version>_amd64.deb from the PyInstaller folder dist/anju/ (run by ./dev.sh package).

Layout: the program in /opt/anju; /usr/bin/anju and /usr/bin/anju-cli link to it; a Chinese
desktop entry with hicolor icons; the bundled font's licence in /usr/share/doc/anju/. Depends
are worked out by dpkg-shlibdeps from every ELF file in the bundle, so a library left to the
system is always named. There are no maintainer scripts: dpkg removes exactly the files it
installed, and users' data folders (~/.local/share/anju) are never touched; the icon cache and
menu are refreshed by the triggers of hicolor-icon-theme and desktop-file-utils.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import anju_build  # noqa: E402
from make_icons import render_pngs  # noqa: E402

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
# A Chinese font for the window's own text (the printed forms carry their own). Recommends, not
# Depends: UOS and Kylin ship their own CJK fonts under other package names.
RECOMMENDS = "fonts-noto-cjk | fonts-wqy-microhei | fonts-wqy-zenhei"
# Qt finds fonts through fontconfig's configuration, which the library package alone lacks.
EXTRA_DEPENDS = ["fontconfig"]


def say(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def normalise_modes(tree: Path) -> None:
    """0755 for folders and executables, 0644 for the rest, whatever the build machine's umask was."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir() or os.stat(path).st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


def shlib_depends(work: Path, pkg_root: Path) -> list[str]:
    """Depends for every ELF file in the package, from dpkg-shlibdeps (with minimum versions)."""
    (work / "debian").mkdir(exist_ok=True)
    (work / "debian" / "control").write_text("Source: anju\n\nPackage: anju\nArchitecture: amd64\n")
    elves = [str(p.relative_to(work)) for p in pkg_root.rglob("*")
             if p.is_file() and not p.is_symlink() and is_elf(p)]
    internal = pkg_root.relative_to(work) / "opt" / "anju" / "_internal"
    out = subprocess.run(
        ["dpkg-shlibdeps", "-O", "--warnings=0", f"-l{internal}", *elves],
        cwd=work, check=True, capture_output=True, text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("shlibs:Depends="))
    return [d.strip() for d in line.split("=", 1)[1].split(",") if d.strip()]


def installed_size_kib(pkg_root: Path) -> int:
    total = 0
    for path in pkg_root.rglob("*"):
        if "DEBIAN" in path.relative_to(pkg_root).parts:
            continue
        total += 1 if path.is_symlink() or path.is_dir() else (path.stat().st_size + 1023) // 1024
    return total


def md5sums(pkg_root: Path) -> str:
    lines = []
    for path in sorted(pkg_root.rglob("*")):
        rel = path.relative_to(pkg_root)
        if rel.parts[0] == "DEBIAN" or path.is_symlink() or not path.is_file():
            continue
        lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {rel.as_posix()}\n")
    return "".join(lines)


def control_text(version: str, size_kib: int, depends: list[str]) -> str:
    return (
        f"Package: {anju_build.PACKAGE}\n"
        f"Version: {anju_build.debian_version(version)}\n"
        "Architecture: amd64\n"
        "Maintainer: Anju developers <anju@localhost>\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {', '.join(depends + EXTRA_DEPENDS)}\n"
        f"Recommends: {RECOMMENDS}\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Description: 安居台账 — ledgers for resettlement community service centres\n"
        " Household registry (一户一档), buildings and grids with visit rhythms,\n"
        " employment and training ledgers, the mediation log, printed forms, Excel\n"
        " in and out, and sync between office PCs by a file on a USB stick.\n"
        " One SQLite file per office PC; works offline.\n"
    )


def copyright_text() -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: anju\n\n"
        "Files: *\n"
        "Copyright: the Anju developers\n"
        "License: see the program's source repository\n\n"
        "Files: opt/anju/_internal/resources/fonts/*.otf\n"
        "Copyright: 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.\n"
        "License: OFL-1.1\n"
        " Subset and renamed from Noto Sans CJK SC 2.004; the full licence is in\n"
        " /usr/share/doc/anju/LICENSE-OFL.txt.\n\n"
        "Files: opt/anju/_internal/PySide6/* opt/anju/_internal/shiboken6/*\n"
        "Copyright: The Qt Company Ltd. and other contributors\n"
        "License: LGPL-3\n"
        " On Debian systems the licence is in /usr/share/common-licenses/LGPL-3.\n"
    )


def build(bundle: Path, out_dir: Path, work: Path, compress: str = "gzip") -> Path:
    version = anju_build.project_version(ROOT / "pyproject.toml")
    deb_version = anju_build.debian_version(version)
    if not (bundle / "anju").is_file():
        raise SystemExit(f"no PyInstaller build in {bundle}: run pyinstaller build_installer.spec first")
    shutil.rmtree(work, ignore_errors=True)
    pkg = work / "debian" / "anju"  # dpkg-shlibdeps recognises private libraries under debian/<pkg>
    (pkg / "DEBIAN").mkdir(parents=True)

    say(f"Staging {bundle} as /opt/anju")
    shutil.copytree(bundle, pkg / "opt" / "anju", symlinks=True)
    (pkg / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/anju/anju", pkg / "usr" / "bin" / "anju")
    os.symlink("/opt/anju/anju", pkg / "usr" / "bin" / "anju-cli")

    share = pkg / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy(HERE / "anju.desktop", share / "applications" / "anju.desktop")
    svg = ROOT / "resources" / "icons" / "anju.svg"
    (share / "icons" / "hicolor" / "scalable" / "apps").mkdir(parents=True)
    shutil.copy(svg, share / "icons" / "hicolor" / "scalable" / "apps" / "anju.svg")
    for size, data in render_pngs(list(ICON_SIZES), svg).items():
        folder = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        (folder / "anju.png").write_bytes(data)

    doc = share / "doc" / "anju"
    doc.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "fonts" / "LICENSE-OFL.txt", doc / "LICENSE-OFL.txt")
    (doc / "copyright").write_text(copyright_text(), encoding="utf-8")
    with gzip.GzipFile(doc / "changelog.gz", "wb", compresslevel=9, mtime=0) as fh:
        fh.write((ROOT / "CHANGELOG.md").read_bytes())

    normalise_modes(pkg)
    say("Working out Depends (dpkg-shlibdeps)")
    t0 = time.perf_counter()
    depends = shlib_depends(work, pkg)
    say(f"  {len(depends)} libraries' packages in {time.perf_counter() - t0:.0f} s")
    (pkg / "DEBIAN" / "md5sums").write_text(md5sums(pkg), encoding="utf-8")
    (pkg / "DEBIAN" / "control").write_text(control_text(version, installed_size_kib(pkg), depends),
                                            encoding="utf-8")
    normalise_modes(pkg / "DEBIAN")

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"anju_{deb_version}_amd64.deb"
    say(f"Packing {target.name} ({compress})")
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compress}", "--build", str(pkg), str(target)],
                   check=True, stdout=subprocess.DEVNULL)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "anju")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "deb")
    # gzip packs in ~25 s on a busy 2-core machine (62 MB); xz makes a 48 MB file but takes
    # minutes. Both are read by every dpkg of the Debian family (zstd needs dpkg >= 1.21.18).
    parser.add_argument("--compress", choices=["gzip", "xz"], default="gzip")
    args = parser.parse_args()
    target = build(args.bundle.resolve(), args.out.resolve(), args.work.resolve(), args.compress)
    print(target)


if __name__ == "__main__":
    main()
