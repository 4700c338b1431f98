"""Foundation benchmark: demo generation, database size, GUI start, memory, stats and tab switching.

Run: .venv/bin/python bench/bench.py [--sizes 23k,100k] [--runs 5] [--no-generate] [--no-gui]
Figures are printed as tables; nothing is asserted. Each size's reusable demo database lives in
bench/out (made once by bench/common.ensure_demo); generation is also timed fresh into a temp file.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SIZES, ensure_demo, median, print_table

PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
TIME_V = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def _run_measured(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[str, float, float | None]:
    """(stdout, wall seconds, peak RSS in MB or None) of a subprocess, measured by GNU time when present."""
    full = [TIME_V, "-v", *cmd] if TIME_V else cmd
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    peak = None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m:
        peak = int(m.group(1)) / 1024
    return proc.stdout, wall, peak


def bench_generation(size: str) -> list[tuple[str, str]]:
    households = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="anju-bench-") as tmp:
        path = Path(tmp) / "demo.db"
        code = (
            f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
            "from app.models.demo.demo import create_demo_database\n"
            f"t = time.perf_counter(); create_demo_database({str(path)!r}, {households}, seed=1)\n"
            "print('seconds', time.perf_counter() - t)\n"
        )
        out, wall, peak = _run_measured([PYTHON, "-c", code])
        seconds = float(out.split()[-1])
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    return [
        (f"{size} demo generation ({households:,} households)", f"{seconds:.1f} s (process {wall:.1f} s)"),
        (f"{size} generation peak memory", f"{peak:.0f} MB" if peak else "n/a (no GNU time)"),
        (f"{size} fresh database size", f"{size_mb:.0f} MB"),
    ]


def bench_database(size: str, path: Path) -> list[tuple[str, str]]:
    from app.models.core.db import open_database
    from app.models.dashboard import stats

    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    db = open_database(path)
    try:
        residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
        households = db.scalar("SELECT count(*) FROM household WHERE deleted = 0")
        stats.compute(db)  # first call reads the pages in; the figure is the warm median
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            stats.compute(db)
            times.append((time.perf_counter() - t0) * 1000)
        cpu0 = time.process_time()
        stats.compute(db)
        cpu = (time.process_time() - cpu0) * 1000
    finally:
        db.close()
    return [
        (f"{size} database", f"{households:,} households, {residents:,} residents, {size_mb:.0f} MB"),
        (f"{size} stats.compute median of 20", f"{median(times):.0f} ms (min {min(times):.0f}, CPU {cpu:.0f} ms)"),
    ]


def _peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory so far (VmHWM) of a running process, Linux only."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else None


def _start_gui_once(path: Path, env: dict[str, str], timeout: float = 120) -> tuple[float, float, float | None, bool]:
    """(shown ms as the app reports it, ms until the parent saw that line, peak MB, exited by itself)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-m", "app", "--db", str(path), "--smoke-test"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT, start_new_session=True)
    shown = seen = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            m = re.search(r"anju-shown-ms ([\d.]+)", line)
            if m:
                shown, seen = float(m.group(1)), (time.perf_counter() - t0) * 1000
                login = re.search(r"anju-login-ms ([\d.]+)", proc.stdout.readline())
                LOGIN_MS.append(float(login.group(1)) if login else float("nan"))
                break
            if time.monotonic() > deadline:
                break
        if shown is None:
            raise RuntimeError("no 'anju-shown-ms' line (the GUI did not report being shown)")
        peak = _peak_rss_mb(proc.pid)
        # Reap the child ourselves to read its lifetime peak (ru_maxrss, KB on Linux): the app
        # exits right after showing, usually before /proc could be read again.
        exited = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                exited = True
                proc.returncode = 0
                peak = max(peak or 0, usage.ru_maxrss / 1024)
                break
            time.sleep(0.02)
        return shown, seen, peak, exited
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


LOGIN_MS: list[float] = []


def _demo_credentials(path: Path, folder: Path) -> dict[str, str]:
    """The demo administrator's credentials (a demo file made before accounts existed gets them)."""
    from app.models.core import accounts
    from app.models.core.db import open_database

    db = open_database(path)
    try:
        if not accounts.has_accounts(db):
            accounts.create_demo_accounts(db)
    finally:
        db.close()
    password_file = folder / "password.txt"
    password_file.write_text(accounts.DEMO_PASSWORD, encoding="utf-8")
    return {"ANJU_USER": "管理员", "ANJU_PASSWORD_FILE": str(password_file)}


def bench_gui_start(size: str, path: Path, runs: int) -> list[tuple[str, str]]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.update(_demo_credentials(path, Path(tempfile.mkdtemp(prefix="anju-bench-"))))
    LOGIN_MS.clear()
    shown, seen, peaks, stuck = [], [], [], 0
    for _ in range(runs):
        try:
            s, w, peak, exited = _start_gui_once(path, env)
        except RuntimeError as exc:
            return [(f"{size} GUI start", f"failed: {exc}")]
        shown.append(s)
        seen.append(w)
        stuck += not exited
        if peak:
            peaks.append(peak)
    rows = [
        (f"{size} GUI start to window shown, median of {runs}",
         f"{median(shown):.0f} ms (seen by the parent after {median(seen):.0f} ms)"),
        (f"{size} GUI peak memory (ru_maxrss)", f"{max(peaks):.0f} MB" if peaks else "n/a"),
        (f"{size} GUI login (scrypt check of --password-file), median", f"{median(LOGIN_MS):.0f} ms"),
    ]
    if stuck:
        rows.append((f"{size} GUI exit after shown", f"did NOT exit by itself in {stuck} of {runs} runs (killed)"))
    return rows


def bench_tab_switch(size: str, path: Path) -> list[tuple[str, str]]:
    """Longest UI-thread stall while a clerk goes through the tabs (3 rounds, 0.4 s apart).

    A 5 ms heartbeat timer runs on the UI thread; the longest gap between two beats after a
    switch is that switch's stall (whatever ran in between: painting, queries, callbacks).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    from app.ui import app as ui_app

    qt_app = ui_app.ensure_application()
    window = ui_app.build_window(path)
    window.show()
    tabs = window.tabs
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()

    def settle(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            qt_app.processEvents()
            time.sleep(0.001)

    settle(3.0)  # start-up loads finish (the cold start is measured separately)
    worst = [(0.0, ""), (0.0, "")]  # first visit of each tab, later visits
    stalls = []
    try:
        for round_no in range(3):
            for i in range(tabs.count()):
                beats.clear()
                t0 = time.perf_counter()
                tabs.setCurrentIndex(i)
                settle(0.4)
                points = [t0, *beats]
                gap = max(b - a for a, b in zip(points, points[1:], strict=False)) * 1000 if beats else 400.0
                stalls.append(gap)
                slot = min(round_no, 1)
                if gap > worst[slot][0]:
                    worst[slot] = (gap, tabs.tabText(i))
    finally:
        heartbeat.stop()
        _close_quietly(window, qt_app)
    (first, first_name), (later, later_name) = worst
    return [(f"{size} UI stall on tab switch (heartbeat)",
             f"first visits worst {first:.0f} ms ({first_name}); later visits worst {later:.0f} ms "
             f"({later_name}); median {median(stalls):.0f} ms")]


def _close_quietly(window, qt_app) -> None:  # noqa: ANN001 - Qt objects imported lazily
    """Let background loads finish, then close without the "task still running" question."""
    from PySide6.QtWidgets import QMessageBox

    runner = getattr(getattr(window, "ctx", None), "runner", None)
    deadline = time.monotonic() + 60
    while runner is not None and getattr(runner, "busy", False) and time.monotonic() < deadline:
        qt_app.processEvents()
        time.sleep(0.02)
    original = QMessageBox.question
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)  # type: ignore[method-assign]
    try:
        shutdown = getattr(window, "shutdown", None)
        if shutdown:
            shutdown()
        else:
            window.close()
        qt_app.processEvents()
    finally:
        QMessageBox.question = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="23k,100k")
    parser.add_argument("--runs", type=int, default=5, help="GUI starts per size (median)")
    parser.add_argument("--no-generate", action="store_true", help="skip the fresh generation timing")
    parser.add_argument("--no-gui", action="store_true", help="skip GUI start and tab switching")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        rows: list[tuple[str, str]] = []
        if not args.no_generate:
            rows += bench_generation(size)
        path = ensure_demo(size)
        rows += bench_database(size, path)
        if not args.no_gui:
            rows += bench_gui_start(size, path, args.runs)
            rows += bench_tab_switch(size, path)
        print_table(f"Anju foundation benchmark — {size}", rows)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
