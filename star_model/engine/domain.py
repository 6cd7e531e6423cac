"""Is a video from the world of its examples? A measurable out-of-domain check.

The model knows what its examples show. A video of another kind (a cartoon, a street scene, when the
examples are rendered people acting) gets labels all the same, and they are likely wrong. The check
compares two distances in the model's frame-feature space (cosine distance, 1 - cos):

- the video's **distance**: the median over its sampled frames of the distance to the nearest example
  frame;
- the examples' own **spread**: the median over the example frames of the distance to the nearest
  frame of *another* example clip (a single clip: to its other frames). The median, not a high
  percentile: it hardly moves with one odd example.

The video is **far** when distance / spread >= :data:`FAR_RATIO`. Measured with the bundled model and
2-3 synthetic actions of 2 examples each (four example sets): videos of the examples' actions
0.46-0.58; real videos (a cartoon, a street scene) 2.2-4.2; noise and moving patterns 1.8-3.9.
Synthetic videos of actions none of the examples show come out far too (about 1.7-2.3): their labels
are as unreliable. With one example per action the spread is the distance between actions, so the
check is more lenient there.
"""
from __future__ import annotations

import logging
from typing import Optional

import torch
import torch.nn.functional as F

from star_model.schema import DomainCheck

log = logging.getLogger(__name__)

FAR_RATIO = 1.5
SPREAD_QUANTILE = 0.5


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.float(), dim=-1)


def example_spread(support: torch.Tensor, clips: torch.Tensor) -> float:
    """The examples' own spread (see the module docstring). support: (M, D) frames; clips: (M,) clip ids."""
    unit = _unit(support)
    dist = 1.0 - unit @ unit.T
    if len(torch.unique(clips)) > 1:
        dist = dist.masked_fill(clips[:, None] == clips[None], float("inf"))
    else:
        dist = dist.fill_diagonal_(float("inf"))
    nearest = dist.min(1).values
    return float(torch.quantile(nearest[torch.isfinite(nearest)], SPREAD_QUANTILE)) if torch.isfinite(nearest).any() \
        else 0.0


def domain_check(feats: torch.Tensor, support: Optional[torch.Tensor],
                 clips: Optional[torch.Tensor]) -> Optional[DomainCheck]:
    """How far the video's frames (F, D) are from the example frames (M, D) of clips (M,); None without
    example frames (text-only actions) or video frames."""
    if support is None or clips is None or len(support) < 2 or len(feats) == 0:
        return None
    support = _unit(support)
    nearest = (1.0 - _unit(feats).to(support.device) @ support.T).min(1).values
    check = DomainCheck(float(nearest.median()), example_spread(support, clips.to(support.device)), FAR_RATIO)
    if check.far:
        log.warning("the video is far from the examples: its frames are %.1fx as far from them as the examples "
                    "are from each other; its labels are likely wrong", check.ratio)
    return check
