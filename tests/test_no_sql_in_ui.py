"""No SQL text in app/ui or app/widgets: lists, filters and look-ups are query objects and
functions of the data layer (app.models), so SQL is never the contract between the layers.

Read with ast: only string literals count (f-strings with their fixed parts), not docstrings,
comments or Chinese UI text; a statement is recognised by its keywords in capitals, as every
query of the program is written.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_KW = r"(?<![^\s(])"  # a keyword starts the text or follows a space or "(" (not "（" in Chinese text)
SQL = re.compile(
    _KW + r"SELECT\s[\s\S]*?\sFROM\s"
    + "|" + _KW + r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s"
    + "|" + _KW + r"UPDATE\s+\w+\s+SET\s"
    + "|" + _KW + r"DELETE\s+FROM\s"
    + "|" + _KW + r"WHERE(?:\s+[A-Za-z_(\"+{?:]|\s*$)"
    + "|" + _KW + r"JOIN\s+\w+(?:\s+(?:AS\s+)?\w+)?\s+ON\s"
)

def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _text(node: ast.AST) -> str | None:
    """The literal text of a string constant or an f-string (placeholders as ``{}``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                       for v in node.values)
    return None


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in `source` that reads as SQL."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstring = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_fstring:
            continue
        text = _text(node)
        if text is not None and SQL.search(text):
            found.append((node.lineno, text))
    # Implicitly joined literals ("SELECT a " "FROM b") are one Constant already; a statement built
    # with + across lines is caught by its WHERE/FROM parts.
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for folder in ("app/ui", "app/widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            out[".".join(path.relative_to(ROOT).with_suffix("").parts)] = path
    return out


def test_the_check_sees_sql_and_leaves_out_chinese_text_and_docstrings():
    source = '''
"""A module that explains: SELECT name FROM person WHERE id = ?"""
# SELECT * FROM x WHERE y
LABEL = "选择（SELECT）居民，WHERE 不是关键字"
PROSE = "Select the rows where the name matches"
ok = f"共 {n} 条"
bad1 = "SELECT name FROM person"
bad2 = f"UPDATE person SET name = ? WHERE id = {pid}"
bad3 = ("p.deleted = 0 AND p.id IN (SELECT id FROM x) "
        "AND q = 1")
bad4 = "DELETE FROM visit"
bad5 = f" WHERE {cond}"
bad6 = "INSERT INTO meta(key, value) VALUES (?, ?)"
'''
    texts = {text for _line, text in sql_literals(source)}
    assert texts == {
        "SELECT name FROM person", "UPDATE person SET name = ? WHERE id = {}",
        "p.deleted = 0 AND p.id IN (SELECT id FROM x) AND q = 1", "DELETE FROM visit", " WHERE {}",
        "INSERT INTO meta(key, value) VALUES (?, ?)",
    }


def test_no_sql_text_in_windows_or_widgets():
    modules = _modules()
    assert len(modules) > 50, "the modules of app/ui and app/widgets were not found"
    offences = [f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
                for path in modules.values() for line, text in sql_literals(path.read_text(encoding="utf-8"))]
    assert not offences, ("SQL belongs in the data layer (app/models/<feature>): build a query object "
                          "or a function there and call it:\n" + "\n".join(offences))
