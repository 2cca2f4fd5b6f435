"""A few cases of scripts/hostile_corpus.py (the whole corpus, 78 cases, takes minutes):
each runs the command line in its own process under a 2 GB address-space limit and a time
limit, and must end without a traceback, a hang or a write outside its work folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hostile_corpus.py"
FAST = ("safetensors-huge-header", "units-500000", "keras-is-a-pickle", "image-fifo")


def _corpus():
    spec = importlib.util.spec_from_file_location("hostile_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_hostile_inputs_end_in_clear_errors_within_bounds(tmp_path):
    corpus = _corpus()
    selected = [case for case in corpus.cases() if case.name in FAST]
    results = corpus.run_corpus(selected, tmp_path, jobs=2)
    assert [r.name for r in results] == list(FAST)
    for result in results:
        assert result.ok, corpus.table([result])
        assert result.exit_code in (3, 7), corpus.table([result])  # data / model file error
    assert not list(tmp_path.glob("cases/keras-is-a-pickle/**/PWNED"))
