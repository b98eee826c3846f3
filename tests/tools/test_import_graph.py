"""The package's rooms (first sub-package/module under facehalluc) import each other without a cycle,
function-local imports included (tools/import_graph.py)."""
import subprocess
import sys


def test_no_import_cycle_between_rooms(repo_root):
    r = subprocess.run([sys.executable, str(repo_root / "tools" / "import_graph.py")], capture_output=True,
                       text=True, cwd=repo_root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no import cycle between rooms" in r.stdout


def test_weights_imports_no_network_and_train_infer_are_apart(repo_root):
    sys.path.insert(0, str(repo_root / "tools"))
    try:
        from import_graph import room_graph
    finally:
        sys.path.pop(0)
    edges = room_graph(repo_root / "facehalluc")
    assert not ({"nets", "evaluate"} & set(edges.get("weights", {})))
    assert "infer" not in edges.get("train", {}) and "train" not in edges.get("infer", {})


#: test-only code that moved to tests/support/ (issue 21): it must not come back into the package
TEST_ONLY_NAMES = {"save_torch_file", "StridedTensor", "write_caffemodel", "headless_chromium", "find_chromium",
                   "record_examples", "ExampleLog", "StepLog"}


def test_package_holds_and_imports_no_test_code(repo_root):
    import ast

    for path in sorted((repo_root / "facehalluc").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                assert node.name not in TEST_ONLY_NAMES, f"{path}: defines {node.name} (test code: tests/support/)"
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bad = [n for n in names if n.split(".")[0] in ("support", "tests", "conftest")]
                assert not bad, f"{path}: imports {bad} (test code)"
