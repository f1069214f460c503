"""POST /v1/generate on the tiny random Janus: shapes, determinism, CFG, and
agreement with a straight transcription of the reference code's loop."""

from __future__ import annotations

import concurrent.futures as cf

import torch

from twig_janus.model import GenerateRequest, sample


def test_info_and_health(client, engine):
    status, _, body = client.get("/healthz")
    assert (status, body) == (200, {"status": "ok"})
    status, _, info = client.get("/v1/info")
    assert status == 200
    assert info == {"model": "tiny/janus", "revision": "test", "image_size": 64, "patch_size": 16,
                    "codebook_size": 64, "max_batch": 64, "max_wait_ms": 20,
                    "prompt_wrapper": "User: {prefix}\n\nAssistant:<begin_of_image>",
                    "chat": True, "chat_max_batch": 16, "chat_max_tokens": 1024}
    assert engine.grid == 4 and engine.num_tokens == 16


def test_generate_returns_n_tokens_in_codebook(client):
    body = client.generate(prefix="A red apple sits on a table.", prior=[], n=8, cfg=5.0,
                           temperature=1.0, top_k=0, top_p=1.0, seed=1234567)
    assert len(body["tokens"]) == 8
    assert all(isinstance(t, int) and 0 <= t < 64 for t in body["tokens"])
    assert body["model"] == "tiny/janus@test"
    prompt_len = len(client.srv.worker.engine._prompt_ids("A red apple sits on a table."))
    assert body["usage"] == {"input_tokens": prompt_len, "output_tokens": 8}

    body = client.generate(prefix="A red apple.", prior=[1, 2, 3, 4, 5, 6, 7, 8], n=8, seed=1)
    assert len(body["tokens"]) == 8
    assert body["usage"]["input_tokens"] == len(client.srv.worker.engine._prompt_ids("A red apple.")) + 8


def test_same_seed_same_tokens_other_seed_other_tokens(client):
    req = dict(prefix="A blue bird on a branch.", prior=[3] * 4, n=12, cfg=5.0, temperature=1.0, seed=42)
    a = client.generate(**req)["tokens"]
    b = client.generate(**req)["tokens"]
    c = client.generate(**{**req, "seed": 43})["tokens"]
    assert a == b
    assert a != c


def test_tokens_do_not_depend_on_the_batch(engine, client):
    reqs = [
        dict(prefix="A cat.", prior=[], n=16, seed=1),
        dict(prefix="A much longer prefix, so that the rows need left padding.", prior=[5] * 8, n=8, seed=2),
        dict(prefix="Greedy.", prior=[1, 2], n=6, temperature=0.0, seed=3),
        dict(prefix="No guidance.", prior=[], n=4, cfg=1.0, seed=4),
        dict(prefix="Top-k and top-p.", prior=[7] * 4, n=10, top_k=5, top_p=0.8, cfg=3.0, seed=5),
    ]
    alone = [engine.generate_batch([engine.parse_generate(r)])[0].tokens for r in reqs]
    together = [res.tokens for res in engine.generate_batch([engine.parse_generate(r) for r in reqs])]
    assert together == alone
    with cf.ThreadPoolExecutor(len(reqs)) as pool:
        over_http = list(pool.map(lambda r: client.generate(**r)["tokens"], reqs))
    assert over_http == alone


def reference_loop(engine, req: GenerateRequest) -> list[int]:
    """The TwiG reference code's generation, transcribed: re-encode the whole
    sequence (text, then image tokens so far) for every new token, without a
    KV cache or padding, one conditional and one unconditional row (text but
    BOS and <begin_of_image> replaced by pad), logits = uncond + cfg * (cond -
    uncond), then sample with the request's own uniforms."""
    ids = engine._prompt_ids(req.prefix)
    assert ids[0] == engine.bos_id and ids[-1] == engine.boi_id
    uncond = [ids[0]] + [engine.pad_id] * (len(ids) - 2) + [ids[-1]]  # the reference's tokens[1:-1] = pad
    g = torch.Generator().manual_seed(req.seed)
    dev = engine.device
    u = torch.rand(req.n, generator=g, dtype=torch.float64).to(dev)
    image = list(req.prior)
    out = []
    with torch.inference_mode():
        for step in range(req.n):
            rows = []
            for text in (ids, uncond):
                emb = engine.text_embed(torch.tensor(text, device=dev))
                if image:
                    emb = torch.cat([emb, engine.model.prepare_embeddings_for_image_generation(
                        torch.tensor(image, device=dev))])
                rows.append(emb)
            hidden = engine.lm(inputs_embeds=torch.stack(rows), use_cache=False).last_hidden_state[:, -1]
            logits = engine.gen_head(hidden).float()
            cond, unc = logits[0:1], logits[1:2]
            mixed = unc + req.cfg * (cond - unc)
            tok = int(sample(mixed, torch.tensor([req.temperature], device=dev), torch.tensor([req.top_k], device=dev),
                             torch.tensor([req.top_p], device=dev), u[step:step + 1]))
            image.append(tok)
            out.append(tok)
    return out


def test_batched_cached_generation_matches_the_reference_loop(engine):
    reqs = [
        GenerateRequest(prefix="A red apple sits on a wooden table.", n=16, cfg=5.0, seed=11),
        GenerateRequest(prefix="Upper band: a sky.", prior=[9, 8, 7, 6, 5, 4, 3, 2], n=8, cfg=5.0, seed=12),
        GenerateRequest(prefix="x", prior=[1] * 12, n=4, cfg=2.5, temperature=0.7, seed=13),
        GenerateRequest(prefix="cfg one", n=8, cfg=1.0, seed=14),
    ]
    got = [r.tokens for r in engine.generate_batch(reqs)]
    assert got == [reference_loop(engine, r) for r in reqs]


def test_cfg_changes_the_distribution(engine):
    base = dict(prefix="A green frog on a lily pad.", n=16, temperature=0.0, seed=7)
    runs = {cfg: engine.generate_batch([GenerateRequest(cfg=cfg, **base)])[0].tokens for cfg in (0.0, 1.0, 5.0)}
    # cfg 1 is the conditional row alone, cfg 0 the unconditional alone; 5 extrapolates.
    assert len({tuple(v) for v in runs.values()}) == 3


def test_unconditional_row_keeps_only_bos_and_begin_of_image(engine):
    ids = engine._prompt_ids("A red apple.")
    unc = engine._uncond_ids(ids)
    assert len(unc) == len(ids)
    assert unc[0] == engine.bos_id and unc[-1] == engine.boi_id
    assert set(unc[1:-1]) == {engine.pad_id}


def test_prompt_is_the_reference_template(engine):
    ids = engine._prompt_ids("A red apple.")
    text = engine.tokenizer.decode(ids)
    assert text.endswith("User: A red apple.\n\nAssistant:<begin_of_image>")


def test_top_k_one_and_top_p_zero_are_greedy(engine):
    base = dict(prefix="A yellow taxi.", prior=[2] * 4, n=12, cfg=5.0, seed=99)
    greedy = engine.generate_batch([GenerateRequest(temperature=0.0, **base)])[0].tokens
    k1 = engine.generate_batch([GenerateRequest(top_k=1, **base)])[0].tokens
    p0 = engine.generate_batch([GenerateRequest(top_p=0.0, **base)])[0].tokens
    assert k1 == greedy == p0


def test_full_grid_in_three_bands(client):
    """The TwiG loop: three bands, each call stateless, prior = kept tokens."""
    prior: list[int] = []
    for k, thought in enumerate(["A sky.", "A sky. A tree.", "A sky. A tree. Grass."]):
        n = 6 if k < 2 else 4
        toks = client.generate(prefix=thought, prior=prior, n=n, seed=100 + k)["tokens"]
        assert len(toks) == n
        prior += toks
    assert len(prior) == 16
    status, _, body = client.post("/v1/generate", dict(prefix="more", prior=prior, n=1, seed=1))
    assert status == 400 and "run past" in body["error"]["message"]


def test_out_of_memory_halves_the_batch_without_changing_answers(engine, monkeypatch):
    reqs = [GenerateRequest(prefix=f"Item {i}.", prior=[i] * i, n=4, seed=i) for i in range(5)]
    want = [engine.generate_batch([r])[0].tokens for r in reqs]
    real = engine._generate
    sizes = []

    def small_device(batch, ids):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("simulated")
        return real(batch, ids)

    monkeypatch.setattr(engine, "_generate", small_device)
    assert [r.tokens for r in engine.generate_batch(reqs)] == want
    assert sizes == [5, 2, 3, 1, 2]


def test_bench_runs_on_the_tiny_model(engine, capsys):
    from twig_janus import bench

    rows = bench.run(engine, [1, 3], bands=2)
    assert [r["batch"] for r in rows] == [1, 3]
    assert all(r["images_per_second"] > 0 for r in rows)
