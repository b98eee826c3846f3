"""The one match-score function: Pearson rows, constant-row behaviour chosen explicitly by the caller."""
import numpy as np
import pytest

from facehalluc.evaluate import metrics as M
from facehalluc.recognition import roc as R
from facehalluc.utils.match import ConstantRowError, pearson_rows


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
