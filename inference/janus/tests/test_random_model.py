"""random:janus-pro-7b / -1b: the full-size architectures with random weights
(random_model.py). The full sizes are checked on the meta device (shapes
only, no memory); generation runs on a reduced-depth, reduced-width build."""

from __future__ import annotations

import base64
import io
import json

import pytest
import torch
from PIL import Image

from twig_janus import bench, random_model, tiny
from twig_janus.model import GenerateRequest, JanusEngine

# The 7B architecture shrunk to a few MB: 2 layers of width 64, one vision
# layer, VQ convolutions of 32 base channels. The image geometry is the real one.
SMALL = "random:janus-pro-7b,layers=2,hidden=64,heads=4,intermediate=128,vision_layers=1,vq_channels=32"


@pytest.fixture(scope="module")
def small_engine(device):
    return JanusEngine.load(SMALL, device=device, dtype="float32")


@pytest.mark.parametrize("arch,hidden,layers,heads,intermediate", [
    ("janus-pro-7b", 4096, 30, 32, 11008),
    ("janus-pro-1b", 2048, 24, 16, 5632),
])
def test_architecture_numbers(arch, hidden, layers, heads, intermediate):
    cfg = random_model.build_config(arch, tiny.build_tokenizer())
    t = cfg.text_config
    assert (t.model_type, t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads,
            t.intermediate_size, t.vocab_size, t.max_position_embeddings) == (
        "llama", hidden, layers, heads, heads, intermediate, 102400, 16384)
    assert t.hidden_act == "silu" and t.head_dim == 128
    v = cfg.vision_config
    assert (v.image_size, v.patch_size, v.hidden_size, v.num_hidden_layers, v.projection_dim, v.depth) == (
        384, 16, 1024, 24, hidden, 2)
    q = cfg.vq_config
    assert (q.embed_dim, q.num_embeddings, q.num_patches, q.projection_dim, q.image_token_embed_dim) == (
        8, 16384, 24, hidden, hidden)
    assert tuple(q.channel_multiplier) == (1, 1, 2, 2, 4)  # 16x downsampling: 384 px -> 24x24 tokens


@pytest.mark.parametrize("arch,params", [("janus-pro-7b", 7_407_773_323), ("janus-pro-1b", 2_076_636_811)])
def test_parameter_counts_on_the_meta_device(arch, params):
    """The published sizes (7.42B, 2.09B) less SigLIP's attention-pool head
    (12.6M), which the transformers conversion drops."""
    cfg = random_model.build_config(arch, tiny.build_tokenizer())
    model = random_model.build_model(cfg, device="meta", dtype=torch.bfloat16)
    assert random_model.parameter_count(model) == params
    assert model.dtype == torch.bfloat16
    # Every tensor is made on the device the build runs under: nothing to copy later.
    tensors = list(model.parameters()) + list(model.buffers())
    assert {t.device.type for t in tensors} == {"meta"}


def test_reduced_architecture_generates_a_full_grid(small_engine):
    eng = small_engine
    assert (eng.grid, eng.patch_size, eng.image_size, eng.codebook_size, eng.num_tokens) == (24, 16, 384, 16384, 576)
    assert eng.model_id == SMALL + "@random"
    assert eng.info()["model"].startswith("random:")
    reqs = [GenerateRequest(prefix="A red apple.", n=192, cfg=5.0, seed=1),
            GenerateRequest(prefix="A red apple. A table.", prior=list(range(384)), n=192, cfg=5.0, seed=2),
            GenerateRequest(prefix="Greedy.", prior=[5] * 10, n=3, temperature=0.0, cfg=1.0, seed=3)]
    res = eng.generate_batch(reqs)
    for r, q in zip(res, reqs):
        assert len(r.tokens) == q.n and all(0 <= t < 16384 for t in r.tokens)
        assert r.input_tokens == len(eng._prompt_ids(q.prefix)) + len(q.prior)
    # An item alone gives the same tokens as in the batch.
    assert eng.generate_batch([reqs[2]])[0].tokens == res[2].tokens
    png = eng.decode_batch([reqs[1].prior + res[1].tokens])[0]
    with Image.open(io.BytesIO(png)) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (384, 384))


def test_bfloat16_build(device):
    eng = JanusEngine.load(SMALL + ",seed=3", device=device, dtype="bfloat16")
    assert eng.model.dtype == torch.bfloat16 and eng.vq_dtype == torch.float32
    assert all(torch.isfinite(p).all() for p in eng.model.parameters())
    toks = eng.generate_batch([GenerateRequest(prefix="x", prior=[1, 2], n=4, seed=1)])[0].tokens
    assert len(toks) == 4 and all(0 <= t < 16384 for t in toks)


def test_served_name_always_says_random(device):
    eng = JanusEngine.load(SMALL, device=device, served_model_name="deepseek-ai/Janus-Pro-7B")
    assert eng.model_name == "random:deepseek-ai/Janus-Pro-7B" and eng.revision == "random"


@pytest.mark.parametrize("spec,msg", [
    ("random:janus-pro-3b", "unknown random architecture"),
    ("random:janus-pro-7b,depth=2", "bad override"),
    ("random:janus-pro-7b,layers", "bad override"),
    ("random:janus-pro-7b,layers=two", "wants an integer"),
    ("random:janus-pro-7b,layers=0", "out of range"),
])
def test_bad_random_specs(spec, msg):
    with pytest.raises(ValueError, match=msg):
        random_model.parse(spec)


def test_overrides_are_canonical():
    arch, ov = random_model.parse("random:JANUS-PRO-1B, hidden=64 ,layers=2")
    assert random_model.canonical_name(arch, ov) == "random:janus-pro-1b,layers=2,hidden=64"


def test_bench_cli_on_the_reduced_random_model(device, small_engine, capsys):
    assert bench.main(["--model", SMALL, "--device", device, "--batch", "1", "--prefix-tokens", "10"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    head, rows = lines[0], lines[1:]
    assert head["model"] == SMALL + "@random" and head["grid"] == 24
    assert [r["batch"] for r in rows] == [1]
    assert rows[0]["images_per_second"] > 0
    # Band k's prefix holds (k + 1) * 10 tokens, plus the prompt template around it.
    template = len(small_engine._prompt_ids(""))
    assert rows[0]["text_tokens_by_band"] == [template + 10, template + 20, template + 30]
    assert rows[0]["positions_last_band"] == template + 30 + 576


def test_bench_prefixes_have_the_asked_token_count(engine):
    base = len(engine._prompt_ids(""))
    for n in (0, 1, 7, 25, 60):
        for salt in (0, 13):
            assert len(engine._prompt_ids(bench.make_prefix(engine, n, salt))) - base == n


def test_png_of_decode_over_http(small_engine, make_server):
    c = make_server(small_engine)
    status, _, body = c.post("/v1/decode", {"tokens": [0] * 576})
    assert status == 200
    raw = base64.b64decode(body["png"])
    with Image.open(io.BytesIO(raw)) as im:
        assert im.size == (384, 384) and im.mode == "RGB"
    assert body["model"] == SMALL + "@random"


def test_chat_on_the_reduced_random_model(small_engine):
    """Understanding with Janus-Pro's image geometry: a 384 px canvas becomes
    576 image tokens through the (one-layer) SigLIP encoder."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    u = small_engine.understanding
    assert (u.image_size, u.num_image_tokens) == (384, 576)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (384, 384, 3), dtype=np.uint8)).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    text = small_engine.parse_chat({"messages": [{"role": "user", "content": "Describe it."}], "max_tokens": 4})
    req = small_engine.parse_chat({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe it."}, {"type": "image_url", "image_url": {"url": url}}]}],
        "max_tokens": 4, "temperature": 0})
    assert req.pixels[0].shape == (3, 384, 384)
    assert req.ids.count(u.image_id) == 576
    res = small_engine.chat_batch([req, text])
    assert res[0].prompt_tokens == len(req.ids) and 1 <= res[0].completion_tokens <= 4
    assert res[0].finish_reason in ("stop", "length")
