"""The one match-score function: Pearson rows, constant-row behaviour chosen explicitly by the caller."""
import numpy as np
import pytest

from facehalluc.evaluate import metrics as M
from facehalluc.recognition import roc as R
from facehalluc.utils.match import ConstantRowError, pearson_pairs, pearson_rows


def test_both_callers_use_the_same_scores():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((6, 32)), rng.standard_normal((6, 32))
    ref = pearson_rows(a, b)
    np.testing.assert_array_equal(M.pearson_match_scores(a, b), ref)
    np.testing.assert_array_equal(R.pearson_scores(a, b), ref)


def test_constant_rows_raise_or_score_zero_as_asked():
    a = np.vstack([np.ones(4), np.arange(4.0)])
    b = np.vstack([np.arange(4.0), np.arange(4.0)])
    with pytest.raises(ConstantRowError):
        pearson_rows(a, b, on_constant="raise")
    np.testing.assert_allclose(pearson_rows(a, b, on_constant="zero"), [0.0, 1.0])
    with pytest.raises(ValueError, match="on_constant"):
        pearson_rows(a, b, on_constant="nan")


def test_pairs_are_rows_of_the_same_score_and_share_the_constant_rule():
    rng = np.random.default_rng(3)
    feats = rng.standard_normal((7, 16))
    feats[2] = 5.0  # a constant row
    i, j = np.array([0, 1, 3, 4, 6]), np.array([1, 3, 5, 6, 0])
    np.testing.assert_array_equal(pearson_pairs(feats, i, j, chunk=2), pearson_rows(feats[i], feats[j]))
    np.testing.assert_array_equal(R.pair_scores(feats, i, j), pearson_rows(feats[i], feats[j]))
    # by hand: corr of x and 2x + 1 is 1, of x and -x is -1
    f = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0], [-1.0, -2.0, -4.0], [7.0, 7.0, 7.0]])
    np.testing.assert_allclose(pearson_pairs(f, [0, 0], [1, 2]), [1.0, -1.0], atol=1e-12)
    with pytest.raises(ConstantRowError):
        pearson_pairs(f, [0, 3], [1, 0])
    np.testing.assert_allclose(pearson_pairs(f, [0, 3], [1, 0], on_constant="zero"), [1.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(R.pair_scores(f, [3], [0]), [0.0])
    with pytest.raises(ValueError, match="on_constant"):
        pearson_pairs(f, [0], [1], on_constant="nan")
