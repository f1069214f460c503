"""Loading: checkpoint folders, the wrong checkpoint format, geometry."""

from __future__ import annotations

import json

import pytest

from twig_janus.model import JanusEngine


def test_original_format_checkpoint_is_refused_with_a_hint(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "multi_modality"}))
    with pytest.raises(ValueError, match="deepseek-community/Janus-Pro-7B"):
        JanusEngine.load(str(tmp_path), device="cpu")


def test_geometry_comes_from_the_config(engine):
    assert (engine.grid, engine.patch_size, engine.image_size, engine.codebook_size) == (4, 16, 64, 64)
    assert engine.model.dtype.is_floating_point and engine.vq_dtype.is_floating_point
    assert engine._cache_kw in ("cache", "past_key_values")


def test_prompt_template_is_configurable(checkpoint, device):
    eng = JanusEngine.load(checkpoint, device=device, prompt_template="{prefix} {not a field}")
    ids = eng._prompt_ids("A cat.")
    assert ids[0] == eng.bos_id and ids[-1] == eng.boi_id
    assert eng.tokenizer.decode(ids[1:-1]) == "A cat. {not a field}"
    with pytest.raises(ValueError, match="must contain"):
        JanusEngine.load(checkpoint, device=device, prompt_template="no prefix here")
