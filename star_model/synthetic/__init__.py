"""The bundled synthetic action world: a measurable stand-in for real footage.

An articulated 2.5D human figure performs actions made of 1-4 ordered
primitive movements over randomised scenes. Modules:

- ``skeleton``   body model, pose channels, forward kinematics (with yaw for turns)
- ``primitives`` primitive movements as pose trajectories (+ their phrases, descriptors, captions)
- ``actions``    the 48-action vocabulary and its fixed 32/8/8 train/val/test splits
- ``scene``      backgrounds, clutter, occluders, distractor, noise, camera jitter
- ``render``     the OpenCV anti-aliased rasteriser
- ``motion``     stage timelines -> pose tracks, per-frame captions
- ``clip``       ``render_clip``: one seeded clip of one action
- ``longvideo``  ``compose_long_video``: long videos with ground-truth segments (+ CSV)
- ``dataset``    ``write_dataset``: folders of mp4 clips, descriptors and long videos
- ``demo``       ``demo_material``: the demo set of ``star-app demo`` and the app's demo project

Only numpy, OpenCV and PyAV are used (no torch, no Qt).
"""
from .actions import ACTIONS, SPLITS, Action, get_action, order_pairs, split_actions
from .clip import ClipPlan, SyntheticClip, prepare_clip, render_clip
from .dataset import write_dataset
from .longvideo import LongVideo, compose_long_video
from .primitives import IDLE_CAPTION, PRIMITIVES

__all__ = [
    "ACTIONS", "SPLITS", "Action", "get_action", "order_pairs", "split_actions",
    "ClipPlan", "SyntheticClip", "prepare_clip", "render_clip", "write_dataset",
    "LongVideo", "compose_long_video", "IDLE_CAPTION", "PRIMITIVES",
]
