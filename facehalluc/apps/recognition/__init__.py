"""Face recognition with hallucinated data augmentation (paper §4.4, Table 2).

* :mod:`.roc` — Pearson match scores, verification pairs, ROC, TPR@FPR, AUC, EER (definitions there).
* :mod:`.model` — the identity-classification CNN (small ResNet, or ResNet-50 at paper scale).
* :mod:`.data` — training / test face selection from a prepared HDF5 dataset.
* :mod:`.hallucinate` — the generator's copies of the training faces, cached.
* :mod:`.train` — one seeded training run and feature extraction.
* :mod:`.report` — aggregation over seeds, the Table 2 layout, figures.
* :mod:`.experiment` — the whole Table 2 experiment (:func:`~.experiment.run_experiment`).
* :mod:`.cli` — its command line (``python -m facehalluc.recognition.experiment``, or
  ``python -m facehalluc.apps.recognition``).
"""
from .roc import (Pairs, Roc, auc, eer, pair_scores, pearson_scores, roc_curve, summarize, tpr_at_fpr,
                  verification_pairs)

__all__ = ["Pairs", "Roc", "auc", "eer", "pair_scores", "pearson_scores", "roc_curve", "summarize",
           "tpr_at_fpr", "verification_pairs"]
