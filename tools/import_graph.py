"""Room-level import graph of the ``facehalluc`` package, function-local imports included.

A *room* is the first sub-package or module under ``facehalluc`` (``facehalluc.train.run`` -> ``train``,
``facehalluc.config`` -> ``config``).  Every ``import``/``from ... import`` statement in every module is read
with :mod:`ast`, wherever it sits (module top, function body, ``if TYPE_CHECKING:`` block), so an import
hidden inside a function still counts as an edge.  Cycles are the strongly connected components with more
than one room.

    python tools/import_graph.py            # prints edges and cycles; exit status 1 when a cycle exists
    python tools/import_graph.py --edges    # also lists, per edge, the modules that make it
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "facehalluc"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


CLI_NAMES = ("__main__", "cli")


def room_of(module: str) -> str | None:
    """``facehalluc.X...`` -> ``X``; a command-line entry module (``X/__main__.py``, ``X/cli.py``) is its own
    node ``X:cli``: nothing in the package imports it (checked by :func:`imported_clis`), so it sits on top
    of the graph and may import any room."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    if len(parts) > 2 and parts[-1] in CLI_NAMES:
        return f"{parts[1]}:cli"
    return parts[1]


def imported_clis(package_dir: Path) -> list[str]:
    """``importer -> cli module`` for every package module that imports a command-line entry module."""
    return sorted(f"{m} -> {t}" for m, t in module_imports(package_dir)
                  if t.startswith(PACKAGE + ".") and t.split(".")[-1] in CLI_NAMES and m != t
                  and m.split(".")[-1] not in CLI_NAMES)


def module_imports(package_dir: Path):
    """Yield ``(importing module, imported module)`` for every import statement in the package."""
    root = package_dir.parent
    for path in sorted(package_dir.rglob("*.py")):
        module = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node, module, path.name == "__init__.py")
                if target == PACKAGE:  # ``from facehalluc import train``: each name is a room
                    for alias in node.names:
                        yield module, f"{PACKAGE}.{alias.name}"
                else:
                    yield module, target


def room_graph(package_dir: Path):
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, target in module_imports(package_dir):
        src, dst = room_of(module), room_of(target)
        if src is None or dst is None or src == dst:
            continue
        edges[src][dst].add(module)
    return edges


def cycles(edges) -> list[list[str]]:
    """Strongly connected components with more than one room (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]
    nodes = sorted(set(edges) | {d for s in edges for d in edges[s]})

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=Path(__file__).resolve().parent.parent / PACKAGE)
    parser.add_argument("--edges", action="store_true", help="list the modules behind each edge")
    args = parser.parse_args(argv)
    edges = room_graph(args.package)
    for src in sorted(edges):
        print(f"{src} -> {', '.join(sorted(edges[src]))}")
        if args.edges:
            for dst in sorted(edges[src]):
                print(f"    {dst}: {', '.join(sorted(edges[src][dst]))}")
    found = cycles(edges)
    bad = imported_clis(args.package)
    for b in bad:
        print(f"a library module imports a command-line module: {b}")
    if not found and not bad:
        print("no import cycle between rooms")
        return 0
    for comp in found:
        print(f"cycle over {len(comp)} rooms: {', '.join(comp)}")
    return 1 if found or bad else 0


if __name__ == "__main__":
    sys.exit(main())
