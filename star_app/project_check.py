"""The checks a project file passes before any of it reaches the app: types, finite ranges, lengths.

``project.json`` is read by :func:`star_app.project.load_project`, which runs :func:`check_project` on the
parsed JSON first: a value of the wrong type, a number that is not finite or out of range, or text too long
is refused with one message naming the field and the value (a :class:`CheckError`), except text the app
itself may have let grow (an action name longer than :data:`MAX_NAME_CHARS`, too many or too long
descriptors), which is shortened (the repair is returned as a note). So no widget ever sees a list for a
name or a duration of 1e308.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from star_model.schema import RATE_RANGE, SOURCES

MAX_NAME_CHARS = 200
"""The longest action (and segment label) name; longer names are shortened where they come in."""
MAX_TEXT_CHARS = 1000
MAX_PATH_CHARS = 4096
MAX_DESCRIPTORS = 50
"""Descriptors beyond these (lines, characters) are cut where a project file is read."""
MAX_TIME_S = 1e7  # about 115 days: no real video is longer
MAX_FPS = 1e6
MAX_FRAMES = 10**10
MAX_STEPS = 10**7


class CheckError(ValueError):
    """A value of a project file is not what the app can use; the message names the field and the value."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _fail(where: str, value: Any, wanted: str) -> CheckError:
    return CheckError(f"{where} is {_kind(value)} ({_show(value)}); it must be {wanted}")


def text(value: Any, where: str, limit: float = MAX_TEXT_CHARS, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise _fail(where, value, "text" if empty else "non-empty text")
    if len(value) > limit:
        raise CheckError(f"{where} is {len(value)} characters long ({_show(value)}); at most {limit:g} are allowed")
    return value


def number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, value, f"a number between {low:g} and {high:g}")
    if not (math.isfinite(float(value)) and low <= value <= high):
        raise CheckError(f"{where} is {_show(value)}; it must be a finite number between {low:g} and {high:g}")
    return float(value)


def whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, value, f"a whole number between {low} and {high}")
    return value


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, value, "true or false")
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, value, "an object")
    return value


def items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, value, "a list")
    return value


def optional(check: Callable[..., Any], value: Any, *args: Any) -> Any:
    return None if value is None else check(value, *args)


def bounded_name(name: str) -> tuple[str, str]:
    """``name`` cut to :data:`MAX_NAME_CHARS` and, when it was cut, a note saying so ("" otherwise)."""
    if len(name) <= MAX_NAME_CHARS:
        return name, ""
    return name[:MAX_NAME_CHARS], (f"the action name {_show(name)} has {len(name)} characters; it was shortened "
                                   f"to the first {MAX_NAME_CHARS}")


def _clip(data: Any, where: str) -> None:
    data = obj(data, where)
    text(data.get("path"), f"{where}.path", MAX_PATH_CHARS, empty=False)
    start = optional(number, data.get("start_s"), f"{where}.start_s", 0.0, MAX_TIME_S)
    end = optional(number, data.get("end_s"), f"{where}.end_s", 0.0, MAX_TIME_S)
    if start is not None and end is not None and end < start:
        raise CheckError(f"{where} ends ({end:g} s) before it starts ({start:g} s)")
    flag(data.get("tight", False), f"{where}.tight")


def _action(data: Any, where: str, notes: list[str]) -> None:
    data = obj(data, where)
    name = text(data.get("name"), f"{where}.name", limit=math.inf, empty=False)
    data["name"], note = bounded_name(name)
    if note:
        notes.append(f"{where}: {note}")
    text(data.get("color"), f"{where}.color", 64)
    descriptors = items(data.get("descriptors", []), f"{where}.descriptors")
    for k, line in enumerate(descriptors):
        text(line, f"{where}.descriptors[{k}]", limit=math.inf)
    bounded = [line[:MAX_TEXT_CHARS] for line in descriptors[:MAX_DESCRIPTORS]]
    if bounded != descriptors:
        notes.append(f"{where}: the descriptors were cut to at most {MAX_DESCRIPTORS} lines of {MAX_TEXT_CHARS} "
                     "characters")
        data["descriptors"] = bounded
    for k, clip in enumerate(items(data.get("examples", []), f"{where}.examples")):
        _clip(clip, f"{where}.examples[{k}]")
    text(data.get("key", ""), f"{where}.key", 16)


def video_numbers(duration_s: Any, fps: Any, frame_count: Any, where: str) -> None:
    """Check a video's duration, frame rate and frame count (in a project file, or probed from the file)."""
    number(duration_s, f"{where}.duration_s", 0.0, MAX_TIME_S)
    number(fps, f"{where}.fps", 0.0, MAX_FPS)
    whole(frame_count, f"{where}.frame_count", 0, MAX_FRAMES)


def _video(data: Any, where: str) -> None:
    data = obj(data, where)
    text(data.get("path"), f"{where}.path", MAX_PATH_CHARS, empty=False)
    video_numbers(data.get("duration_s", 0.0), data.get("fps", 0.0), data.get("frame_count", 0), where)


def _segment(data: Any, where: str) -> None:
    data = obj(data, where)
    data["label"] = bounded_name(text(data.get("label"), f"{where}.label", limit=math.inf, empty=False))[0]
    start = number(data.get("start_s"), f"{where}.start_s", 0.0, MAX_TIME_S)
    if number(data.get("end_s"), f"{where}.end_s", 0.0, MAX_TIME_S) < start:
        raise CheckError(f"{where} ends ({data['end_s']:g} s) before it starts ({start:g} s)")
    first = whole(data.get("start_frame"), f"{where}.start_frame", 0, MAX_FRAMES)
    whole(data.get("end_frame"), f"{where}.end_frame", first, MAX_FRAMES)
    number(data.get("confidence", 1.0), f"{where}.confidence", -1e9, 1e9)
    if data.get("source", SOURCES[0]) not in SOURCES:
        raise _fail(f"{where}.source", data.get("source"), f"one of {', '.join(SOURCES)}")


def _settings(data: Any, where: str) -> None:
    data = obj(data, where)
    for key, value in obj(data.get("model", {}), f"{where}.model").items():
        if value is not None and not isinstance(value, bool):  # version 1 kept a ModelChoice (None, flags)
            text(value, f"{where}.model.{key}", MAX_PATH_CHARS)
    labeling = obj(data.get("labeling", {}), f"{where}.labeling")
    number(labeling.get("rate", RATE_RANGE[0]), f"{where}.labeling.rate", *RATE_RANGE)
    flag(labeling.get("trim_rest", True), f"{where}.labeling.trim_rest")
    whole(data.get("retrain_steps", 0), f"{where}.retrain_steps", 0, MAX_STEPS)
    flag(data.get("confirmed_as_examples", True), f"{where}.confirmed_as_examples")


def check_project(data: Any) -> list[str]:
    """Check (and where it can, repair in place) a parsed ``project.json``; returns the repairs made.

    Raises :class:`CheckError` naming the first bad field and its value."""
    data = obj(data, "the file")
    text(data.get("name", ""), "name", MAX_PATH_CHARS)
    notes: list[str] = []
    for k, action in enumerate(items(data.get("actions"), "actions")):
        _action(action, f"actions[{k}]", notes)
    names = [a["name"] for a in data["actions"]]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise CheckError(f"actions: the name {_show(twice)} is used by more than one action")
    for k, video in enumerate(items(data.get("videos", []), "videos")):
        _video(video, f"videos[{k}]")
    for path, segments in obj(data.get("annotations", {}), "annotations").items():
        for k, segment in enumerate(items(segments, f"annotations[{_show(path)}]")):
            _segment(segment, f"annotations[{_show(path)}][{k}]")
    _settings(data.get("settings", {}), "settings")
    for path, parts in obj(data.get("labeled_with", {}), "labeled_with").items():
        for key, value in obj(parts, f"labeled_with[{_show(path)}]").items():
            text(value, f"labeled_with[{_show(path)}].{key}", 256)
    return notes
