"""YAML from users is read with bounds: alias bombs are refused before they expand."""

from __future__ import annotations

import pytest
import yaml

from cnnkit.errors import ConfigError
from cnnkit.train.config import RunConfig
from cnnkit.yaml_files import YamlTooLarge, expanded_size, load_bounded


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
              for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_expanded_size_counts_each_alias_use():
    node = yaml.compose("a: &x [1, 2]\nb: [*x, *x]\n")
    # mapping 1 + key a 1 + [1, 2] 3 + key b 1 + outer list 1 + two uses of [1, 2] 6
    assert expanded_size(node) == 13
    assert expanded_size(None) == 0


def test_a_small_file_that_expands_past_the_bound_is_refused():
    text = _bomb(9)
    assert len(text) < 1000
    with pytest.raises(YamlTooLarge):
        load_bounded(text)
    assert load_bounded(_bomb(3))["a2"][0][0][0] == "x"  # 1,110 values: fine


def test_run_config_with_an_alias_bomb_is_a_config_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(_bomb(9) + "epochs: 2\n")
    with pytest.raises(ConfigError, match="aliases"):
        RunConfig.load(path)

