"""The layer's structure: handlers → api → logic → dal → keys, no import cycle, and AWS's own
exceptions stay inside dal/ (house-style.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYER = ROOT / "layers" / "core" / "python"
PACKAGE = "customers_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The layer's modules that `path` imports, at any depth (a function-level import is a cycle too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
    return found & modules


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in (LAYER / PACKAGE).rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name} for name, path in paths.items()}


def test_the_layer_has_no_import_cycle():
    graph = _graph()
    assert len(graph) > 40
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            # A package's __init__ importing its own submodules is not a cycle of modules.
            if node == target.rpartition(".")[0]:
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" → ".join(cycle) for cycle in cycles)


def test_no_botocore_exception_above_the_dal():
    """The DAL translates AWS's errors into its own (ConditionFailed, ReceiptTaken, TransactionConflict
    …); nothing above it imports botocore or names ClientError."""
    offenders = []
    for path in [*(LAYER / PACKAGE).rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        relative = path.relative_to(ROOT)
        if "dal" in path.parts or path.name == "awsclients.py":
            continue
        text = path.read_text()
        if "botocore" in text or "ClientError" in text:
            offenders.append(str(relative))
    assert not offenders, offenders


def test_modules_import_only_downwards():
    """dal imports no logic or api; logic imports no api; models import no dal or logic."""
    graph = _graph()
    rules = {f"{PACKAGE}.dal": ("logic", "api", "idempotency", "ratelimit"),
             f"{PACKAGE}.logic": ("api",),
             f"{PACKAGE}.models": ("dal", "logic", "api")}
    for module, targets in graph.items():
        for prefix, forbidden in rules.items():
            if module.startswith(prefix):
                bad = {t for t in targets if any(t.startswith(f"{PACKAGE}.{f}") for f in forbidden)}
                assert not bad, f"{module} imports {bad}"
