#!/usr/bin/env python3
"""Check the import structure of voip/ and voip_gui/: layers point down, no cycles.

The layers are read from the "Layers" block of docs/ARCHITECTURE.md: one
layer per line, top first; a line names one or more folders or files
(comma-separated) before its description, and names on one line are
siblings that may not import each other. A module may import its own
folder and anything in a lower layer. Every import counts, including those
under ``if TYPE_CHECKING:`` and inside functions: they are dependencies all
the same. Modules longer than `MAX_LINES` are listed as a warning.

Exit status 1 on an upward or sideways import or an import cycle.
Usage: python tools/check_layers.py [--root DIR]
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGES = ("voip", "voip_gui")
MAX_LINES = 450
#: Cycles known and being reshaped, allowed until they are gone: a strongly
#: connected component is allowed when all its modules are in one of these.
ALLOWED_CYCLES: list[frozenset[str]] = []


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if ".venv" in path.parts or path.name.endswith("_pb2.py"):
                continue
            modules[module_name(root, path)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (resolved to the most specific module)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            # `from pkg import mod` names a module; `from mod import obj` does not
            targets = [t for t in targets[:-1] if t in modules] or [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def read_layers(architecture: Path) -> list[list[str]]:
    """The layer lines of the first code block after a "## Layers" heading."""
    text = architecture.read_text()
    match = re.search(r"^## Layers.*?^```\n(.*?)^```", text, re.S | re.M)
    if match is None:
        raise SystemExit(f"{architecture}: no code block under a '## Layers' heading")
    layers: list[list[str]] = []
    for line in match.group(1).splitlines():
        if not line.strip() or line.startswith(" "):
            continue  # blank, or a description continued
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        layers.append([n.strip() for n in names.split(",") if n.strip()])
    return layers


def layer_index(layers: list[list[str]]) -> dict[str, int]:
    """Entry -> its layer (0 is the top). A folder entry ends in ".*", a file's is its module."""
    index: dict[str, int] = {}
    for i, names in enumerate(layers):
        for entry in names:
            if entry.endswith(".py"):
                index[entry.removesuffix(".py").removesuffix("/__init__").replace("/", ".")] = i
            else:
                index[entry.rstrip("/").replace("/", ".") + ".*"] = i
    return index


def owner(module: str, index: dict[str, int]) -> str | None:
    """The most specific layer entry that holds `module` (a file, else its nearest folder)."""
    if module in index:
        return module
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n]) + ".*"
        if prefix in index:
            return prefix
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative; components of more than one module."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in order:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        order[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in order:
                    order[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], order[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(component)
    return result


def check(root: Path) -> int:
    modules = find_modules(root)
    layers = read_layers(root / "docs" / "ARCHITECTURE.md")
    index = layer_index(layers)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    problems: list[str] = []
    for name in sorted(graph):
        mine = owner(name, index)
        if mine is None:
            problems.append(f"{name}: in no layer of docs/ARCHITECTURE.md; add it there")
            continue
        for target in sorted(graph[name]):
            theirs = owner(target, index)
            if theirs is None or theirs == mine:
                continue
            if index[theirs] <= index[mine]:
                where = "up" if index[theirs] < index[mine] else "sideways"
                problems.append(f"{name} imports {target}: points {where} ({mine} -> {theirs})")
    for component in strongly_connected(graph):
        if any(component <= allowed for allowed in ALLOWED_CYCLES):
            print(f"allowed known cycle: {' <-> '.join(sorted(component))}")
            continue
        problems.append("import cycle: " + " <-> ".join(sorted(component)))
    for path in sorted(modules.values()):
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            print(f"warning: {path.relative_to(root)} has {lines} lines (aim: < {MAX_LINES})")
    for problem in problems:
        print(f"error: {problem}")
    edges = sum(len(targets) for targets in graph.values())
    print(f"{len(modules)} modules, {edges} imports, {len(layers)} layers: "
          f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    sys.exit(check(parser.parse_args().root))


if __name__ == "__main__":
    main()
