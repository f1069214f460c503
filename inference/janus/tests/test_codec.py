"""POST /v1/decode and /v1/encode through the tiny model's real VQ-VAE."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image


def png_bytes(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def decode(client, tokens):
    status, _, body = client.post("/v1/decode", {"tokens": tokens})
    assert status == 200, body
    raw = base64.b64decode(body["png"])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(raw))
    img.load()
    return body, img


def test_decode_renders_a_png_of_the_image_size(client):
    body, img = decode(client, list(range(16)))
    assert body["model"] == "tiny/janus@test"
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (64, 64)


def test_decode_of_a_partial_canvas_renders_token_0_as_given(client, engine):
    """Positions not generated yet are token 0, and the grid is decoded as
    given: the pixels are the VQ decoder's output for exactly these tokens,
    mapped like the reference code, clip((x + 1) / 2 * 255).astype(uint8)."""
    partial = [5, 6, 7, 8] + [0] * 12
    _, img = decode(client, partial)
    _, zeros = decode(client, [0] * 16)
    assert img.size == (64, 64)
    assert not np.array_equal(np.asarray(img), np.asarray(zeros))
    with torch.inference_mode():
        x = engine.model.model.vqmodel.decode(torch.tensor([partial], device=engine.device))
        x = x.float()[0].permute(1, 2, 0).cpu().numpy()
    want = np.clip((x + 1) / 2 * 255, 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(img), want)
    # The HTTP answer is the engine's PNG byte for byte.
    assert engine.decode_batch([partial])[0] == base64.b64decode(client.post("/v1/decode", {"tokens": partial})[2]["png"])


def test_decode_is_deterministic(client):
    t = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3]
    assert client.post("/v1/decode", {"tokens": t})[2] == client.post("/v1/decode", {"tokens": t})[2]


def test_encode_returns_the_full_grid(client):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB")
    status, _, body = client.post("/v1/encode", {"png": png_bytes(img)})
    assert status == 200, body
    assert len(body["tokens"]) == 16 and all(0 <= t < 64 for t in body["tokens"])
    assert body["model"] == "tiny/janus@test"
    # Same image, same tokens.
    assert client.post("/v1/encode", {"png": png_bytes(img)})[2]["tokens"] == body["tokens"]


def test_encode_resizes_other_sizes_and_modes(client, engine):
    rng = np.random.default_rng(1)
    big = Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8), "RGB")
    for img in (big, big.convert("RGBA"), big.convert("L"), Image.new("RGB", (7, 5), (200, 10, 10))):
        status, _, body = client.post("/v1/encode", {"png": png_bytes(img)})
        assert status == 200, body
        assert len(body["tokens"]) == 16
    # The resize is a bicubic resize to the image size.
    direct = engine.encode_batch([np.asarray(big.resize((64, 64), Image.Resampling.BICUBIC))])[0]
    assert client.post("/v1/encode", {"png": png_bytes(big)})[2]["tokens"] == direct


def test_decode_then_encode_round_trip_shapes(client):
    _, img = decode(client, [1] * 16)
    status, _, body = client.post("/v1/encode", {"png": png_bytes(img)})
    assert status == 200 and len(body["tokens"]) == 16


def test_codec_calls_are_batched(engine, make_server):
    import concurrent.futures as cf

    c = make_server(engine, codec_max_batch=4, max_wait_ms=20000)  # closes on the fourth call
    grids = [[i] * 16 for i in range(4)]
    with cf.ThreadPoolExecutor(4) as pool:
        pngs = list(pool.map(lambda g: c.post("/v1/decode", {"tokens": g})[2]["png"], grids))
    assert c.stats()["decode"]["batch_sizes"] == {"4": 1}
    assert pngs == [base64.b64encode(p).decode() for p in engine.decode_batch(grids)]
