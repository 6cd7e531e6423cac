"""STAR recipes: gates that start open, boosted mix weights, config overrides, the meta-val search, seeds in
parallel processes."""
import logging

import pytest
import torch

from star_model import create_model
from star_model.bench.baselines import build_method
from star_model.bench.evaluate import EvalSettings, run_benchmark
from star_model.bench.part_search import format_search, run_search
from star_model.bench.pool import map_units
from star_model.nn.config import config_from_dict, load_config, merged
from star_model.nn.model import STAR
from star_model.train.loop import TrainConfig, _param_groups

SAY = logging.getLogger("star_model.bench").info  # pickles by name, so worker processes can use it
CARD = {"seed": 0, "meta_train_clips": 2}
TINY = EvalSettings(episodes=6, seeds=2, max_steps=2, val_every=1, val_episodes=2, patience=1, clips=3, val_clips=2,
                    queries=1)


@pytest.fixture(scope="module")
def towers():
    torch.manual_seed(0)
    return create_model("star-tiny")


def test_merged_overrides_nested_sections_without_touching_the_original():
    data = {"sgf": {"enabled": True, "gate_init": 0.0}, "acu": {"depth": 2, "mamba": {"expand": 2, "d_state": 16}}}
    out = merged(data, {"sgf": {"gate_init": 0.1}, "acu": {"mamba": {"expand": 1}}})
    assert out == {"sgf": {"enabled": True, "gate_init": 0.1}, "acu": {"depth": 2, "mamba": {"expand": 1, "d_state": 16}}}
    assert data["sgf"]["gate_init"] == 0.0 and data["acu"]["mamba"]["expand"] == 2


def test_a_recipe_reaches_the_built_head_and_ablations_still_apply_on_top(towers):
    recipe = {"sgf": {"gate_init": 0.1}, "asd": {"mix_lr_scale": 10.0}, "acu": {"depth": 1}}
    _, star = build_method("star", towers, recipe)
    assert torch.allclose(star.refiner.sgf.gate, torch.full_like(star.refiner.sgf.gate, 0.1))
    assert len(star.refiner.acu.blocks) == 1 and star.lr_scales() == {"refiner.asd.mix": 10.0}
    _, no_sgf = build_method("star_no_sgf", towers, recipe)
    assert no_sgf.refiner.sgf is None and len(no_sgf.refiner.acu.blocks) == 1
    _, plain = build_method("star", towers)
    assert not plain.refiner.sgf.gate.detach().any() and plain.lr_scales() == {}


def test_boosted_mix_weights_get_their_own_learning_rate(towers):
    _, star = build_method("star", towers, {"asd": {"mix_lr_scale": 10.0}})
    groups = _param_groups(star, TrainConfig())
    boosted = [g for g in groups if "refiner.asd.mix" in g["names"]]
    assert len(boosted) == 1 and boosted[0]["lr_scale"] == 10.0 and boosted[0]["names"] == ["refiner.asd.mix"]
    counted = sum(len(g["params"]) for g in groups)
    assert counted == len([p for n, p in star.named_parameters() if not n.startswith("backbone.")])


def _draw(context: dict, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed + context["offset"])
    x = torch.randn(64, 64, generator=gen)
    return float((x @ x.T).sum())


def _context(offset: int) -> dict:
    return {"offset": offset}


def test_units_in_worker_processes_come_back_in_order_and_equal_a_local_run():
    local = map_units(_draw, [3, 1, 2], 1, _context, (5,))
    assert map_units(_draw, [3, 1, 2], 2, _context, (5,)) == local
    assert local[0] == _draw({"offset": 5}, 3)


def test_a_benchmark_in_two_processes_equals_one_process(towers):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # each worker gets one thread: compare like with like
    try:
        one = run_benchmark(TINY, ["otam", "star"], say=SAY, towers=towers, card=CARD)
        two = run_benchmark(TINY, ["otam", "star"], say=SAY, towers=towers, card=CARD, jobs=2)
    finally:
        torch.set_num_threads(threads)
    rows = [[line for line in text.splitlines() if line.startswith("| ") and "±" in line] for text in (one, two)]
    assert rows[0] == rows[1] and len(rows[0]) == 2
    assert "2 processes x 1 thread(s)" in two


def test_tiny_search_scores_every_candidate_on_meta_val(towers):
    candidates = {"bundled recipe": {}, "open gate": {"sgf": {"gate_init": 0.1}}}
    text = run_search(TINY, candidates, say=SAY, towers=towers, card=CARD)
    assert "| bundled recipe | `{}` |" in text and "| open gate | `{'sgf': {'gate_init': 0.1}}` |" in text
    assert "Chosen: **" in text and "No meta-test action is used" in text


def test_a_search_on_another_builds_towers_uses_them_and_names_the_file(towers, tmp_path, capsys):
    from star_model.cli.main import main
    from star_model.nn.bundled import load_bundled, read_card, save_bundled

    path = save_bundled(towers, tmp_path / "build", {**CARD, "command": "star-app bundle --pretrain-steps 9"})
    candidates = {"bundled recipe": {}}
    text = run_search(TINY, candidates, say=SAY, model=path)
    assert f"--model {path}`" in text and "built by: `star-app bundle --pretrain-steps 9`" in text
    same = run_search(TINY, candidates, say=SAY, towers=load_bundled("cpu", path), card=read_card(path))
    rows = [[line for line in t.splitlines() if line.startswith("| bundled recipe")] for t in (text, same)]
    assert rows[0] == rows[1] and len(rows[0]) == 1
    assert main(["eval", "--only", "fewshot", "--model", str(path)]) == 2
    assert f"error: --model {path} applies to --only search" in capsys.readouterr().err
    assert main(["eval", "--only", "search", "--candidates", "bundled recipe", "--model", str(tmp_path / "no")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_search_ships_a_candidate_only_when_it_is_significantly_ahead():
    settings = EvalSettings(seeds=5)
    candidates = {"bundled recipe": {}, "better": {"sgf": {"gate_init": 0.1}}, "lucky": {"acu": {"depth": 1}}}
    base = [0.80, 0.82, 0.79, 0.81, 0.83]
    steps = {name: [100] * 5 for name in candidates}
    diag = {name: [{"gate": 0.1, "mix": 0.4}] * 5 for name in candidates}
    clear = {"bundled recipe": base, "better": [b + 0.03 + 0.002 * k for k, b in enumerate(base)], "lucky": base}
    same = {name: base for name in candidates}
    assert "Chosen: **better**" in format_search(candidates, clear, same, steps, diag, settings, 60.0, 1)
    assert "Chosen: **better**" in format_search(candidates, same, clear, steps, diag, settings, 60.0, 1)
    noisy = {"bundled recipe": base, "better": base,
             "lucky": [b + d for b, d in zip(base, [0.06, -0.04, 0.05, -0.03, 0.02])]}
    text = format_search(candidates, noisy, same, steps, diag, settings, 60.0, 1)
    assert "Chosen: **bundled recipe**" in text and "best mean score: lucky" in text
    traded = {"bundled recipe": base, "better": [b - 0.04 for b in base], "lucky": base}
    text = format_search(candidates, traded, clear, steps, diag, settings, 60.0, 1)
    assert "Chosen: **bundled recipe**" in text, "a gain on order pairs paid for by 5-way accuracy is not a gain"


def test_eval_command_takes_a_recipe_and_jobs():
    from star_model.cli.main import UsageError, build_parser

    parser = build_parser()
    args = parser.parse_args(["eval", "--only", "search", "--recipe", '{"sgf": {"gate_init": 0.1}}', "--jobs", "3"])
    assert args.recipe == {"sgf": {"gate_init": 0.1}} and args.jobs == 3 and args.only == "search"
    defaults = parser.parse_args(["eval"])
    assert (defaults.recipe, defaults.seeds, defaults.episodes, defaults.max_steps) == ({}, 5, 300, 200)
    for bad in ("{sgf: open}", "[1, 2]"):
        with pytest.raises(UsageError, match=r"--recipe: .* (is not JSON|is not a JSON object).*'star-app eval --help'"):
            parser.parse_args(["eval", "--recipe", bad])


def test_a_recipe_with_an_unknown_key_is_refused_before_anything_runs(capsys):
    from star_model.cli.main import main

    assert main(["eval", "--only", "search", "--recipe", '{"sgf": {"gate": 1}}']) == 2
    assert capsys.readouterr().err.strip() == "error: unknown key sgf.gate in model config; known keys: enabled, gate_init"


def test_a_recipe_carries_training_settings_and_an_unknown_one_is_refused(capsys, towers):
    from star_model.bench.evaluate import check_recipe
    from star_model.cli.main import main

    check_recipe({"train": {"pair_share": 0.5}, "sgf": {"gate_init": 0.1}})
    assert main(["eval", "--only", "search", "--recipe", '{"train": {"pair_shares": 1}}']) == 2
    assert capsys.readouterr().err.startswith("error: unknown training setting train.pair_shares in the recipe; known: way")
    assert main(["eval", "--only", "search", "--recipe", '{"train": {"steps": 9}}']) == 2
    assert "unknown training setting train.steps" in capsys.readouterr().err  # the benchmark's own option
    assert main(["eval", "--recipe", '{"train": 0.5}']) == 2
    assert "must be an object of training settings" in capsys.readouterr().err
    _, module = build_method("star", towers, {"train": {"pair_share": 0.5}})
    assert module.cfg == build_method("star", towers, {})[1].cfg  # training settings are not config


def test_the_search_runs_a_named_subset_of_candidates_and_says_how_to_rerun_it(capsys):
    from star_model.cli.main import UsageError, build_parser, main

    parser = build_parser()
    args = parser.parse_args(["eval", "--only", "search", "--candidates", "bundled recipe, ACU dropout 0.1"])
    assert args.candidates == {"bundled recipe": {}, "ACU dropout 0.1": {"acu": {"dropout": 0.1}}}
    with pytest.raises(UsageError, match=r"--candidates: unknown candidate 'ACU dropout 0.5'; known: bundled recipe"):
        parser.parse_args(["eval", "--candidates", "bundled recipe,ACU dropout 0.5"])
    settings = EvalSettings(seeds=2, episodes=10, max_steps=5, clips=4)
    text = format_search(args.candidates, {n: [0.5, 0.6] for n in args.candidates},
                         {n: [0.9, 0.9] for n in args.candidates}, {n: [5, 5] for n in args.candidates}, {n: [{}, {}] for n in args.candidates}, settings, 1.0, 1)
    assert "--max-steps 5 --clips 4 --seed 0 --candidates 'bundled recipe,ACU dropout 0.1'`" in text
    assert main(["eval", "--only", "search", "--candidates", "nothing"]) == 2
    assert "unknown candidate 'nothing'" in capsys.readouterr().err
    from star_model.bench.part_search import CANDIDATES

    assert [n for n in CANDIDATES if "," in n] == [], "--candidates splits on commas"


def test_acu_dropout_regularises_training_only():
    """ACU's dropout drops residual updates while training; in eval mode the model is the one without it."""
    def star(overrides: dict) -> STAR:
        return STAR(config_from_dict(merged(load_config("star-tiny").to_dict(), overrides)), warn_random=False)

    torch.manual_seed(0)
    plain, dropped = star({}), star({"acu": {"dropout": 0.5}})
    for block in plain.refiner.acu.blocks:  # the residual updates start at zero: give them weight
        torch.nn.init.normal_(block.out_proj.weight, std=0.2)
    dropped.load_state_dict(plain.state_dict())
    x = torch.nn.functional.normalize(torch.randn(2, 8, plain.cfg.embed_dim), dim=-1)
    plain.eval(), dropped.eval()
    assert torch.allclose(plain.refiner(x), dropped.refiner(x), atol=1e-6)
    dropped.train()
    assert not torch.allclose(plain.refiner(x), dropped.refiner(x), atol=1e-3)
