"""BORIS project files (``.boris``, or ``.boris.gz``): JSON with an ethogram, subjects and observations.

The parts used here (BORIS project format 7.0, as BORIS 8 writes it):

- ``behaviors_conf``: ``{"0": {"code": NAME, "type": "State event" | "Point event", "key": ...}, ...}``;
- ``observations``: ``{ID: {"type": "MEDIA", "file": {"1": [media, ...], "2": [], ...},
  "time offset": s, "media_info": {"length": {media: s}, "fps": {media: fps}, ...},
  "events": [[time_s, subject, code, modifiers, comment, frame_index], ...]}}``.
  A state event is a START and a STOP event of the same subject, code and modifiers, alternating in
  time; a point event is one event. Event times are observation times: media time plus the
  observation's time offset, and the media of player 1 play one after the other.

Reading gives one track per coded media file and subject ("No focal subject" for events without one).
Writing gives a project that BORIS opens: one MEDIA observation per video, every behaviour a state
event, each segment a START and a STOP event, the segment's confidence in the START event's comment
(``confidence 0.8734``).
"""
from __future__ import annotations

import gzip
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence

from star_model.data.interchange.tracks import LabelFile, Span, Track, VideoLabels
from star_model.errors import LabelFileError
from star_model.schema import BACKGROUND, atomic_write_text

FORMAT_VERSION = "7.0"
NO_FOCAL_SUBJECT = "No focal subject"
PLAYERS = [str(i) for i in range(1, 9)]
CONFIDENCE = re.compile(r"^confidence (\d+(?:\.\d+)?)$")
STOP_NUDGE_S = 0.001


def _load(path: Path) -> dict:
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.loads(fh.read())
    except json.JSONDecodeError as exc:
        raise LabelFileError(f"{path.name} is not a readable BORIS project: its JSON breaks off or is invalid "
                             f"({exc.msg}, line {exc.lineno}); open and save it again in BORIS") from exc
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise LabelFileError(f"cannot read {path.name} as a BORIS project ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("observations"), dict) \
            or not isinstance(data.get("behaviors_conf"), dict):
        raise LabelFileError(f"{path.name} is not a BORIS project: it has no 'observations' and 'behaviors_conf'")
    return data


def _number(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _media(obs: dict) -> list[tuple[str, float, Optional[float]]]:
    """Player 1's media files with their start in observation time and their length (None: unknown)."""
    files = obs.get("file", {})
    media = files.get("1", []) if isinstance(files, dict) else list(files)
    lengths = obs.get("media_info", {}).get("length", {})
    out, start = [], _number(obs.get("time offset", 0.0)) or 0.0
    for name in media:
        length = _number(lengths.get(name))
        out.append((name, start, length))
        start += length or 0.0
    return out


def _intervals(events: list, state_codes: set[str]) -> tuple[list[tuple], int]:
    """(subject, code, start, stop or None, comment) for every state pair and point event; and how many
    state events had no STOP."""
    open_: dict[tuple, tuple[float, str]] = {}
    out = []
    for event in sorted((e for e in events if isinstance(e, list) and len(e) >= 3), key=lambda e: _number(e[0]) or 0.0):
        t = _number(event[0])
        if t is None:
            continue
        subject, code = str(event[1]), str(event[2])
        modifiers = str(event[3]) if len(event) > 3 else ""
        comment = str(event[4]) if len(event) > 4 else ""
        if code not in state_codes:
            out.append((subject, code, t, None, comment))
        elif (subject, code, modifiers) in open_:
            start, first_comment = open_.pop((subject, code, modifiers))
            out.append((subject, code, start, t, first_comment))
        else:
            open_[(subject, code, modifiers)] = (t, comment)
    return out + [(s, c, t, float("inf"), comment) for (s, c, _m), (t, comment) in open_.items()], len(open_)


def _span(code: str, start: float, stop: Optional[float], comment: str, media_start: float,
          length: Optional[float]) -> Span:
    end = None if stop is None else min(stop, media_start + length) if length else stop
    conf = CONFIDENCE.match(comment.strip())
    return Span(code, start - media_start, None if end is None else end - media_start,
                confidence=float(conf.group(1)) if conf else None)


def _observation_tracks(obs: dict, state_codes: set[str]) -> tuple[dict[tuple[str, str], list[Span]], int]:
    media = _media(obs)
    intervals, unpaired = _intervals(obs.get("events", []), state_codes)
    tracks: dict[tuple[str, str], list[Span]] = {}
    for subject, code, start, stop, comment in intervals:
        for name, media_start, length in media:
            if start >= media_start and (length is None or start < media_start + length):
                if stop == float("inf") and length is None:
                    break
                group = subject or NO_FOCAL_SUBJECT
                tracks.setdefault((name, group), []).append(_span(code, start, stop, comment, media_start, length))
                break
    return tracks, unpaired


def read_boris_project(path: Path) -> LabelFile:
    """The coded media of a BORIS project, one track per media file and subject."""
    path = Path(path)
    data = _load(path)
    state_codes = {str(b.get("code")) for b in data["behaviors_conf"].values()
                   if isinstance(b, dict) and "state" in str(b.get("type", "")).lower()}
    tracks: list[Track] = []
    unpaired = skipped = 0
    for obs in data["observations"].values():
        if not isinstance(obs, dict) or obs.get("type") != "MEDIA":
            skipped += 1
            continue
        found, n = _observation_tracks(obs, state_codes)
        unpaired += n
        tracks += [Track(media, spans, group) for (media, group), spans in found.items()]
    if not tracks:
        raise LabelFileError(f"{path.name} has no coded media observation (observations from media files with "
                             f"events); {skipped} live or image observation(s) cannot be placed on a video")
    result = LabelFile(path, "boris", tracks, "subject")
    if unpaired:
        result.notes.append(f"{unpaired} state event(s) without a STOP were closed at the end of their media "
                            "(or left out where its length is unknown)")
    if skipped:
        result.notes.append(f"{skipped} live or image observation(s) skipped")
    return result


def _behaviour(index: int, code: str) -> dict:
    key = "abcdefghijklmnopqrstuvwxyz0123456789"[index] if index < 36 else ""
    return {"type": "State event", "key": key, "code": code, "description": "", "color": "", "category": "",
            "modifiers": {}, "excluded": "", "coding map": ""}


def _events(video: VideoLabels) -> list[list]:
    segments = [s for s in video.segments if s.label != BACKGROUND]
    starts = {(s.label, s.start_frame) for s in segments}
    events = []
    for s in segments:
        t0, t1 = video.time_of(s.start_frame, s.start_s), video.time_of(s.end_frame, s.end_s)
        if (s.label, s.end_frame) in starts:  # the next segment of this behaviour starts here: stop just before
            t1 -= STOP_NUDGE_S
        events.append([round(t0, 3), "", s.label, "", f"confidence {s.confidence:.4f}", s.start_frame])
        events.append([round(t1, 3), "", s.label, "", "", s.end_frame])
    return sorted(events, key=lambda e: (e[0], e[4] != ""))


def _observation(video: VideoLabels, when: str) -> dict:
    files = {p: [] for p in PLAYERS}
    files["1"] = [video.path]
    return {
        "file": files, "type": "MEDIA", "date": when, "description": "labels from STAR Labeler",
        "time offset": 0.0, "events": _events(video), "observation time interval": [0, 0],
        "independent_variables": {}, "visualize_spectrogram": False, "visualize_waveform": False,
        "media_creation_date_as_offset": False, "media_scan_sampling_duration": 0, "image_display_duration": 1,
        "close_behaviors_between_videos": False,
        "media_info": {"length": {video.path: round(video.duration_s, 3)}, "fps": {video.path: video.fps},
                       "hasVideo": {video.path: True}, "hasAudio": {video.path: False}, "offset": {"1": 0.0}},
    }


def boris_project(videos: Sequence[VideoLabels], name: str) -> dict:
    """The BORIS project (format 7.0) of ``videos``: one observation each, named after the video's file."""
    when = datetime.now().isoformat(timespec="seconds")
    codes = list(dict.fromkeys(b for v in videos for b in v.behaviours()))
    observations: dict[str, dict] = {}
    for video in videos:
        obs_id, k = Path(video.path).stem, 2
        while obs_id in observations:
            obs_id, k = f"{Path(video.path).stem} ({k})", k + 1
        observations[obs_id] = _observation(video, when)
    return {
        "time_format": "hh:mm:ss", "project_date": when, "project_name": name,
        "project_description": "Labels exported by STAR Labeler", "project_format_version": FORMAT_VERSION,
        "subjects_conf": {}, "behaviors_conf": {str(i): _behaviour(i, c) for i, c in enumerate(codes)},
        "observations": observations, "behavioral_categories": [], "independent_variables": {},
        "coding_map": {}, "behaviors_coding_map": [], "converters": {},
    }


def write_boris_project(path: Path, videos: Sequence[VideoLabels]) -> Path:
    """Write ``videos`` as a BORIS project file, atomically."""
    path = Path(path)
    name = path.name.split(".")[0] or "STAR labels"
    return atomic_write_text(path, json.dumps(boris_project(videos, name), indent=1) + "\n")
