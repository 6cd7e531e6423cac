"""Fine-tuning the STAR head on a project's own examples (Retrain in the app), backbone frozen."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from star_model.data.datasets import hold_out_clips
from star_model.data.episodes import EpisodePlan
from star_model.engine.features import FrameEmbedder
from star_model.nn.checkpoint import load_state_strict, read_checkpoint
from star_model.nn.model import STAR
from star_model.schema import ActionExamples, CancelFn, ProgressFn, report
from star_model.train.loop import EpisodeLoss, TrainConfig, evaluate, train
from star_model.train.recipes import fine_tune_config
from star_model.train.sources import FeatureSource


def _merge(actions: Sequence[ActionExamples], confirmed: Optional[Sequence[ActionExamples]]) -> list[ActionExamples]:
    merged = {a.name: ActionExamples(a.name, list(a.clips), a.descriptors) for a in actions}
    for extra in confirmed or []:
        if extra.name not in merged:
            merged[extra.name] = ActionExamples(extra.name, [], extra.descriptors)
        merged[extra.name].clips.extend(extra.clips)
    return list(merged.values())


def holdout_plan(train_counts: Sequence[int], held_counts: Sequence[int]) -> EpisodePlan:
    """One validation episode over every class: all training clips as support, the held-out clips
    (indexed after the training clips of their class) as queries."""
    classes = [c for c, n in enumerate(train_counts) if n > 0]
    support = [(c, i) for c in classes for i in range(train_counts[c])]
    query = [(c, train_counts[c] + j) for c in classes for j in range(held_counts[c])]
    return EpisodePlan(classes, support, query)


def fine_tune(
    model: STAR,
    actions: Sequence[ActionExamples],
    confirmed: Optional[Sequence[ActionExamples]] = None,
    *,
    out_dir: Path,
    cfg: Optional[TrainConfig] = None,
    embedder: Optional[FrameEmbedder] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[Path, dict]:
    """Fine-tune the head on a project's actions (support clips plus confirmed segments), backbone frozen.

    Of every class with >= 3 clips a quarter (at least one) is held out; validation classifies them
    against prototypes of the remaining clips. Returns (the best checkpoint, or the last one without
    validation, and metrics: steps, train_loss, val_accuracy / val_loss, held_out, and
    val_accuracy_before: the model's accuracy on the same held-out clips before fine-tuning). The model
    ends holding the returned checkpoint's weights. Raises Cancelled when ``cancel`` says so.
    """
    cfg = cfg or fine_tune_config()
    if cfg.unfreeze_last:
        raise ValueError("fine_tune keeps the backbone frozen; set unfreeze_last to 0")
    kept, held = hold_out_clips(_merge(actions, confirmed), seed=cfg.seed)
    embedder = embedder or FrameEmbedder(model)
    report(progress, 0, cfg.steps, "embedding clips")
    train_set = FeatureSource.from_actions(embedder, kept, cancel)
    val_set, plans, before = None, None, None
    if any(held):
        extra = [[embedder.clip_frames(r.path, r.start_s, r.end_s, cancel=cancel).feats for r in h] for h in held]
        val_set = train_set.extended(extra)
        plans = [holdout_plan(train_set.counts, [len(h) for h in held])]
        before = accuracy_now(model, val_set, plans)

    def on_step(step: int, total: int, metrics: dict) -> None:
        text = " ".join(f"{k} {v:.3g}" for k, v in metrics.items() if k != "lr")
        report(progress, step, total, text)

    result = train(model, train_set, val_set, cfg, on_step, cancel, Path(out_dir), val_plans=plans)
    path = result.best_checkpoint or result.last_checkpoint
    _, state, _ = read_checkpoint(path)
    load_state_strict(model, state, f"checkpoint {path.name}")
    metrics = {"steps": result.step, "train_loss": result.last_metrics.get("loss"),
               "held_out": sum(len(h) for h in held)}
    if result.best is not None:
        metrics.update(val_accuracy=result.best["val_accuracy"], val_loss=result.best["val_loss"],
                       val_accuracy_before=before)
    return path, metrics


def accuracy_now(model: STAR, val_set: FeatureSource, plans: Sequence[EpisodePlan]) -> float:
    """The model's accuracy on the validation episodes ``plans``, as it is (before any training)."""
    device = next(model.parameters()).device
    batches = [val_set.batch(model, plan, model.cfg.num_frames, None) for plan in plans]
    return float(evaluate(EpisodeLoss(model), batches, device)["val_accuracy"])
