"""The package's shape: imports point one way, and modules stay small enough to read.

The import graph is read statically with ``ast``: every import counts, at module level,
inside a function (a "lazy" import is still a dependency) and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sw_nlp"
MAX_LINES = 450
LONG_REASON = "Long because:"

# Cycles allowed for now: none (the last, report <-> train, went with workflows.py).
KNOWN_CYCLES: set[frozenset[str]] = set()

# Modules other branches are splitting or trimming, or that several branches edit at once
# (cli, classify: split after the merge); each is removed as it lands.
KNOWN_LONG: set[str] = set()


def module_name(package: Path, file: Path) -> str:
    parts = file.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(package: Path, file: Path) -> set[str]:
    """The package's modules that ``file`` imports, anywhere in it."""
    root = package.name
    here = module_name(package, file)
    is_package = file.name == "__init__.py"
    modules = {module_name(package, f) for f in package.rglob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text("utf-8"), str(file))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = here.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # ``from pkg import name``: the submodule ``pkg.name`` if there is one, else pkg.
            names = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:  # ``import pkg.mod.attr`` -> pkg.mod
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] == root and name != here:
                found.add(name)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    files = sorted(package.rglob("*.py"))
    return {module_name(package, f): imported_modules(package, f) for f in files}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_the_import_graph_has_no_cycles():
    graph = import_graph(PACKAGE)
    unexpected = [c for c in cycles(graph) if frozenset(c) not in KNOWN_CYCLES]
    described = [
        ", ".join(f"{m} -> {sorted(graph[m] & c)}" for m in sorted(c)) for c in unexpected
    ]
    assert not unexpected, "import cycles: " + " | ".join(described)


def test_the_known_cycles_are_still_there():
    """An exception that is no longer needed goes: the list must not hide a new cycle later."""
    found = {frozenset(c) for c in cycles(import_graph(PACKAGE))}
    gone = KNOWN_CYCLES - found
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {gone}"


def test_modules_are_short_or_say_why():
    too_long = []
    for file in sorted(PACKAGE.rglob("*.py")):
        name = module_name(PACKAGE, file)
        text = file.read_text("utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        explained = any(line.startswith(LONG_REASON) for line in doc.splitlines())
        if lines > MAX_LINES and not explained and name not in KNOWN_LONG:
            too_long.append(f"{name} ({lines} lines)")
    assert not too_long, (
        f"over {MAX_LINES} lines without a '{LONG_REASON}' line in the module docstring: "
        + ", ".join(too_long)
    )


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return package


@pytest.mark.parametrize(
    "b_text",
    [
        "from pkg import a\n",
        "def f():\n    from pkg.a import thing\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import Thing\n",
        "import pkg.a.thing\n",
        "from . import a\n",
        "from .a import thing\n",
    ],
    ids=["from-pkg", "in-a-function", "type-checking", "dotted", "relative", "relative-from"],
)
def test_a_cycle_is_found_however_the_import_is_written(tmp_path: Path, b_text: str):
    package = write_package(
        tmp_path, {"__init__.py": "", "a.py": "from pkg.b import x\n", "b.py": b_text}
    )
    graph = import_graph(package)
    assert graph["pkg.b"] == {"pkg.a"}
    assert cycles(graph) == [{"pkg.a", "pkg.b"}]


def test_a_longer_cycle_and_a_clean_chain(tmp_path: Path):
    package = write_package(
        tmp_path,
        {
            "__init__.py": "from pkg._version import v\n",
            "_version.py": "v = 1\n",
            "a.py": "import pkg.b\n",
            "b.py": "import pkg.c\n",
            "c.py": "import pkg.a\nimport pkg.d\n",
            "d.py": "import os\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg"] == {"pkg._version"}
    assert cycles(graph) == [{"pkg.a", "pkg.b", "pkg.c"}]
    (package / "c.py").write_text("import pkg.d\n", "utf-8")
    assert cycles(import_graph(package)) == []
