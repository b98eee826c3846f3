"""Loading: a preset name or a YAML file, plus ``section.field=value`` overrides -> a validated Config."""
from __future__ import annotations

import typing
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from .presets import PRESETS
from .schema import Config, ConfigError, validate


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is Literal:
        if isinstance(value, bool) and {"on", "off"} <= set(args):  # train.xla: true / false (YAML reads on as true)
            value = "on" if value else "off"
        if value not in args and str(value) in args:  # YAML reads "0.1" as a float
            value = str(value)
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError("; ".join(errors))
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace("(", "").replace(")", "").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        elem = args[0] if args else Any
        return tuple(_coerce(v, elem, where) for v in value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
        if f != int(f):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(f)
    if annotation is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if annotation is str:
        return str(value)
    return value


def _section_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _apply(cfg: Config, key: str, raw: Any) -> None:
    parts = key.split(".")
    if len(parts) == 1 and parts[0] == "name":
        cfg.name = str(raw)
        return
    if len(parts) != 2:
        raise ConfigError(f"override {key!r}: use section.field, e.g. train.batch_size=4")
    section_name, field_name = parts
    if section_name not in {f.name for f in fields(Config)} or section_name == "name":
        raise ConfigError(f"unknown config section {section_name!r}; sections: "
                          f"{[f.name for f in fields(Config) if f.name != 'name']}")
    section = getattr(cfg, section_name)
    hints = _section_types(type(section))
    if field_name not in hints:
        raise ConfigError(f"unknown field {key!r}; {section_name} has {sorted(hints)}")
    setattr(section, field_name, _coerce(raw, hints[field_name], key))


def config_from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Builds a Config from a nested dict (as written by :meth:`Config.to_dict`), on top of ``base``."""
    cfg = base if base is not None else Config()
    cfg = _copy(cfg)
    for key, value in data.items():
        if key == "name":
            cfg.name = str(value)
        elif key == "preset":
            continue
        elif isinstance(value, dict):
            for sub, v in value.items():
                _apply(cfg, f"{key}.{sub}", v)
        else:
            raise ConfigError(f"config key {key!r} must be a section mapping")
    validate(cfg)
    return cfg


def _copy(cfg: Config) -> Config:
    return replace(cfg, **{f.name: replace(getattr(cfg, f.name)) for f in fields(cfg) if f.name != "name"})


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.field=value")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ""


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> Config:
    """Loads a preset by name, or a YAML file (which may name a ``preset:`` to start from)."""
    text = str(name_or_path)
    if text in PRESETS:
        cfg = PRESETS[text]()
    else:
        path = Path(text)
        if not path.exists():
            candidate = Path(__file__).resolve().parents[2] / "configs" / f"{text}.yaml"
            if candidate.exists():
                path = candidate
            else:
                raise ConfigError(f"{text!r} is neither a preset ({', '.join(PRESETS)}) nor a YAML file")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        base_name = data.get("preset", "paper")
        if base_name not in PRESETS:
            raise ConfigError(f"{path}: unknown preset {base_name!r}")
        cfg = config_from_dict(data, PRESETS[base_name]())
    for item in overrides or []:
        key, value = parse_override(item)
        _apply(cfg, key, value)
    validate(cfg)
    return cfg



def describe(cfg: Config) -> str:
    return f"# resolved config '{cfg.name}'\n" + cfg.to_yaml()

