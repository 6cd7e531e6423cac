"""The action vocabulary of the synthetic world and its fixed meta-learning splits.

An action is an ordered sequence of 1-4 primitive movements (see
``primitives.PRIMITIVES``); its name is the primitives' phrases joined by
" then " and its stage descriptors are the primitives' descriptor sentences in
order. Order matters: "squat then jump" and "jump then squat" are different
actions (as in Something-Something), and every split holds such *order pairs*.
Novel classes of the val/test splits are novel *combinations* of primitives
that also appear in meta-train actions.

48 actions, fixed (the name is also the dataset folder name):

meta-train (32):
  raise the left arm | raise the right arm | wave the right hand | clap | squat |
  jump | bend forward | spin around | squat then jump | jump then squat |
  raise the left arm then raise the right arm |
  raise the right arm then raise the left arm | step left then step right |
  step right then step left | clap then wave the left hand |
  wave the left hand then clap | stretch the arms out then spin around |
  kick with the left leg then kick with the right leg | bend forward then jump |
  lean left then lean right | do a jumping jack |
  turn around then wave the right hand | squat then clap then jump |
  raise both arms then bend forward | kick with the right leg then squat |
  step left then jump then step right | lean right then raise the left arm |
  stretch the arms out then clap | wave the right hand then step left |
  do a jumping jack then squat then raise both arms |
  turn around then bend forward then squat then jump |
  clap then kick with the left leg
meta-val (8):
  kick with the left leg | raise both arms then squat | squat then raise both arms |
  wave the left hand then turn around | turn around then wave the left hand |
  stretch the arms out | step right then clap then step left |
  jump then lean left then spin around then raise the right arm
meta-test (8):
  jump then clap | clap then jump |
  kick with the right leg then raise the left arm |
  raise the left arm then kick with the right leg |
  bend forward then spin around | spin around then bend forward | turn around |
  lean left then do a jumping jack then wave the right hand

Order pairs: train 4 (squat/jump, raise left/right arm, step left/right,
clap/wave left), val 2, test 3.
"""
from __future__ import annotations

from dataclasses import dataclass

from .primitives import PRIMITIVES

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Action:
    primitives: tuple[str, ...]
    split: str

    @property
    def name(self) -> str:
        return " then ".join(PRIMITIVES[p].phrase for p in self.primitives)

    @property
    def descriptors(self) -> tuple[str, ...]:
        """One stage sentence per primitive, in temporal order."""
        return tuple(PRIMITIVES[p].descriptor for p in self.primitives)

    @property
    def captions(self) -> tuple[str, ...]:
        return tuple(PRIMITIVES[p].caption for p in self.primitives)

    def __str__(self) -> str:
        return self.name


_TRAIN = [
    ("raise_left_arm",), ("raise_right_arm",), ("wave_right",), ("clap",), ("squat",), ("jump",),
    ("bend",), ("spin",),
    ("squat", "jump"), ("jump", "squat"),
    ("raise_left_arm", "raise_right_arm"), ("raise_right_arm", "raise_left_arm"),
    ("step_left", "step_right"), ("step_right", "step_left"),
    ("clap", "wave_left"), ("wave_left", "clap"),
    ("arms_out", "spin"), ("kick_left", "kick_right"), ("bend", "jump"), ("lean_left", "lean_right"),
    ("jumping_jack",), ("turn", "wave_right"), ("squat", "clap", "jump"), ("raise_both_arms", "bend"),
    ("kick_right", "squat"), ("step_left", "jump", "step_right"), ("lean_right", "raise_left_arm"),
    ("arms_out", "clap"), ("wave_right", "step_left"), ("jumping_jack", "squat", "raise_both_arms"),
    ("turn", "bend", "squat", "jump"), ("clap", "kick_left"),
]
_VAL = [
    ("kick_left",), ("raise_both_arms", "squat"), ("squat", "raise_both_arms"),
    ("wave_left", "turn"), ("turn", "wave_left"), ("arms_out",), ("step_right", "clap", "step_left"),
    ("jump", "lean_left", "spin", "raise_right_arm"),
]
_TEST = [
    ("jump", "clap"), ("clap", "jump"),
    ("kick_right", "raise_left_arm"), ("raise_left_arm", "kick_right"),
    ("bend", "spin"), ("spin", "bend"), ("turn",),
    ("lean_left", "jumping_jack", "wave_right"),
]

ACTIONS: list[Action] = (
    [Action(p, "train") for p in _TRAIN] + [Action(p, "val") for p in _VAL] + [Action(p, "test") for p in _TEST]
)
_BY_NAME = {a.name: a for a in ACTIONS}


def split_actions(split: str) -> list[Action]:
    """The actions of one split: "train" (32), "val" (8) or "test" (8)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return [a for a in ACTIONS if a.split == split]


def get_action(name: str | Action) -> Action:
    """Look an action up by its name (an ``Action`` is returned as is)."""
    if isinstance(name, Action):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown synthetic action {name!r}") from None


def order_pairs(actions: list[Action]) -> list[tuple[Action, Action]]:
    """Pairs of actions made of the same primitives in a different order."""
    pairs = []
    for i, a in enumerate(actions):
        for b in actions[i + 1:]:
            if a.primitives != b.primitives and sorted(a.primitives) == sorted(b.primitives):
                pairs.append((a, b))
    return pairs
