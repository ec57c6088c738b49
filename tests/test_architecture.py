"""The import contract of docs/architecture.md, checked over every import statement
(top-level and inside functions) of monitor/ and workers/.

A change that breaks the plan fails here; change the plan on purpose, in CONTRACT
below and in docs/architecture.md together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Layers, lowest first: a module may import its own layer and those listed for it.
LAYERS = {
    "monitor.core": {"monitor.core"},
    "monitor.adapters": {"monitor.core", "monitor.adapters"},
    "monitor.config": {"monitor.core", "monitor.adapters", "monitor.config"},
    "monitor.pipeline": {"monitor.core", "monitor.adapters", "monitor.config", "monitor.pipeline"},
    "monitor.service": {"monitor.core", "monitor.adapters", "monitor.config", "monitor.pipeline",
                        "monitor.service"},
    "monitor.web": {"monitor.core", "monitor.adapters", "monitor.config", "monitor.pipeline",
                    "monitor.service", "monitor.web"},
    "monitor.cli": {"monitor.core", "monitor.adapters", "monitor.config", "monitor.pipeline",
                    "monitor.service", "monitor.web", "monitor.cli"},
    "workers": {"monitor.core", "monitor.adapters", "monitor.config", "monitor.pipeline",
                "monitor.service", "workers"},
}
# The one door from the library's command line to the Celery app.
DOORS = {("monitor.cli.queue", "workers")}
# The core is pure: none of these, however indirectly asked for.
CORE_FORBIDDEN = {"sqlmodel", "sqlalchemy", "psycopg", "httpx", "httpcore", "requests", "apprise", "celery",
                  "kombu", "redis", "fastapi", "uvicorn", "click", "socket", "smtplib", "alembic", "billiard",
                  "urllib3", "aiohttp"}


def layer_of(module: str) -> str | None:
    for layer in sorted(LAYERS, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, with its line: absolute names, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            # "from monitor import pipeline" names a module too
            out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names
                    if (ROOT / Path(*target.split("."), alias.name)).exists()
                    or (ROOT / Path(*target.split("."), alias.name + ".py")).exists()]
    return out


def graph() -> dict[str, list[tuple[str, int]]]:
    files = sorted((ROOT / "monitor").rglob("*.py")) + sorted((ROOT / "workers").rglob("*.py"))
    return {f"{module_name(p)}": imports_of(p) for p in files}


def violations(edges: dict[str, list[tuple[str, int]]]) -> list[str]:
    out = []
    for module, imported in edges.items():
        layer = layer_of(module)
        if layer is None:
            if module != "monitor":
                out.append(f"{module}: in no layer of the contract")
            continue
        for target, line in imported:
            top = target.split(".")[0]
            if layer == "monitor.core" and top in CORE_FORBIDDEN:
                out.append(f"{module}:{line}: the core imports {target}")
            if top not in ("monitor", "workers") or target == "monitor":
                continue
            to = layer_of(target)
            if to in LAYERS[layer] or any(module.startswith(a) and target.startswith(b) for a, b in DOORS):
                continue
            out.append(f"{module}:{line}: {layer} may not import {target} ({to})")
    return out


def test_the_code_keeps_the_import_contract():
    assert violations(graph()) == []


@pytest.mark.parametrize("module, target", [
    ("monitor.core.text", "monitor.adapters.store"),  # the core reaching for storage
    ("monitor.core.matching", "sqlalchemy"),  # or for an I/O library
    ("monitor.adapters.store", "monitor.pipeline"),  # an adapter calling orchestration
    ("monitor.pipeline", "workers.tasks"),  # the library importing an entry point
    ("monitor.web.app", "workers"),  # the dashboard reaching for Celery
    ("monitor.service", "monitor.cli"),
    ("workers.tasks", "monitor.web.app"),
])
def test_a_wrong_import_breaks_the_contract(module, target):
    edges = graph()
    assert module in edges
    before = violations(edges)
    edges[module] = edges[module] + [(target, 1)]
    assert [v for v in violations(edges) if v not in before] == [f"{module}:1: " + (f"the core imports {target}" if target == "sqlalchemy" else
                                                    f"{layer_of(module)} may not import {target} ({layer_of(target)})")]


def test_every_module_is_in_a_layer():
    modules = graph()
    assert all(layer_of(m) for m in modules if m != "monitor"), [m for m in modules if not layer_of(m)]
    assert "monitor.core.matching" in modules and "workers.tasks" in modules


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 80


def sizes() -> tuple[list[str], list[str]]:
    modules, functions = [], []
    for path in sorted((ROOT / "monitor").rglob("*.py")) + sorted((ROOT / "workers").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(path)
        if text.count("\n") > MAX_MODULE_LINES:
            modules.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    functions.append(f"{name}.{node.name}: {length} lines")
    return modules, functions


def test_modules_and_functions_stay_short_enough_to_read():
    modules, functions = sizes()
    assert modules == [] and functions == []
