"""Model configuration: JSON files in ``star_model/nn/configs/`` loaded into dataclasses.

Every part of STAR is switchable here so that it can be ablated and measured.
Loading is strict: an unknown key is an error that names the key and where it is.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from star_model.errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class BackboneConfig:
    """The CLIP towers (open_clip).

    ``arch`` names a built-in open_clip architecture (e.g. ``ViT-B-16``); ``clip`` instead
    gives a custom open_clip architecture (``embed_dim``, ``vision_cfg``, ``text_cfg``) in
    our own JSON. ``default_pretrained`` is the open_clip tag suggested to real users.
    """

    arch: Optional[str] = None
    clip: Optional[dict] = None
    default_pretrained: Optional[str] = None
    freeze: bool = True
    unfreeze_last: int = 0


@dataclass
class TSAConfig:
    """Temporal Semantic Attention: frames attend to the episode's text tokens."""

    enabled: bool = True
    heads: int = 8
    dropout: float = 0.0
    map_mode: str = "cosine"
    pool_temperature: float = 0.1
    logit_scale: float = 10.0


@dataclass
class SGFConfig:
    """Semantic-guided fusion: gated injection of the class text into support frames.

    ``gate_init``: the start of every gate entry (tanh(gate) scales the text); 0 starts the gate closed.
    """

    enabled: bool = True
    gate_init: float = 0.0


@dataclass
class MambaConfig:
    """Hyper-parameters of the Mamba blocks used by ASD and ACU."""

    d_state: int = 16
    d_conv: int = 4
    expand: int = 2


@dataclass
class ASDConfig:
    """Multi-frequency temporal sampling: forward Mamba over sub-sequences at several strides."""

    enabled: bool = True
    strides: list = field(default_factory=lambda: [1, 2, 4])
    mix_lr_scale: float = 1.0
    mamba: MambaConfig = field(default_factory=MambaConfig)


@dataclass
class ACUConfig:
    """Bidirectional state-space refinement (pre-norm residual bidirectional Mamba blocks); ``dropout``: the
    probability of dropping each block's residual update while training (a regulariser; 0 = off)."""

    enabled: bool = True
    depth: int = 2
    dropout: float = 0.0
    mamba: MambaConfig = field(default_factory=MambaConfig)


@dataclass
class MatchingConfig:
    """Query-to-prototype matching: ``otam`` (both directions summed) or ``bi_mhm``; plus ``stage_weight`` times
    the query's stage-order distance to each class's stage descriptors (0: off), read off the tower's frames
    (``stage_features`` "frames") or the TSA-enhanced frames ("tsa"; the tower's frames when TSA is off)."""

    method: str = "otam"
    lam: float = 0.5
    stage_weight: float = 0.0
    stage_features: str = "frames"


@dataclass
class TextConfig:
    """Class prompt and stage descriptors."""

    prompt: str = "a video of {name}"
    stages: int = 3
    use_stages: bool = True


@dataclass
class ModelConfig:
    """A whole STAR model: backbone, head parts, matching and loss weights."""

    name: str
    embed_dim: int
    num_frames: int = 8
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    text: TextConfig = field(default_factory=TextConfig)
    tsa: TSAConfig = field(default_factory=TSAConfig)
    sgf: SGFConfig = field(default_factory=SGFConfig)
    asd: ASDConfig = field(default_factory=ASDConfig)
    acu: ACUConfig = field(default_factory=ACUConfig)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    alpha: float = 1.0

    def __post_init__(self) -> None:
        if (self.backbone.arch is None) == (self.backbone.clip is None):
            raise ConfigError(f"model {self.name!r}: backbone needs exactly one of 'arch' or 'clip'")
        if self.tsa.map_mode not in ("cosine", "attention"):
            raise ConfigError(f"model {self.name!r}: tsa.map_mode {self.tsa.map_mode!r} is not 'cosine' or 'attention'")
        if self.matching.method not in ("otam", "bi_mhm"):
            raise ConfigError(f"model {self.name!r}: matching.method {self.matching.method!r} is not 'otam' or 'bi_mhm'")
        if not 0 <= self.matching.stage_weight < float("inf"):
            raise ConfigError(f"model {self.name!r}: matching.stage_weight {self.matching.stage_weight!r} must be a "
                              "finite number >= 0 (0 turns the stage-order term off)")
        if self.matching.stage_features not in ("frames", "tsa"):
            raise ConfigError(f"model {self.name!r}: matching.stage_features {self.matching.stage_features!r} is not "
                              "'frames' or 'tsa'")
        if self.embed_dim % self.tsa.heads:
            raise ConfigError(f"model {self.name!r}: embed_dim {self.embed_dim} is not divisible by tsa.heads {self.tsa.heads}")
        if any(int(r) < 1 for r in self.asd.strides):
            raise ConfigError(f"model {self.name!r}: asd.strides {self.asd.strides} must be positive")

    def to_dict(self) -> dict:
        """A plain dict that :func:`config_from_dict` turns back into an equal config."""
        return dataclasses.asdict(self)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown key {where + '.' if where else ''}{unknown[0]} in model config; known keys: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        path = f"{where}.{key}" if where else key
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, path)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from exc


def merged(data: dict, overrides: dict) -> dict:
    """``data`` (a config dict) with ``overrides`` applied section by section, nested dicts merged."""
    out = dict(data)
    for key, value in overrides.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_from_dict(data: dict) -> ModelConfig:
    """Build a :class:`ModelConfig` from a dict, refusing unknown keys."""
    return _build(ModelConfig, data, "")


def load_config(name_or_path: str | Path) -> ModelConfig:
    """Load a shipped config by name (``star-tiny``) or a JSON file by path."""
    path = Path(name_or_path)
    if not path.suffix == ".json":
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ConfigError(f"no model config {name_or_path!r}; shipped models: {', '.join(list_configs())}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model config {path.name} is not valid JSON: {exc}") from exc
    return config_from_dict(data)


def list_configs() -> list[str]:
    """Names of the shipped model configs."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
