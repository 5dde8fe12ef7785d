"""The package layout follows the data flow: no import cycle, each step imports only earlier ones.

config -> study -> criteria -> decision -> outputs; ``pipeline`` orchestrates
and ``cli`` owns the console. Imports are read from the source (module level,
inside functions and under ``TYPE_CHECKING`` alike: a type-only import is still
a dependency a reader must follow), so a cycle hidden in a function or behind
``TYPE_CHECKING`` fails here too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "siteselect"


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package``."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The package's modules that ``name`` (at ``path``) imports, anywhere in its source."""
    known = set(known)
    package_parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif target in known:
                    found.add(target)
    found.discard(name)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    modules = module_files(package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_finds_cycles_hidden_in_functions_and_type_checking(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"
            ),
            "pkg/b.py": "def f():\n    from pkg import c\n",
            "pkg/c.py": "from .a import thing\n",
            "pkg/sub/__init__.py": "from pkg.sub.d import x\n",
            "pkg/sub/d.py": "import pkg.a\n",
            "pkg/e.py": "import os\nfrom pkg.sub import d\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.sub"] == {"pkg.sub.d"}
    assert graph["pkg.e"] == {"pkg.sub.d"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycle_in_the_package() -> None:
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


# What each step may import from the package (besides its own folder and the
# shared helpers): the data flows one way.
SHARED = (
    "siteselect._errors",
    "siteselect.units",
    "siteselect.geo",
    "siteselect.hashing",
    "siteselect.parallel",
)
LAYERS = {
    "siteselect.config": ("siteselect.decision.transforms", "siteselect.decision.weights"),
    "siteselect.study": ("siteselect.config", "siteselect.network"),
    "siteselect.network": ("siteselect.config", "siteselect.study"),
    "siteselect.criteria": (
        "siteselect.config",
        "siteselect.study",
        "siteselect.network",
        "siteselect.airspace",
        "siteselect.visibility",
    ),
    "siteselect.engine": (
        "siteselect.config",
        "siteselect.study",
        "siteselect.network",
        "siteselect.criteria",
    ),
    "siteselect.decision": ("siteselect.config", "siteselect.criteria"),
    "siteselect.outputs": (
        "siteselect.config",
        "siteselect.study",
        "siteselect.network",
        "siteselect.criteria",
        "siteselect.decision",
        "siteselect.demo.writers",
    ),
}


def _within(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("step", sorted(LAYERS))
def test_each_step_imports_only_earlier_steps(step: str) -> None:
    graph = import_graph(PACKAGE)
    allowed = (step, *SHARED, *LAYERS[step])
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if _within(module, [step])
        for target in targets
        if target != "siteselect" and not _within(target, allowed)
    )
    assert not wrong, f"{step} reaches a later step: " + "; ".join(wrong)


def test_only_the_cli_owns_the_console() -> None:
    """The library logs; printing and console libraries belong to siteselect.cli."""
    offenders = []
    for name, path in module_files(PACKAGE).items():
        if _within(name, ["siteselect.cli"]):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{name}:{node.lineno} print()")
            if isinstance(node, ast.Import | ast.ImportFrom):
                roots = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                roots += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
                offenders += [
                    f"{name}:{node.lineno} imports {r}"
                    for r in roots
                    if r.split(".")[0] in ("rich", "click")
                ]
    assert not offenders, "; ".join(offenders)


def test_modules_stay_readable() -> None:
    """One concern per module: none grows past ~600 lines."""
    long = {
        name: n
        for name, path in module_files(PACKAGE).items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 650
    }
    assert not long, f"split these modules: {long}"
