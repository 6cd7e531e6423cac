"""What labels and prototypes were made from, so that the app can tell when they are out of date.

- :func:`bank_actions`: the actions as the prototypes see them: their example clips, and (when the
  project says so) the segments a person confirmed, as more examples of their action;
- :func:`prototype_key`: the key of the prototypes those give with the project's model on a device;
- :func:`stamp`: what a video's labels were made with, in parts (the examples, the confirmed segments,
  the model, the labeling parameters), kept per video in ``Project.labeled_with``;
- :func:`stale_reasons`: what has changed since a video was labeled (nothing: its labels are current).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from star_app.project import Project
from star_model.schema import SOURCE_MANUAL, ActionExamples, ClipRef

REASONS = {"examples": "the actions, their examples or descriptors changed",
           "confirmed": "segments were confirmed or corrected since (they are examples)",
           "model": "the model changed", "labeling": "the labeling settings changed"}


def _digest(payload: Any) -> str:
    return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode(), digest_size=12).hexdigest()


def confirmed_clips(project: Project) -> dict[str, list[ClipRef]]:
    """Per action: the confirmed segments of every video that are not an example of it already."""
    known = {(c.path, c.start_s, c.end_s) for a in project.actions for c in a.examples}
    out: dict[str, list[ClipRef]] = {a.name: [] for a in project.actions}
    for video in project.videos:
        for seg in project.annotations.get(video.path, []):
            clip = ClipRef(video.path, round(seg.start_s, 3), round(seg.end_s, 3))
            if seg.source == SOURCE_MANUAL and seg.label in out and (clip.path, clip.start_s, clip.end_s) not in known:
                out[seg.label].append(clip)
    return out


def bank_actions(project: Project) -> list[ActionExamples]:
    """The actions as the prototypes are built from them (copies)."""
    extra = confirmed_clips(project) if project.settings.confirmed_as_examples else {}
    return [ActionExamples(a.name, [ClipRef(c.path, c.start_s, c.end_s) for c in a.examples] + extra.get(a.name, []),
                           list(a.descriptors) or None) for a in project.actions]


def stamp(project: Project) -> dict[str, str]:
    """What labeling the project's videos now would be made with, in parts (see the module docstring)."""
    examples = [[a.name, [asdict(c) for c in a.examples], a.descriptors] for a in project.actions]
    confirmed = confirmed_clips(project) if project.settings.confirmed_as_examples else {}
    return {"examples": _digest(examples), "confirmed": _digest({k: [asdict(c) for c in v] for k, v in confirmed.items()}),
            "model": _digest(project.settings.model.to_dict()),
            "labeling": _digest(asdict(project.settings.labeling))}


def prototype_key(project: Project, device: str) -> str:
    """The key of the prototypes of :func:`bank_actions` with the project's model on ``device`` (as
    ``AppSettings.compute`` writes it: with ``+fast-cpu`` when the fast tower embeds)."""
    parts = stamp(project)
    return _digest([parts["examples"], parts["confirmed"], parts["model"], device,
                    project.settings.labeling.trim_rest])


def stale_reasons(project: Project, video: str) -> list[str]:
    """Why the labels of ``video`` are out of date ([] when current, or when it was never labeled here)."""
    then = project.labeled_with.get(video)
    if not then:
        return []
    now = stamp(project)
    return [REASONS[part] for part in REASONS if then.get(part) != now[part]]
