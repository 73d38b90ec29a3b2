"""The package's import graph has no cycle: every import statement in python/ibfast (at module level
or inside a function, where a lazy import hides a cycle without removing it) is an edge, and the
graph of ibfast's own modules must be acyclic. Implicit imports of a parent package (Python
imports ``ibfast/__init__`` before any submodule) are not edges: every package has them."""

from __future__ import annotations

import ast
from pathlib import Path

import ibfast

ROOT = Path(ibfast.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module by name; compiled extensions (known by their .pyi stubs) are leaves."""
    found = {}
    for path in [*ROOT.rglob("*.py"), *ROOT.rglob("*.pyi")]:
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of a ``from X import ...``'s X."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if _is_package(path) else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        if path.suffix == ".pyi":
            continue  # a compiled module imports nothing of ibfast's
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, path, node)
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else source)
            graph[module].update(t for t in targets if t in modules and t != module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    colour = dict.fromkeys(graph, 0)  # 0 new, 1 on the current path, 2 finished
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        colour[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if colour[n] == 1:
                return [*stack[stack.index(n):], n]
            if colour[n] == 0 and (cycle := visit(n)) is not None:
                return cycle
        stack.pop()
        colour[m] = 2
        return None

    for m in sorted(graph):
        if colour[m] == 0 and (cycle := visit(m)) is not None:
            return cycle
    return None


def test_the_walker_sees_lazy_imports_and_finds_a_planted_cycle():
    graph = import_graph()
    assert "ibfast.sweep.runner" in graph["ibfast.sweep"]  # a package's own imports
    assert "ibfast.outputs" in graph["ibfast.sweep.store"]
    assert "ibfast.plots" in graph["ibfast.outputs"]  # imported inside a function
    planted = {k: set(v) for k, v in graph.items()}
    planted["ibfast.experiment.run"].add("ibfast.sweep.runner")  # what experiment/batch.py did
    cycle = find_cycle(planted)
    assert cycle is not None and cycle[0] == cycle[-1] and "ibfast.sweep.runner" in cycle


def test_the_package_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_ibfast_monitor_is_imported_on_first_use():
    import subprocess
    import sys

    code = (
        "import sys, ibfast\n"
        "assert 'ibfast.monitor' not in sys.modules and 'torch' not in sys.modules\n"
        "m = ibfast.monitor\n"
        "assert m is sys.modules['ibfast.monitor'] and m.InfoPlaneRecorder.__name__ == 'InfoPlaneRecorder'\n"
        "from ibfast import monitor\n"
        "assert monitor is m and ibfast.monitor is m\n"
        "from ibfast import *  # the star import stays light: monitor is not in __all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    # the lazy import is an edge of the graph the cycle test walks
    assert "ibfast.monitor" in import_graph()["ibfast"]

