"""Evaluation (paper §4 "Metrics for Quality Estimation", Table 1, suppl. Table 6).

* :mod:`.metrics` -- SSIM, Pearson match score (Eq. 7), Fréchet distance (numpy/scipy, no networks).
* :mod:`.runner` -- scores image pairs; network metrics need the converted official weights and are
  reported ``unavailable`` otherwise (never computed with random weights).
* :mod:`.cli` -- ``evaluate.py``; :mod:`.table` -- ``python -m facehalluc.evaluate.table`` (Tables 1 / 6).
* :mod:`.identity` -- the offline dlib identity proxy; :mod:`.paper_numbers` -- the paper's numbers.
* :mod:`.offline` -- offline measures (LPIPS v0.1, L1 outside the mask, FD-AlexNet, corner spectrum);
  :mod:`.baselines` -- ``python -m facehalluc.evaluate.baselines``: fills a user could use instead.
"""
from .metrics import (frechet_distance, frechet_distance_features, gaussian_stats, mean_match_score,
                      pearson_match_scores, ssim_pair, ssim_scores)
from .results import EvaluationResult, MetricResult, load_result, save_result

__all__ = ["frechet_distance", "frechet_distance_features", "gaussian_stats", "mean_match_score",
           "pearson_match_scores", "ssim_pair", "ssim_scores", "EvaluationResult", "MetricResult",
           "load_result", "save_result"]
