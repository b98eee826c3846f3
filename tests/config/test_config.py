"""The typed configuration: presets, YAML files, command-line overrides, errors."""
from __future__ import annotations

import pytest

from facehalluc.config import PRESETS, ConfigError, load_config


def test_every_preset_loads_and_round_trips_through_yaml(tmp_path):
    for name in PRESETS:
        cfg = load_config(name)
        path = tmp_path / f"{name}.yaml"
        cfg.save(path)
        again = load_config(path)
        assert again == cfg, name


def test_yaml_files_in_configs_folder_match_presets(repo_root):
    for name in PRESETS:
        path = repo_root / "configs" / f"{name}.yaml"
        assert path.exists(), f"configs/{name}.yaml missing"
        assert load_config(path) == load_config(name)


def test_overrides_are_typed():
    cfg = load_config("paper", ["train.batch_size=4", "loss.lambda_id=5", "loss.use_pc=false",
                                "model.resolutions=[8,16,32]", "preprocess.output_size=32",
                                "model.mask_injection=concat"])
    assert cfg.train.batch_size == 4 and isinstance(cfg.train.batch_size, int)
    assert cfg.loss.lambda_id == 5.0 and isinstance(cfg.loss.lambda_id, float)
    assert cfg.loss.use_pc is False
    assert cfg.model.resolutions == (8, 16, 32)
    assert cfg.model.mask_injection == "concat"
    assert load_config("paper").train.batch_size == 10  # presets are not mutated


@pytest.mark.parametrize("override, message", [
    ("train.batchsize=4", "unknown field"),
    ("nosuch.x=1", "unknown config section"),
    ("train.batch_size=four", "expected an integer"),
    ("train.batch_size=2.5", "expected an integer"),
    ("model.skip_mode=multiply", "not one of"),
    ("loss.use_pc=maybe", "true/false"),
    ("batch_size", "section.field=value"),
    ("model.resolutions=[8,32]", "double"),
    ("model.width_divisor=6", "power of two"),  # 2048/6 has no pixel-shuffle width (multiple of 4)
    ("model.width_divisor=0", "power of two"),
])
def test_bad_overrides_are_rejected_with_a_clear_message(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("paper", [override])


def test_unknown_preset_or_file():
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config("no_such_preset")


def test_yaml_starting_from_a_preset(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("preset: tiny\nname: mine\ntrain:\n  epochs: 3\n")
    cfg = load_config(p)
    assert cfg.name == "mine" and cfg.train.epochs == 3 and cfg.model.width_divisor == 16


def test_shipped_preset_is_cpu_at_width_eighth():
    import dataclasses

    cpu, shipped = load_config("cpu"), load_config("shipped")
    assert shipped.model.width_divisor == 8
    assert dataclasses.replace(shipped.model, width_divisor=4) == cpu.model
    assert shipped.loss == cpu.loss and dataclasses.replace(shipped.train, checkpoint_every_steps=250) == cpu.train
