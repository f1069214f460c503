"""What the engine conditions on: the prompt wrapper that /v1/info reports,
and the pad token of CFG's unconditional row."""

from __future__ import annotations

import logging

import pytest

from twig_janus import tiny
from twig_janus.common import DEFAULT_PROMPT_TEMPLATE
from twig_janus.model import CFG_PAD_TOKEN, JanusEngine, cfg_pad_id

# The reference processor's pad token, spelt out: full-width vertical bars
# (U+FF5C) around lower one eighth blocks (U+2581).
REFERENCE_PAD = "<\uff5c\u2581pad\u2581\uff5c>"


class GenerationConfig:
    def __init__(self, pad_token_id=None):
        self.pad_token_id = pad_token_id


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "twig_janus"]


def test_cfg_pad_token_is_the_reference_one():
    assert CFG_PAD_TOKEN == REFERENCE_PAD == tiny.PAD


def test_info_reports_the_prompt_wrapper(client, engine):
    status, _, info = client.get("/v1/info")
    assert status == 200
    assert info["prompt_wrapper"] == "User: {prefix}\n\nAssistant:<begin_of_image>"
    assert info["prompt_wrapper"] == DEFAULT_PROMPT_TEMPLATE + engine.boi_token == engine.prompt_wrapper
    # It is the text the engine tokenises: BOS, then the wrapped prefix.
    text = info["prompt_wrapper"].replace("{prefix}", "A cat.")
    ids = engine._prompt_ids("A cat.")
    assert ids == engine.tokenizer(text).input_ids
    assert engine.tokenizer.decode(ids[1:]) == text


def test_info_reports_a_configured_template(checkpoint, device, make_server):
    eng = JanusEngine.load(checkpoint, device=device, prompt_template="<<{prefix}>>")
    status, _, info = make_server(eng).get("/v1/info")
    assert status == 200 and info["prompt_wrapper"] == "<<{prefix}>><begin_of_image>"


def test_engine_pads_the_unconditional_row_with_the_reference_pad(engine):
    pad = engine.tokenizer.convert_tokens_to_ids(REFERENCE_PAD)
    assert pad not in (None, engine.tokenizer.unk_token_id)
    assert engine.pad_id == pad
    ids = engine._prompt_ids("A cat.")
    unc = engine._uncond_ids(ids)
    assert unc[0] == engine.bos_id and unc[-1] == engine.boi_id
    assert unc[1:-1] == [pad] * (len(ids) - 2)


def test_pad_id_comes_from_the_reference_token_not_pad_token_id(caplog):
    tok = tiny.build_tokenizer()
    tok.pad_token = tiny.EOS  # the tokenizer's own pad disagrees with the reference processor's
    ref = tok.convert_tokens_to_ids(REFERENCE_PAD)
    assert tok.pad_token_id != ref
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        assert cfg_pad_id(tok, GenerationConfig(pad_token_id=tok.pad_token_id)) == ref
    msgs = warnings_of(caplog)
    assert len(msgs) == 1, msgs
    assert f"pad_token_id is {tok.pad_token_id}" in msgs[0] and f"id {ref}" in msgs[0]


def test_engine_warns_at_load_when_pad_token_id_disagrees(caplog):
    tok = tiny.build_tokenizer()
    model = tiny.build_model(tok, seed=0)
    tok.pad_token = tiny.EOS
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        eng = JanusEngine(model, tok, model_name="tiny", revision="test", device=model.device)
    ref = tok.convert_tokens_to_ids(REFERENCE_PAD)
    assert eng.pad_id == ref
    msgs = warnings_of(caplog)
    assert any(str(tok.pad_token_id) in m and str(ref) in m for m in msgs), msgs


def test_no_warning_when_the_ids_agree(caplog):
    tok = tiny.build_tokenizer()
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        assert cfg_pad_id(tok) == tok.pad_token_id == tok.convert_tokens_to_ids(REFERENCE_PAD)
    assert warnings_of(caplog) == []


def test_fallback_to_pad_token_id_without_the_reference_token(caplog):
    tok = tiny.build_tokenizer(pad="<pad>")
    assert REFERENCE_PAD not in tok.get_vocab()
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        assert cfg_pad_id(tok, GenerationConfig(pad_token_id=0)) == tok.pad_token_id
    msgs = warnings_of(caplog)
    assert len(msgs) == 1 and "pad_token_id" in msgs[0] and str(tok.pad_token_id) in msgs[0], msgs


def test_fallback_to_the_generation_config(caplog):
    tok = tiny.build_tokenizer(pad=None)
    assert tok.pad_token_id is None and REFERENCE_PAD not in tok.get_vocab()
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        assert cfg_pad_id(tok, GenerationConfig(pad_token_id=7)) == 7
    msgs = warnings_of(caplog)
    assert len(msgs) == 1 and "generation config" in msgs[0], msgs
    with pytest.raises(ValueError, match="pad"):
        cfg_pad_id(tok, GenerationConfig())
    with pytest.raises(ValueError, match="pad"):
        cfg_pad_id(tok)


def test_engine_falls_back_without_the_reference_token(caplog):
    tok = tiny.build_tokenizer(pad="<pad>")
    model = tiny.build_model(tok, seed=0)
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        eng = JanusEngine(model, tok, model_name="tiny", revision="test", device=model.device)
    assert eng.pad_id == tok.pad_token_id
    assert any("no" in m and "pad" in m for m in warnings_of(caplog))
