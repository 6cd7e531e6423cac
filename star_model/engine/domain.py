"""Is a video from the world its model and examples know? A measurable out-of-domain check.

The model knows what it was trained on and what its examples show. A video of another kind (a cartoon,
a street scene, when the model knows rendered people acting) gets labels all the same, and they are
likely wrong. The check compares two distances in the model's frame-feature space (cosine, 1 - cos):

- **With a world** (:mod:`star_model.engine.world`: reference frames of the footage the model was
  trained on; the bundled model has one): the video's distance is the lower quartile over its sampled
  frames of the distance to the nearest world frame (a quarter of its frames are nearer), against the
  world's own spread (the median distance of a world frame to the nearest frame of another world clip).
  Far from :data:`FAR_RATIO_WORLD`, chosen between the two kinds measured with the bundled model
  (``bench/world_reference.py``): the 12 val long videos (none used to build the world) 0.48-1.68;
  real videos 4.27 (Megamind.avi, a cartoon face) and 8.21 (vtest.avi, a street), coloured noise 6.12.
- **Without one** (towers whose training footage we do not have): the distance is the median over the
  video's frames of the distance to the nearest *example* frame, against the examples' spread (the median
  over the example frames of the distance to the nearest frame of another example clip; one clip: its
  other frames). Far from :data:`FAR_RATIO_EXAMPLES`. This is the weaker check: a new scene of the same
  world moves a video away from a handful of examples too. Measured with the bundled model and rendered
  examples (1-5 per val action): val long videos 0.25-3.19 (3 of 72 video-draws above 3.0), real videos
  and noise 1.8-7.4 (3.2-7.4 from 3 examples on). With examples cut from one video (one scene) every
  other video was 5-24x as far (measured with the previous towers), so there the check is not made.
"""
from __future__ import annotations

import logging
from typing import Optional

import torch
import torch.nn.functional as F

from star_model.engine.world import World, nearest_other_clip
from star_model.schema import DomainCheck

log = logging.getLogger(__name__)

FAR_RATIO_WORLD = 2.4
FAR_RATIO_EXAMPLES = 3.0
VIDEO_QUANTILE_WORLD = 0.25


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.float(), dim=-1)


def example_spread(support: torch.Tensor, clips: torch.Tensor) -> float:
    """The examples' own spread (see the module docstring). support: (M, D) frames; clips: (M,) clip ids."""
    unit = _unit(support)
    if len(torch.unique(clips)) > 1:
        nearest = nearest_other_clip(unit, clips)
    else:
        nearest = (1.0 - unit @ unit.T).fill_diagonal_(float("inf")).min(1).values
    finite = nearest[torch.isfinite(nearest)]
    return float(torch.quantile(finite, 0.5)) if len(finite) else 0.0


def _nearest(feats: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return (1.0 - _unit(feats).to(reference.device) @ reference.T).min(1).values


def domain_check(feats: torch.Tensor, support: Optional[torch.Tensor], clips: Optional[torch.Tensor],
                 world: Optional[World] = None, one_scene: bool = False) -> Optional[DomainCheck]:
    """How far the video's frames (F, D) are from the ``world`` the model knows, or without one from the
    example frames (M, D) of clips (M,). None without video frames, or without a world when there are
    no example frames (text-only actions) or they all come from one video (``one_scene``)."""
    if len(feats) == 0:
        return None
    if world is not None:
        distance = float(torch.quantile(_nearest(feats, world.feats), VIDEO_QUANTILE_WORLD))
        check = DomainCheck(distance, world.spread, FAR_RATIO_WORLD)
    elif support is None or clips is None or len(support) < 2 or one_scene:
        return None
    else:
        unit = _unit(support)
        check = DomainCheck(float(_nearest(feats, unit).median()), example_spread(unit, clips), FAR_RATIO_EXAMPLES)
    if check.far:
        log.warning("the video is far from %s: its frames are %.1fx as far as usual; its labels are likely wrong",
                    "the examples" if world is None else "the footage the model knows", check.ratio)
    return check
