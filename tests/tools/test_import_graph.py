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
