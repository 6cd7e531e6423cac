"""Segment confidence: the probability that a segment's label is right, from what the search saw.

An action segment is described by its label's share of the segment-score softmax over the actions,
the margin to the runner-up, STAR's own posterior of the label, the mean activity probability of
its frames and how far its length lies from the label's examples (in log-spreads). A background
stretch is described by its mean and least background probability and its length. Two logistic
models (:class:`ConfidenceModel`), fitted on the validation split's long videos, turn these into
probabilities (a third, for the segments of text-only actions, is fitted on zero-shot runs);
:func:`expected_calibration_error` measures how well they hold on other videos.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from star_model.engine.logistic import sigmoid

ACTION_FEATURES = ("log_share", "log_margin", "log_star", "activity", "length_z")
BACKGROUND_FEATURES = ("log_rest", "log_length", "least_rest")


@dataclass(frozen=True)
class ConfidenceModel:
    """Logistic weights and biases for action segments, background stretches and text-only actions' segments."""

    action_weights: tuple[float, ...]
    action_bias: float
    background_weights: tuple[float, ...]
    background_bias: float
    text_weights: tuple[float, ...] = (0.0,) * len(ACTION_FEATURES)
    text_bias: float = 0.0

    def __post_init__(self) -> None:
        if (len(self.action_weights) != len(ACTION_FEATURES) or len(self.text_weights) != len(ACTION_FEATURES)
                or len(self.background_weights) != len(BACKGROUND_FEATURES)):
            raise ValueError(f"a confidence model needs {len(ACTION_FEATURES)} action, {len(ACTION_FEATURES)} text-only "
                             f"and {len(BACKGROUND_FEATURES)} background weights")

    def action(self, features: np.ndarray) -> np.ndarray:
        """features: (M, len(ACTION_FEATURES)) -> (M,) probabilities."""
        return sigmoid(np.asarray(features).reshape(-1, len(ACTION_FEATURES)) @ np.asarray(self.action_weights)
                       + self.action_bias)

    def text_only(self, features: np.ndarray) -> np.ndarray:
        """features of text-only actions' segments: (M, len(ACTION_FEATURES)) -> (M,) probabilities."""
        return sigmoid(np.asarray(features).reshape(-1, len(ACTION_FEATURES)) @ np.asarray(self.text_weights)
                       + self.text_bias)

    def background(self, features: np.ndarray) -> np.ndarray:
        """features: (M, len(BACKGROUND_FEATURES)) -> (M,) probabilities."""
        return sigmoid(np.asarray(features).reshape(-1, len(BACKGROUND_FEATURES))
                       @ np.asarray(self.background_weights) + self.background_bias)


def action_features(segment_scores: np.ndarray, star_log_posterior: np.ndarray, label: int,
                    p_active: np.ndarray, length_z: float) -> np.ndarray:
    """The features of one action segment: its (N,) segment scores and STAR log-posterior, its label,
    the activity probabilities of its frames and its length's distance from the label's examples."""
    share = np.exp(segment_scores - np.logaddexp.reduce(segment_scores))
    ranked = np.sort(share)[::-1]
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    return np.array([np.log(share[label] + 1e-6), np.log(ranked[0] + 1e-6) - np.log(runner_up + 1e-6),
                     float(star_log_posterior[label]), float(np.mean(p_active)), abs(float(length_z))])


def background_features(p_active: np.ndarray) -> np.ndarray:
    """The features of one background stretch from the activity probabilities of its frames."""
    return np.array([np.log(1.0 - float(np.mean(p_active)) + 1e-6), np.log(len(p_active)),
                     1.0 - float(np.max(p_active))])


def expected_calibration_error(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Mean |confidence - accuracy| over ``bins`` equal-width confidence bins, weighted by their size."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if len(p) == 0:
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(np.mean(which == b) * abs(p[which == b].mean() - y[which == b].mean())
                     for b in range(bins) if np.any(which == b)))
