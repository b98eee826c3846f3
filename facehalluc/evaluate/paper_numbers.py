"""The paper's reference numbers, transcribed from main-text Table 1 and supplementary Table 6.

Both tables report, on LFW, the mean match score (Eq. 7, ResNet-50-256D / VGGFace2), the mean SSIM, the FID
between original and hallucinated sets, and the mean PieAPP v0.1 perceptual error.  ``tests/evaluate/test_table.py``
checks these rows against the paper text.
"""
from __future__ import annotations

from dataclasses import dataclass

#: metric keys used in result files, in the paper's column order
METRIC_KEYS: tuple[str, ...] = ("match", "ssim", "fid", "pieapp")

#: the paper's column headings for each metric key
METRIC_TITLES: dict[str, str] = {
    "match": "Mean Match Score",
    "ssim": "Mean SSIM",
    "fid": "FID",
    "pieapp": "Mean Perceptual Error",
}

#: True where a higher value is better
HIGHER_IS_BETTER: dict[str, bool] = {"match": True, "ssim": True, "fid": False, "pieapp": False}


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table: the model's name as printed and its four numbers."""

    model: str
    match: float
    ssim: float
    fid: float
    pieapp: float

    def value(self, key: str) -> float:
        """The number under metric ``key`` (one of :data:`METRIC_KEYS`)."""
        values = {"match": self.match, "ssim": self.ssim, "fid": self.fid, "pieapp": self.pieapp}
        if key not in values:
            raise KeyError(f"unknown metric {key!r}; expected one of {METRIC_KEYS}")
        return values[key]


#: Paper Table 1: "Quantitative results on the LFW dataset."
TABLE1: tuple[PaperRow, ...] = (
    PaperRow("GenFace", 0.543, 0.491, 177.06, 3.536),
    PaperRow("DeepFillv1", 0.481, 0.321, 241.696, 3.204),
    PaperRow("SymmFCNet", 0.457, 0.333, 207.117, 2.434),
    PaperRow("EdgeConnect", 0.454, 0.178, 141.695, 3.106),
    PaperRow("DeepFake", 0.459, 0.448, 43.03, 1.857),
    PaperRow("Ours (ProGAN)", 0.668, 0.466, 103.71, 2.255),
    PaperRow("Ours (Cascaded)", 0.722, 0.753, 46.12, 1.256),
)

#: Supplementary Table 6: "Ablation Studies - quantitative results on the LFW dataset."
TABLE6: tuple[PaperRow, ...] = (
    PaperRow("l2 loss", 0.520, 0.413, 166.76, 2.489),
    PaperRow("w/o L_adv", 0.522, 0.411, 132.71, 2.320),
    PaperRow("w/o L_id", 0.609, 0.519, 91.65, 1.956),
    PaperRow("w/o L_pc", 0.624, 0.528, 101.44, 2.046),
    PaperRow("Ours (ProGAN)", 0.668, 0.466, 103.71, 2.255),
    PaperRow("Ours (Cascaded)", 0.722, 0.753, 46.12, 1.256),
)

#: which of our config presets reproduces each Table 6 row (the name to give ``evaluate.py --name``)
TABLE6_PRESETS: dict[str, str] = {
    "l2 loss": "ablation_l2",
    "w/o L_adv": "ablation_no_adv",
    "w/o L_id": "ablation_no_id",
    "w/o L_pc": "ablation_no_pc",
    "Ours (ProGAN)": "progan",
    "Ours (Cascaded)": "paper",
}

LAYOUTS: dict[str, tuple[PaperRow, ...]] = {"table1": TABLE1, "table6": TABLE6}
