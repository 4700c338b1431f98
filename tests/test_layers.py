"""The layers of app/, read from the source with ast (imports inside functions count too).

- No import cycle between modules (an import inside a function does not make a cycle acceptable;
  an import under ``if TYPE_CHECKING:`` never runs and is left out of the cycle check only).
- The data layer (app.models) imports no Qt, no window code, no widget and no command line.
- app.widgets imports nothing from app.ui.
- app.ui.common imports no feature package of app.ui.
- A message box is shown only through app.ui.common.messages (no QMessageBox static call elsewhere).

``python bench/import_graph.py`` prints the whole graph and its cycles.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Cycles known and not yet broken, each a set of its modules: none. Never add one: a module the
# write path (core) needs from a feature moves down into core, or the feature registers itself with
# core (as labour_snapshot does with scope.on_principal_change).
KNOWN_CYCLES: list[set[str]] = []


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "bench" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


graph_tool = _tool()


def _all_imports() -> dict[str, set[str]]:
    """Module → every dotted name it imports, type-checking imports included (for the layer rules)."""
    return {name: graph_tool.imported_names(name, path, runtime_only=False)
            for name, path in graph_tool.modules(ROOT).items()}


def _offences(rule: callable, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in _all_imports().items() if rule(name)
        for target in targets if any(target == f or target.startswith(f + ".") for f in forbidden)
    )


def test_the_tool_sees_imports_inside_functions_and_leaves_out_type_checking_ones(tmp_path):
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from app import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.c import X\n"
                              "import app.a\n")
    (pkg / "c.py").write_text("from app.b import Y\n")
    edges = graph_tool.graph(tmp_path)
    assert edges["app.a"] == {"app.b"} and edges["app.b"] == {"app.a"} and edges["app.c"] == {"app.b"}
    assert graph_tool.cycles(edges) == [["app.a", "app.b"]]
    assert graph_tool.graph(tmp_path, runtime_only=False)["app.b"] == {"app.a", "app.c"}


def test_no_import_cycles():
    edges = graph_tool.graph(ROOT)
    assert len(edges) > 100, "the app modules were not found"
    found = graph_tool.cycles(edges)
    new = [" -> ".join(graph_tool.cycle_path(edges, c)) for c in found
           if not any(set(c) <= known for known in KNOWN_CYCLES)]
    assert not new, "import cycles (imports inside functions count):\n" + "\n".join(new)
    gone = [sorted(known) for known in KNOWN_CYCLES if not any(set(c) & known for c in found)]
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES in {Path(__file__).name}: {gone}"


def test_the_data_layer_imports_no_qt_no_ui_no_widgets_no_cli():
    forbidden = ("PySide6", "shiboken6", "app.ui", "app.widgets", "app.cli", "app.commands")
    assert _offences(lambda name: name.startswith("app.models."), forbidden) == []


def test_widgets_import_nothing_from_the_windows():
    assert _offences(lambda name: name.startswith("app.widgets."), ("app.ui",)) == []


def test_the_common_ui_imports_no_feature():
    features = tuple(f"app.ui.{d.name}" for d in (ROOT / "app" / "ui").iterdir()
                     if (d / "__init__.py").is_file() and d.name != "common")
    assert len(features) > 5, "the feature packages of app/ui were not found"
    assert _offences(lambda name: name.startswith("app.ui.common."), features) == []


_BOX_STATICS = {"question", "warning", "information", "critical", "about", "aboutQt"}


def _message_box_calls(path: Path, root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root).as_posix()}:{node.lineno} QMessageBox.{node.attr}"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and node.attr in _BOX_STATICS
            and isinstance(node.value, ast.Name) and node.value.id == "QMessageBox"]


def test_the_scan_sees_a_static_message_box_call(tmp_path):
    module = tmp_path / "app" / "ui" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text("from PySide6.QtWidgets import QMessageBox\n\ndef f(w):\n"
                      "    ask = QMessageBox.question\n    QMessageBox.warning(w, 't', 'x')\n")
    assert _message_box_calls(module, tmp_path) == ["app/ui/x.py:4 QMessageBox.question",
                                                    "app/ui/x.py:5 QMessageBox.warning"]


def test_message_boxes_go_through_the_one_seam():
    """Windows and widgets ask and tell through app.ui.common.messages, which tests answer (the
    ``messages`` fixture); a QMessageBox static call elsewhere would wait for a click in a test."""
    seam = ROOT / "app" / "ui" / "common" / "messages.py"
    files = sorted(p for folder in ("ui", "widgets") for p in (ROOT / "app" / folder).rglob("*.py") if p != seam)
    assert len(files) > 50, "the window modules were not found"
    assert _message_box_calls(seam), "the seam itself was not found"
    assert [c for p in files for c in _message_box_calls(p)] == []


def _imported_test_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if (n == "tests" or n.startswith("tests.")) and not n.startswith("tests.builders")]


def test_tests_share_helpers_only_through_the_builders(tmp_path):
    """A test file imports no other test file (nor a conftest): what tests share lives in tests/builders."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("from tests.builders.sync import N\nfrom tests.models.test_sync import PASS\n"
                     "def test_x():\n    from tests.conftest import type_text\n")
    assert _imported_test_modules(probe) == ["tests.models.test_sync", "tests.conftest"]
    files = sorted((ROOT / "tests").rglob("*.py"))
    assert len(files) > 50, "the test files were not found"
    offences = [f"{p.relative_to(ROOT).as_posix()} imports {m}" for p in files for m in _imported_test_modules(p)]
    assert offences == []
