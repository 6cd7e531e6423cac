"""ELAN annotation files (``.eaf``, XML), read and written with ``pympi-ling``.

An EAF file links its media (``MEDIA_DESCRIPTOR``, a ``file://`` URL and a relative one) and holds
tiers of annotations with times in milliseconds. Reading: every tier with time-aligned annotations
is a group to choose from (a tier named ``<tier> confidence`` that refers to it gives each annotation's
confidence). Writing: the tier ``STAR actions`` holds one annotation per action segment (background
left out), and its child tier ``STAR actions confidence`` (a symbolic association) the confidences.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlparse

from pympi import Elan

from star_model.data.interchange.tracks import LabelFile, Span, Track, VideoLabels
from star_model.errors import LabelFileError
from star_model.schema import BACKGROUND, atomic_write_text

TIER = "STAR actions"
CONFIDENCE_SUFFIX = " confidence"
MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mpg": "video/mpeg",
        ".mpeg": "video/mpeg", ".avi": "video/x-msvideo", ".wav": "audio/x-wav"}


def _open(path: Path) -> Elan.Eaf:
    if not path.is_file():
        raise LabelFileError(f"{path} does not exist")
    try:
        return Elan.Eaf(str(path), suppress_version_warning=True)
    except Exception as exc:  # pympi raises a bare Exception (or a KeyError) for a file it cannot parse
        raise LabelFileError(f"{path.name} is not a readable ELAN file: the XML breaks off or is not EAF ({exc}); "
                             "open and save it again in ELAN") from exc


def _media(eaf: Elan.Eaf, path: Path) -> str:
    """The linked video (the first video descriptor, else the first one); the EAF's own stem without any."""
    descriptors = sorted(eaf.media_descriptors, key=lambda d: not str(d.get("MIME_TYPE", "")).startswith("video"))
    for d in descriptors:
        url = d.get("MEDIA_URL") or d.get("RELATIVE_MEDIA_URL") or ""
        if url:
            return unquote(urlparse(url).path) if url.startswith("file:") else url
    return path.stem


def _confidences(eaf: Elan.Eaf, tier: str) -> dict[tuple[int, int], float]:
    child = tier + CONFIDENCE_SUFFIX
    if child not in eaf.tiers:
        return {}
    out = {}
    for start, end, value, _ref in eaf.get_ref_annotation_data_for_tier(child):
        try:
            out[(start, end)] = float(value)
        except ValueError:
            continue
    return out


def read_eaf(path: Path) -> LabelFile:
    """The time-aligned tiers of an EAF file, each a group with one track (its linked media)."""
    path = Path(path)
    eaf = _open(path)
    names = sorted(eaf.tiers, key=lambda t: eaf.tiers[t][3])
    if not names:
        raise LabelFileError(f"{path.name} has no tiers: there are no annotations to import")
    media = _media(eaf, path)
    tracks = []
    for tier in names:
        if not eaf.tiers[tier][0]:  # no time-aligned annotations (empty, or a reference tier)
            continue
        conf = _confidences(eaf, tier)
        spans = [Span(value, start / 1000.0, end / 1000.0, confidence=conf.get((start, end)))
                 for start, end, value in eaf.get_annotation_data_for_tier(tier) if value.strip()]
        tracks.append(Track(media, sorted(spans, key=lambda s: s.start_s), tier))
    if not tracks:
        raise LabelFileError(f"{path.name} has tiers ({', '.join(names)}) but none holds time-aligned annotations")
    return LabelFile(path, "elan", tracks, "tier")


def eaf_text(video: VideoLabels, tier: str = TIER) -> str:
    """The EAF document of a video's action segments and their confidences."""
    eaf = Elan.Eaf(author="STAR Labeler")
    eaf.remove_tier("default")
    media = Path(video.path)
    eaf.add_linked_file(media.as_uri() if media.is_absolute() else media.name, relpath=f"./{media.name}",
                        mimetype=MIME.get(media.suffix.lower(), "unknown"))
    eaf.add_linguistic_type("confidence", constraints="Symbolic_Association", timealignable=False)
    eaf.add_tier(tier)
    eaf.add_tier(tier + CONFIDENCE_SUFFIX, ling="confidence", parent=tier)
    for s in sorted((s for s in video.segments if s.label != BACKGROUND), key=lambda s: s.start_frame):
        a = int(round(video.time_of(s.start_frame, s.start_s) * 1000))
        b = int(round(video.time_of(s.end_frame, s.end_s) * 1000))
        eaf.add_annotation(tier, a, b, s.label)
        eaf.add_ref_annotation(tier + CONFIDENCE_SUFFIX, tier, (a + b) // 2, f"{s.confidence:.4f}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + Elan.to_string(eaf)


def write_eaf(path: Path, video: VideoLabels, tier: Optional[str] = None) -> Path:
    """Write one video's labels as an EAF file, atomically."""
    return atomic_write_text(Path(path), eaf_text(video, tier or TIER))
