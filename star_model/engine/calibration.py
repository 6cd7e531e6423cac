"""The labeling calibration: what was fitted on the validation split's long videos, in one JSON file.

``labeling_calibration.json`` (beside this module) holds the activity model, the segment-confidence
model and the search knobs. ``star-app calibrate`` rebuilds it from long videos of the 8 meta-val
actions only; the test actions and test videos are never seen by it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from star_model.engine.activity import ActivityModel
from star_model.engine.confidence import ConfidenceModel
from star_model.engine.decoder import DecoderConfig
from star_model.schema import atomic_write_text

CALIBRATION_FILE = Path(__file__).with_name("labeling_calibration.json")


@dataclass(frozen=True)
class LabelingCalibration:
    """The fitted parts of labeling, and where they come from (``provenance``: data, seed, command)."""

    activity: ActivityModel
    confidence: ConfidenceModel
    decoder: DecoderConfig = DecoderConfig()
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"activity": asdict(self.activity), "confidence": asdict(self.confidence),
                "decoder": asdict(self.decoder), "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelingCalibration":
        decoder_keys = {f.name for f in fields(DecoderConfig)}
        unknown = sorted(set(data.get("decoder", {})) - decoder_keys)
        if unknown:
            raise ValueError(f"unknown decoder setting {unknown[0]!r} in the labeling calibration")
        decoder = {k: tuple(v) if isinstance(v, list) else v for k, v in data.get("decoder", {}).items()}
        activity = data["activity"]
        confidence = {k: tuple(v) if isinstance(v, list) else float(v) for k, v in data["confidence"].items()}
        return cls(ActivityModel(tuple(activity["weights"]), float(activity["bias"])), ConfidenceModel(**confidence),
                   DecoderConfig(**decoder), dict(data.get("provenance", {})))

    def save(self, path: Path = CALIBRATION_FILE) -> Path:
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def load_calibration(path: Optional[Path] = None) -> LabelingCalibration:
    """The calibration in ``path`` (default: the shipped file); a broken file is a ValueError naming it."""
    path = Path(path) if path is not None else CALIBRATION_FILE
    try:
        return LabelingCalibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot read the labeling calibration {path} ({exc}); rebuild it with star-app calibrate") from exc
