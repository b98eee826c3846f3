"""One typed configuration object with named presets.

``Config`` groups every setting of the project in typed sections (``model``, ``loss``, ``train``,
``preprocess``, ``data``, ``weights``).  Presets are built by plain functions registered in
:data:`PRESETS`; :func:`load_config` accepts a preset name or a YAML file (``configs/*.yaml``) and
applies ``section.field=value`` overrides, e.g.::

    cfg = load_config("paper", overrides=["train.batch_size=4", "loss.lambda_id=5"])

Every value that the paper states is set in :func:`paper`; every value it leaves open is listed in
``docs/faithfulness.md`` with the field that selects the other reading.

The package has three modules: :mod:`.schema` (the typed sections, :class:`Config`, :func:`validate`),
:mod:`.presets` (:data:`PRESETS`) and :mod:`.loading` (:func:`load_config`, overrides); every name is
importable from ``facehalluc.config``.
"""
from .loading import config_from_dict, describe, load_config, parse_override
from .presets import (PRESETS, ablation_l2, ablation_no_adv, ablation_no_id, ablation_no_pc, cpu, paper, progan,
                      realism, sampling, shipped, tiny)
from .schema import (DIFFAUGMENT_POLICIES, RESOLUTIONS, Config, ConfigError, DataConfig, LossConfig, ModelConfig,
                     PreprocessConfig, TrainConfig, WeightsConfig, adv_resolutions, parse_diffaugment, validate)

__all__ = [
    "Config", "ConfigError", "DataConfig", "LossConfig", "ModelConfig", "PreprocessConfig", "TrainConfig",
    "WeightsConfig", "RESOLUTIONS", "DIFFAUGMENT_POLICIES", "adv_resolutions", "parse_diffaugment", "validate",
    "PRESETS", "paper", "progan", "ablation_l2", "ablation_no_adv", "ablation_no_id", "ablation_no_pc", "tiny", "cpu",
    "shipped", "realism", "sampling",
    "config_from_dict", "describe", "load_config", "parse_override",
]
