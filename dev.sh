#!/usr/bin/env bash
# Set up everything Anju needs (once) and then run it:
#   ./dev.sh run      – the program on a demo community (generated on first run)
#   ./dev.sh test     – the whole test suite
#   ./dev.sh check    – ruff and mypy over the source (CI runs it after the tests)
#   ./dev.sh package  – the Debian package dist/anju_<version>_amd64.deb (PyInstaller build inside)
# Extra arguments after `run` go to the program (e.g. ./dev.sh run --db my.db).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON=${PYTHON:-python3}
VENV=.venv

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages: a CJK font (Chinese text), poppler-utils (PDF checks in tests), LibreOffice Calc
# (a real spreadsheet client for the Excel round-trip tests), and the X/EGL libraries Qt loads.
RUN_PACKAGES=(fonts-noto-cjk libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
              libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1)
TEST_PACKAGES=(poppler-utils libreoffice-calc-nogui)
# Building the package: dpkg-shlibdeps (Depends), and every system library the bundled Qt links to
# must be present for it to name its package (the Wayland and printing ones are not in RUN_PACKAGES).
PACKAGE_PACKAGES=(dpkg-dev libwayland-client0 libwayland-cursor0 libwayland-egl1 libcups2)

install_debian_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "Missing Debian packages (install them as root): ${missing[*]}"; return 0; fi
  fi
  say "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_python() {
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "Installing Python packages ($extras)"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".[$extras]"
    touch "$stamp"
  fi
}

cmd=${1:-run}
shift || true
case "$cmd" in
  run)
    install_debian_packages "${RUN_PACKAGES[@]}"
    setup_python run
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
      # No screen on this machine: serve the window over VNC instead of failing.
      export QT_QPA_PLATFORM="vnc:size=1366x800:port=5900"
      say "No display found: the window is served over VNC — connect a VNC viewer to localhost:5900"
    fi
    if [ $# -eq 0 ]; then set -- --demo; fi
    exec "$VENV/bin/python" -m app "$@"
    ;;
  test)
    install_debian_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    setup_python test
    export QT_QPA_PLATFORM=offscreen
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  check)
    # Source checks CI runs beside the tests: lint, and types (strict for the data layer).
    setup_python test
    "$VENV/bin/ruff" check app tests bench
    "$VENV/bin/mypy"
    ;;
  package)
    install_debian_packages "${RUN_PACKAGES[@]}" "${PACKAGE_PACKAGES[@]}"
    setup_python build
    export QT_QPA_PLATFORM=offscreen  # the menu icons are rendered from the SVG by Qt
    start=$SECONDS
    say "Building the program folder (PyInstaller → dist/anju)"
    rm -rf dist/anju build/build_installer
    "$VENV/bin/pyinstaller" --noconfirm --log-level WARN build_installer.spec
    say "Building the Debian package"
    deb=$("$VENV/bin/python" packaging/linux/build_deb.py --bundle dist/anju --out dist "$@")
    say "$deb: $(du -h "$deb" | cut -f1) (program folder $(du -sh dist/anju | cut -f1)), built in $((SECONDS - start)) s"
    ;;
  *)
    echo "usage: ./dev.sh run [program arguments] | ./dev.sh test [pytest arguments] | ./dev.sh check | ./dev.sh package" >&2
    exit 2
    ;;
esac
