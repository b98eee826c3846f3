"""Issue 21: the applications moved to ``facehalluc.apps`` and the command lines to ``cli`` modules; the old
import paths and ``python -m`` commands still work (thin shims, :mod:`facehalluc.utils.moved`)."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
from support.paths import REPO


# (old module, name, new module that owns the object)
SAME_OBJECTS = [
    ("facehalluc.background", "replace_background", "facehalluc.apps.background.replace"),
    ("facehalluc.background", "laplacian_blend", "facehalluc.apps.background.blend"),
    ("facehalluc.background", "run", "facehalluc.apps.background.batch"),
    ("facehalluc.background", "REPORT_NAME", "facehalluc.apps.background.batch"),
    ("facehalluc.background", "BackgroundError", "facehalluc.segment.foreground"),
    ("facehalluc.background", "_read_mask", "facehalluc.apps.background.batch"),
    ("facehalluc.background", "main", "facehalluc.apps.background.cli"),
    ("facehalluc.augment", "augment", "facehalluc.apps.augment.batch"),
    ("facehalluc.augment", "AugmentError", "facehalluc.apps.augment.jobs"),
    ("facehalluc.augment", "_worker_align", "facehalluc.apps.augment.jobs"),
    ("facehalluc.augment", "main", "facehalluc.apps.augment.cli"),
    ("facehalluc.demo", "bundled_face_photos", "facehalluc.apps.demo.data"),
    ("facehalluc.demo", "augment_photo", "facehalluc.apps.demo.data"),
    ("facehalluc.demo", "train", "facehalluc.apps.demo.training"),
    ("facehalluc.demo", "run_model_demo", "facehalluc.apps.demo.model_demo"),
    ("facehalluc.demo.cli", "main", "facehalluc.apps.demo.cli"),
    ("facehalluc.demo.cli", "_listed_photos", "facehalluc.apps.demo.cli"),
    ("facehalluc.app", "HallucinationService", "facehalluc.apps.web.service"),
    ("facehalluc.app", "serve_in_thread", "facehalluc.apps.web.server"),
    ("facehalluc.app.server", "STATIC_DIR", "facehalluc.apps.web.server"),
    ("facehalluc.app.service", "AppError", "facehalluc.apps.web.service"),
    ("facehalluc.recognition", "pearson_scores", "facehalluc.apps.recognition.roc"),
    ("facehalluc.recognition.roc", "tpr_at_fpr", "facehalluc.apps.recognition.roc"),
    ("facehalluc.recognition.data", "FaceIndex", "facehalluc.apps.recognition.data"),
    ("facehalluc.recognition.model", "build_recognizer", "facehalluc.apps.recognition.model"),
    ("facehalluc.recognition.train", "ConcatImages", "facehalluc.apps.recognition.train"),
    ("facehalluc.recognition.report", "aggregate", "facehalluc.apps.recognition.report"),
    ("facehalluc.recognition.hallucinate", "model_fingerprint", "facehalluc.apps.recognition.hallucinate"),
    ("facehalluc.recognition.experiment", "run_experiment", "facehalluc.apps.recognition.experiment"),
    ("facehalluc.recognition.experiment", "main", "facehalluc.apps.recognition.cli"),
    ("facehalluc.recognition.experiment", "build_parser", "facehalluc.apps.recognition.cli"),
]


@pytest.mark.parametrize("old, name, new", SAME_OBJECTS, ids=[f"{o}.{n}" for o, n, _ in SAME_OBJECTS])
def test_old_import_paths_give_the_same_objects(old, name, new):
    got = getattr(importlib.import_module(old), name)
    assert got is getattr(importlib.import_module(new), name)
    ns: dict = {}
    exec(f"from {old} import {name} as _x", ns)  # the ``from`` form works as well
    assert ns["_x"] is got


def test_every_shim_names_its_new_module_and_static_files_moved():
    for old in ("facehalluc.background", "facehalluc.augment", "facehalluc.demo", "facehalluc.demo.cli",
                "facehalluc.app", "facehalluc.app.server", "facehalluc.app.service", "facehalluc.recognition",
                "facehalluc.recognition.roc", "facehalluc.recognition.experiment"):
        mod = importlib.import_module(old)
        importlib.import_module(mod.__moved_to__)
        assert mod.__moved_to__.startswith("facehalluc.apps.")
        with pytest.raises(AttributeError, match="moved to"):
            getattr(mod, "no_such_name")
    from facehalluc.apps.web.server import STATIC_DIR

    assert (STATIC_DIR / "index.html").is_file() and "apps" in STATIC_DIR.parts


def test_old_submodule_import_of_the_recognition_package():
    from facehalluc.recognition import roc as R

    from facehalluc.apps.recognition import roc

    assert R.pearson_scores is roc.pearson_scores and R.verification_pairs is roc.verification_pairs


OLD_COMMANDS = [
    ("facehalluc.background", "python -m facehalluc.background"),
    ("facehalluc.augment", "python -m facehalluc.augment"),
    ("facehalluc.demo", "python -m facehalluc.demo"),
    ("facehalluc.app", "python -m facehalluc.app"),
    ("facehalluc.recognition.experiment", "python -m facehalluc.recognition.experiment"),
    ("facehalluc.evaluate.sampling", "python -m facehalluc.evaluate.sampling"),
    ("facehalluc.data.split", "python -m facehalluc.data.split"),
]


@pytest.mark.parametrize("module, prog", OLD_COMMANDS, ids=[m for m, _ in OLD_COMMANDS])
def test_old_commands_print_their_help(module, prog):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=REPO,
                       env=env, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith(f"usage: {prog}"), r.stdout[:300]
