"""CSV export of a project's segments and labeling results (the label CSV files of star_model)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from star_model.data.label_csv import write_label_csvs
from star_model.schema import LabelResult, Segment


def export_video(video: str, segments: list[Segment], result: Optional[LabelResult], folder: Path) -> list[Path]:
    """Write ``<stem>.segments.csv`` (and ``<stem>.frames.csv`` when there are per-frame results)."""
    return write_label_csvs(folder, video, segments, result)
