"""One SQLite driver: no module under app/ imports the stdlib sqlite3 except the driver module."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
DRIVER = APP / "models" / "core" / "sqlite.py"


def _imports_sqlite3(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlite3" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            lines.append(node.lineno)
    return lines


def test_no_module_imports_sqlite3_directly():
    offenders = [f"{p.relative_to(APP.parent)}:{n}" for p in sorted(APP.rglob("*.py")) if p != DRIVER
                 for n in _imports_sqlite3(p)]
    assert offenders == [], "import the driver (app.models.core.sqlite), not sqlite3: " + ", ".join(offenders)


def test_the_guard_sees_an_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nimport sqlite3\nfrom sqlite3 import Row\n", encoding="utf-8")
    assert _imports_sqlite3(probe) == [2, 3]


def test_driver_errors_are_what_connections_raise(tmp_path):
    from app.models.core import sqlite as sqlite_driver

    conn = sqlite_driver.connect(str(tmp_path / "x.db"))
    try:
        conn.execute("SELECT * FROM missing")
    except sqlite_driver.OperationalError as exc:
        assert isinstance(exc, sqlite_driver.Error)
    else:
        raise AssertionError("no error raised")
    finally:
        conn.close()
