"""Issue 21: command lines live in CLI modules (``cli.py``, ``__main__.py`` or a ``cli/`` package); no other
module under facehalluc/ imports argparse, and no library module imports a CLI module
(tools/import_graph.py)."""
from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="module")
def graph(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    try:
        import import_graph
    finally:
        sys.path.pop(0)
    return import_graph


def test_no_library_module_imports_argparse(graph, repo_root):
    assert graph.argparse_in_library(repo_root / "facehalluc") == []


def test_no_library_module_imports_a_cli_or_a_shim(graph, repo_root):
    assert graph.imported_clis(repo_root / "facehalluc") == []
    assert graph.imported_shims(repo_root / "facehalluc") == []


def test_the_checks_catch_a_library_module_with_argparse(graph, tmp_path):
    pkg = tmp_path / "facehalluc"
    for rel, text in {"__init__.py": "", "lib.py": "import argparse\n", "tool/__init__.py": "",
                      "tool/cli.py": "import argparse\nfrom facehalluc import lib\n",
                      "tool/core.py": "def f():\n    from .cli import main\n",
                      "evaluate/__init__.py": "", "evaluate/cli/__init__.py": "",
                      "evaluate/cli/thing.py": "from argparse import ArgumentParser\n",
                      "evaluate/thing.py": 'if __name__ == "__main__":\n    from .cli.thing import main\n',
                      "apps/__init__.py": "", "apps/web/__init__.py": "", "apps/web/__main__.py": "import argparse\n",
                      "apps/web/server.py": "from argparse import Namespace\n"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    assert graph.argparse_in_library(pkg) == ["facehalluc.apps.web.server", "facehalluc.lib"]
    assert graph.imported_clis(pkg) == ["facehalluc.tool.core -> facehalluc.tool.cli"]
    assert graph.room_of("facehalluc.apps.web.server") == "apps.web"
    assert graph.room_of("facehalluc.apps.web.__main__") == "apps.web:cli"
    assert graph.room_of("facehalluc.evaluate.cli.thing") == "evaluate:cli"


def test_each_app_is_a_room_and_no_app_imports_another(graph, repo_root):
    edges = graph.room_graph(repo_root / "facehalluc")
    apps = {r for r in edges if r.startswith("apps.") and not r.endswith(":cli")}
    assert apps == {"apps.augment", "apps.background", "apps.demo", "apps.recognition", "apps.web"}
    for app in apps:
        assert not {d for d in edges[app] if d.startswith("apps.")}, (app, sorted(edges[app]))
    assert "train" in edges["apps.demo"]  # the demo trains through train.run.train
