"""Test-time stage descriptors as a user's LLM would write them for a new action, not the world's own.

The synthetic world's descriptor sentences (``star_model.synthetic.primitives``) are the ones the
bundled model's text tower saw in pretraining. What is new at test time is the *actions*: each
meta-test action is a composition (1-3 primitives, in an order) that no training action has; its
primitives all occur in meta-train actions. A real user writes their own words; these paraphrases
(one per primitive of the meta-test actions, worded differently from pretraining) measure that.
"""
from __future__ import annotations

from star_model.synthetic import get_action

PARAPHRASES = {
    "jump": "someone springs off the floor with both feet and comes back down",
    "clap": "the palms meet sharply in front of the body",
    "kick_right": "the right foot swings forward and out in a kick",
    "raise_left_arm": "the left hand is lifted high over the head",
    "bend": "the upper body folds down at the hips, then rises again",
    "spin": "the figure rotates a whole turn with the arms held out",
    "turn": "the person shows their back to the camera, then faces it again",
    "lean_left": "the torso tilts over towards the left side",
    "jumping_jack": "a hop that throws the arms and legs out into a star shape",
    "wave_right": "the right hand is held up and swung from side to side",
}


def paraphrased_descriptors(action: str) -> list[str]:
    """The paraphrased stage descriptors of a meta-test action, one per primitive, in order."""
    primitives = get_action(action).primitives
    missing = [p for p in primitives if p not in PARAPHRASES]
    if missing:
        raise KeyError(f"no paraphrase for primitive(s) {missing} of {action!r}")
    return [PARAPHRASES[p] for p in primitives]
