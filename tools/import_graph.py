"""Room-level import graph of the ``facehalluc`` package, function-local imports included.

A *room* is the first sub-package or module under ``facehalluc`` (``facehalluc.train.run`` -> ``train``,
``facehalluc.config`` -> ``config``); under ``facehalluc/apps`` each application is its own room
(``facehalluc.apps.background.batch`` -> ``apps.background``).  Every ``import``/``from ... import``
statement in every module is read with :mod:`ast`, wherever it sits (module top, function body,
``if TYPE_CHECKING:`` block), so an import hidden inside a function still counts as an edge; only a module's
top-level ``if __name__ == "__main__":`` block (the script entry that calls its ``cli``) is left out.  Cycles
are the strongly connected components with more than one room.

    python tools/import_graph.py            # prints edges and cycles; exit status 1 when a cycle exists (or a
                                            # library module imports a CLI, a shim or argparse)
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
APPS = "apps"  # facehalluc/apps/<name>: each application is a room of its own


def _room_and_rest(parts: list[str]) -> tuple[str, list[str]]:
    if parts[1] == APPS and len(parts) > 2:
        return f"{APPS}.{parts[2]}", parts[3:]
    return parts[1], parts[2:]


def is_cli_module(module: str) -> bool:
    """A command-line module: ``X/cli.py``, ``X/__main__.py`` or any module of a ``cli/`` package below a room."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 3:
        return False
    return any(p in CLI_NAMES for p in _room_and_rest(parts)[1])


def room_of(module: str) -> str | None:
    """``facehalluc.X...`` -> ``X`` (``facehalluc.apps.X...`` -> ``apps.X``); a command-line module
    (:func:`is_cli_module`) is its own node ``X:cli``: nothing in the package imports it (checked by
    :func:`imported_clis`), so it sits on top of the graph and may import any room."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    room, _ = _room_and_rest(parts)
    return f"{room}:cli" if is_cli_module(module) else room


def shim_modules(package_dir: Path) -> set[str]:
    """Modules kept at an old path (issue 21): they assign ``__moved_to__`` and re-export the new module, its
    command line included (:mod:`facehalluc.utils.moved`)."""
    root = package_dir.parent
    out = set()
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__moved_to__" for t in n.targets)
               for n in tree.body):
            out.add(_module_name(path, root))
    return out


def _main_guard_lines(tree: ast.Module) -> set[int]:
    """Line numbers inside a top-level ``if __name__ == "__main__":`` block (running the module as a script may
    call its command line; importing it does not)."""
    lines: set[int] = set()
    for node in tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name)
                and node.test.left.id == "__name__"):
            for sub in ast.walk(node):
                if hasattr(sub, "lineno"):
                    lines.add(sub.lineno)
    return lines


def imported_clis(package_dir: Path) -> list[str]:
    """``importer -> cli module`` for every library module that imports a command-line entry module (outside
    its ``if __name__ == "__main__":`` block); shims at old paths may (they re-export the command line)."""
    shims = shim_modules(package_dir)
    return sorted(f"{m} -> {t}" for m, t in module_imports(package_dir, skip_main_guard=True)
                  if t.startswith(PACKAGE + ".") and is_cli_module(t) and m != t
                  and not is_cli_module(m) and m not in shims)


def imported_shims(package_dir: Path) -> list[str]:
    """``importer -> shim`` for every package module that imports a module kept at an old path (the package
    itself uses the new paths)."""
    shims = shim_modules(package_dir)
    return sorted(f"{m} -> {t}" for m, t in module_imports(package_dir) if t in shims and m != t and m not in shims)


def argparse_in_library(package_dir: Path) -> list[str]:
    """Library modules (not :func:`is_cli_module`) that import ``argparse``: command lines live in ``cli``."""
    return sorted({m for m, t in module_imports(package_dir) if t == "argparse" and not is_cli_module(m)})


def module_imports(package_dir: Path, skip_main_guard: bool = False):
    """Yield ``(importing module, imported module)`` for every import statement in the package
    (``from X import y`` yields ``X.y`` when that is a module of the package, else ``X``).
    ``skip_main_guard``: leave out imports inside a top-level ``if __name__ == "__main__":`` block."""
    root = package_dir.parent
    paths = sorted(package_dir.rglob("*.py"))
    modules = {_module_name(p, root) for p in paths}
    for path in paths:
        module = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _main_guard_lines(tree) if skip_main_guard else set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node, module, path.name == "__init__.py")
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield module, (sub if sub in modules or target == PACKAGE else target)


def room_graph(package_dir: Path):
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, target in module_imports(package_dir, skip_main_guard=True):
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
    bad = [f"a library module imports a command-line module: {b}" for b in imported_clis(args.package)]
    bad += [f"a package module imports a shim kept at an old path: {b}" for b in imported_shims(args.package)]
    bad += [f"a library module imports argparse (move its command line to a cli module): {m}"
            for m in argparse_in_library(args.package)]
    for b in bad:
        print(b)
    if not found and not bad:
        print("no import cycle between rooms")
        return 0
    for comp in found:
        print(f"cycle over {len(comp)} rooms: {', '.join(comp)}")
    return 1 if found or bad else 0


if __name__ == "__main__":
    sys.exit(main())
