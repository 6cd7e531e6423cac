import json

import pytest

from star_model import list_models, load_config
from star_model.errors import ConfigError
from star_model.nn.config import config_from_dict


def test_shipped_configs_are_listed_and_load():
    names = list_models()
    assert {"star-vitb16", "star-rn50", "star-tiny"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.name == name
        assert config_from_dict(cfg.to_dict()) == cfg


def test_unknown_top_level_key_is_named():
    data = load_config("star-tiny").to_dict()
    data["colour"] = "blue"
    with pytest.raises(ConfigError, match="unknown key colour"):
        config_from_dict(data)


def test_unknown_nested_key_is_named_with_its_path():
    data = load_config("star-tiny").to_dict()
    data["acu"]["mamba"]["d_sate"] = 8
    with pytest.raises(ConfigError, match=r"unknown key acu\.mamba\.d_sate"):
        config_from_dict(data)


def test_bad_values_are_refused(tmp_path):
    data = load_config("star-tiny").to_dict()
    data["matching"]["method"] = "dtw"
    with pytest.raises(ConfigError, match="dtw"):
        config_from_dict(data)
    data = load_config("star-tiny").to_dict()
    data["matching"]["stage_features"] = "refined"
    with pytest.raises(ConfigError, match="stage_features 'refined'"):
        config_from_dict(data)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(load_config("star-tiny").to_dict()) + "}")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(path)
    with pytest.raises(ConfigError, match="shipped models"):
        load_config("star-huge")
