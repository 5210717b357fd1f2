"""The backend is a layer (issue 15): it imports nothing above it, and the remote and distributed
operations built on it hold no import circle, even through imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "artctl"
#: What artctl/backend/ may import: itself and the layers below it.
BELOW_BACKEND = ("artctl.backend", "artctl.base", "artctl.format", "artctl.errors")
#: Modules whose import circles this suite owns (the lead's layer test covers the rest).
CHECKED = ("artctl.backend", "artctl.ops.remote", "artctl.ops.distributed")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _annotation_only(tree: ast.Module) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: read by type checkers, never executed."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _imports(module: str, *, executed_only: bool) -> set[str]:
    """The artctl modules ``module`` imports anywhere in its source (in functions too)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skip = _annotation_only(tree) if executed_only else set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("artctl"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("artctl"):
            for alias in node.names:  # `from artctl.ops.remote import inventory` imports a module
                name = f"{node.module}.{alias.name}"
                found.add(name if name in MODULES else str(node.module))
    return found - {module}


def test_backend_imports_nothing_above_it() -> None:
    above = {
        f"{module} imports {name}"
        for module in MODULES
        if module.startswith("artctl.backend")
        for name in _imports(module, executed_only=False)
        if not name.startswith(BELOW_BACKEND)
    }
    assert above == set()


def _reaches(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_remote_distributed_or_backend_module_imports_itself_back() -> None:
    graph = {m: {n for n in _imports(m, executed_only=True) if n in MODULES} for m in MODULES}
    circles = sorted(m for m in MODULES if m.startswith(CHECKED) and m in _reaches(m, graph))
    assert circles == []
