"""Behaviour-coding keys, as in BORIS's coding map: one key per action (a letter or a digit).

A key must be one character, a letter or a digit, not taken by another action and not one of the plain
keys the editor keeps for itself (:data:`RESERVED`: N visits the review queue).
"""
from __future__ import annotations

from star_app.project import Project

RESERVED = {"N": "N visits the next segment to review"}


def normalise(key: str) -> str:
    return key.strip().upper()


def key_problem(project: Project, action: str, key: str) -> str:
    """Why ``key`` cannot code ``action`` ("" when it can; an empty key clears it)."""
    key = normalise(key)
    if not key:
        return ""
    if len(key) != 1 or not key.isalnum():
        return f"{key!r} is not one letter or digit; type a single key such as W or 1"
    if key in RESERVED:
        return f"{key} is taken: {RESERVED[key]}; choose another key"
    other = next((a.name for a in project.actions if a.key == key and a.name != action), None)
    if other is not None:
        return f"{key} already codes {other!r}; clear it there first, or choose another key"
    return ""
