"""Every write the window makes runs as one operation (``perform()`` or the op runner), read from the source with ast.

A data-layer *writer* is a function of app.models that opens a write transaction (``with db.write()``,
``with local_transaction(db)``) or calls a writer. In app/ui, the database handed to a writer must be
the parameter of the function around the call: the ``db`` that ``perform()`` or ``OpRunner.run`` passes
to its action, as in ``perform(ctx, self, lambda db: places.rename(db, ...))``. A window's own
connection (``self.ctx.db``, ``ctx.db``, a local ``db = self.ctx.db``) handed to a writer is a write
outside any operation: no single undo step, no single refresh, its own error handling.

A function of app/ui that hands its own parameter to a writer (a dialog's ``save(self, db)`` that
``perform`` runs) is a writer too, so whoever calls it is checked the same way.

A write that is not a clerk's edit (an audit entry that something was viewed or printed, a login
before any window exists) may stay direct: its line, or the line above it, says why in a comment
starting with ``direct write:``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "direct write:"

Key = tuple[str, str]  # (module, function name)


@dataclass
class _Module:
    name: str
    path: Path
    tree: ast.Module
    lines: list[str]
    names: dict[str, tuple[str, str | None]]  # local name -> (module, attribute or None)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, module: str) -> dict[str, tuple[str, str | None]]:
    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):  # imports inside functions too
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                names[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = (alias.name, None)
    return names


def _modules(root: Path) -> dict[str, _Module]:
    out = {}
    for path in sorted((root / "app").rglob("*.py")):
        name = _module_name(root, path)
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        out[name] = _Module(name, path, tree, text.splitlines(), _imports(tree, name))
    return out


def _callee(call: ast.Call, mod: _Module, modules: dict[str, _Module]) -> Key | None:
    """The function a call names: `places.rename(...)`, `rename(...)` imported, `self.save(...)`, `save(...)`."""
    func = call.func
    if isinstance(func, ast.Name):
        if func.id in mod.names:
            base, attr = mod.names[func.id]
            if attr is None or f"{base}.{attr}" in modules:
                return None
            return (base, attr)
        return (mod.name, func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id == "self":
            return (mod.name, func.attr)
        if func.value.id in mod.names:
            base, attr = mod.names[func.value.id]
            target = base if attr is None else f"{base}.{attr}"
            if target in modules:
                return (target, func.attr)
    return None


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


def _db_param(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, str]:
    """Which positional parameter (self left out) is the database, and its name."""
    params = [a for a in fn.args.posonlyargs + fn.args.args if a.arg not in ("self", "cls")]
    for i, a in enumerate(params):
        if a.arg == "db" or (a.annotation is not None and ast.unparse(a.annotation).endswith("Database")):
            return i, a.arg
    return 0, params[0].arg if params else ""


def _db_argument(call: ast.Call, where: tuple[int, str]) -> ast.expr | None:
    index, name = where
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return call.args[index] if index < len(call.args) else None


def _opens_write(fn: ast.AST) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.With):
            for item in node.items:
                e = item.context_expr
                if isinstance(e, ast.Call) and (
                    (isinstance(e.func, ast.Attribute) and e.func.attr == "write")
                    or (isinstance(e.func, ast.Name) and e.func.id == "local_transaction")
                ):
                    return True
    return False


def writers(modules: dict[str, _Module]) -> dict[Key, tuple[int, str]]:
    """The data layer's writers (top-level functions), each with where its database argument goes."""
    funcs = {(m.name, node.name): node for m in modules.values() if m.name.startswith("app.models")
             for node in m.tree.body if isinstance(node, ast.FunctionDef)}
    calls = {key: {_callee(n, modules[key[0]], modules) for n in ast.walk(fn) if isinstance(n, ast.Call)}
             for key, fn in funcs.items()}
    found = {key for key, fn in funcs.items() if _opens_write(fn)}
    grew = True
    while grew:
        grew = False
        for key in funcs:
            if key not in found and not calls[key].isdisjoint(found):
                found.add(key)
                grew = True
    return {key: _db_param(funcs[key]) for key in found}


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    call: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.call}"


def _marked(mod: _Module, call: ast.Call) -> bool:
    first = call.lineno - 1
    return any(MARK in line for line in mod.lines[max(0, first - 1): call.end_lineno or first + 1])


def _visit(node: ast.AST, stack: list[ast.AST], mod: _Module, calls: list[tuple[ast.Call, list[ast.AST]]]) -> None:
    if isinstance(node, ast.Call):
        calls.append((node, stack))
    inner = [*stack, node] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else stack
    for child in ast.iter_child_nodes(node):
        _visit(child, inner, mod, calls)


def direct_writes(root: Path = ROOT) -> list[Offence]:
    """Calls in app/ui that hand a writer a database that is not their own function's parameter."""
    modules = _modules(root)
    known = writers(modules)
    calls: list[tuple[_Module, ast.Call, Key | None, list[ast.AST]]] = []
    for mod in modules.values():
        if mod.name.startswith("app.ui"):
            found: list[tuple[ast.Call, list[ast.AST]]] = []
            _visit(mod.tree, [], mod, found)
            calls += [(mod, call, _callee(call, mod, modules), stack) for call, stack in found]
    while True:
        offences: list[Offence] = []
        relays: dict[Key, tuple[int, str]] = {}
        for mod, call, key, stack in calls:
            if key not in known or _marked(mod, call):
                continue
            arg = _db_argument(call, known[key])
            if arg is None:
                continue
            owner = next((f for f in reversed(stack) if isinstance(arg, ast.Name) and arg.id in _params(f)), None)
            if owner is None:
                offences.append(Offence(str(mod.path.relative_to(root)), call.lineno,
                                        f"{ast.unparse(call.func)}({ast.unparse(arg)}, …)"))
            elif isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # Its caller hands the database in: a writer of app/ui, checked where it is called.
                assert isinstance(arg, ast.Name)
                positional = [a.arg for a in owner.args.posonlyargs + owner.args.args if a.arg not in ("self", "cls")]
                index = positional.index(arg.id) if arg.id in positional else len(positional)
                relays[(mod.name, owner.name)] = (index, arg.id)
        if set(relays) <= set(known):
            return sorted(offences, key=lambda o: (o.path, o.line))
        known = {**relays, **known}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_rule_sees_a_direct_write_and_accepts_one_run_by_perform(tmp_path):
    _write(tmp_path, {
        "app/__init__.py": "", "app/models/__init__.py": "", "app/ui/__init__.py": "",
        "app/models/things.py": (
            "def rename(db, thing_id, name):\n    with db.write() as tx:\n        tx.update('t', thing_id, {})\n"
            "def rename_twice(db, thing_id):\n    rename(db, thing_id, 'a')\n"
            "def get(db, thing_id):\n    return db.one('SELECT 1')\n"
        ),
        "app/ui/tab.py": (
            "from app.models import things\n"
            "from app.models.things import rename_twice\n"
            "class Tab:\n"
            "    def direct(self):\n        things.rename(self.ctx.db, 'x', 'y')\n"
            "    def local(self):\n        db = self.ctx.db\n        rename_twice(db, 'x')\n"
            "    def read(self):\n        return things.get(self.ctx.db, 'x')\n"
            "    def performed(self):\n        perform(self.ctx, self, lambda db: things.rename(db, 'x', 'y'))\n"
            "    def save(self, db):\n        things.rename(db, 'x', self.name)\n"
            "    def accept(self):\n        perform(self.ctx, self, self.save)\n"
            "    def bypass(self):\n        self.save(self.ctx.db)\n"
            "    def viewed(self):\n        # direct write: an audit entry, not an edit\n"
            "        things.rename(self.ctx.db, 'x', 'y')\n"
        ),
    })
    found = [(o.line, o.call) for o in direct_writes(tmp_path)]
    assert found == [(5, "things.rename(self.ctx.db, …)"), (8, "rename_twice(db, …)"), (18, "self.save(self.ctx.db, …)")]


def test_every_write_from_the_window_runs_as_one_operation():
    modules = _modules(ROOT)
    assert len(writers(modules)) > 80, "the data layer's writers were not found"
    offences = direct_writes()
    assert not offences, (
        "write through perform(self.ctx, self, lambda db: …) or the op runner, or say why not with a "
        f"'# {MARK} …' comment:\n" + "\n".join(map(str, offences))
    )
