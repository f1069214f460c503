"""POST /v1/chat/completions and GET /v1/models: Janus understanding on the
tiny random model (its answers are random bytes; what is tested is the
plumbing: the prompt, images, sampling, limits, batching and errors)."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import io
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from twig_janus import chat
from twig_janus.model import sample

from test_cli import free_port, get, stop, wait_ready
from test_errors import assert_error

EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"


def png_url(color=(200, 30, 30), size=(64, 64), fmt="PNG", seed=None) -> str:
    if seed is None:
        im = Image.new("RGB", size, color)
    else:
        rng = np.random.default_rng(seed)
        im = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    im.save(buf, fmt)
    mime = "jpeg" if fmt == "JPEG" else fmt.lower()
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode()


def user(text, *images, image_first=False):
    parts = [{"type": "image_url", "image_url": {"url": u}} for u in images]
    text_part = [{"type": "text", "text": text}]
    return {"role": "user", "content": (parts + text_part) if image_first else (text_part + parts)}


def body(*messages, **opts):
    return {"model": "whatever", "messages": list(messages), **opts}


def complete(client, req):
    status, _, answer = client.post("/v1/chat/completions", req)
    assert status == 200, answer
    return answer


def text_of(answer) -> str:
    return answer["choices"][0]["message"]["content"]


# ---------------------------------------------------------------- answers


def test_text_only_request_answers_a_chat_completion(client, engine):
    req = body({"role": "user", "content": "Describe a red apple on a table."}, temperature=0, max_tokens=12)
    a = complete(client, req)
    assert set(a) == {"id", "object", "created", "model", "choices", "usage"}
    assert a["id"].startswith("chatcmpl-") and a["object"] == "chat.completion"
    assert isinstance(a["created"], int) and abs(a["created"] - time.time()) < 60
    assert a["model"] == "tiny/janus"  # the served name, whatever the request said
    (choice,) = a["choices"]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    u = a["usage"]
    assert u["prompt_tokens"] == len(engine.parse_chat(req).ids)
    assert 1 <= u["completion_tokens"] <= 12
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_image_request_counts_the_image_tokens(client, engine):
    url = png_url()
    plain = body(user("What is in the picture?"), temperature=0, max_tokens=4)
    with_image = body(user("What is in the picture?", url), temperature=0, max_tokens=4)
    with_jpeg = body(user("What is in the picture?", png_url(fmt="JPEG")), temperature=0, max_tokens=4)
    a, b, c = (complete(client, r) for r in (plain, with_image, with_jpeg))
    n_img = engine.understanding.num_image_tokens
    assert n_img == 16
    # Byte-level tokens: the default system prompt and "\n\n" come first; "<image_placeholder>\n"
    # before the text becomes <begin_of_image>, 16 placeholders, <end_of_image> and "\n".
    system = len(chat.JANUS_SYSTEM_PROMPT.encode()) + 2
    assert b["usage"]["prompt_tokens"] == a["usage"]["prompt_tokens"] + system + (n_img + 2) + 1
    assert c["usage"]["prompt_tokens"] == b["usage"]["prompt_tokens"]
    assert b["choices"][0]["finish_reason"] in ("stop", "length")


@torch.inference_mode()
def test_images_reach_the_model(engine):
    """The image features replace the placeholders' embeddings: another image,
    other logits for the first answer token (random weights move them a little)."""
    u = engine.understanding

    def first_logits(seed):
        r = engine.parse_chat(body(user("Describe it.", png_url(seed=seed)), max_tokens=4))
        embeds, mask, pos = u._prefill_inputs([r])
        h = engine.lm(inputs_embeds=embeds, attention_mask=mask, position_ids=pos).last_hidden_state[:, -1]
        return u.lm_head(h).float()

    a, b = first_logits(1), first_logits(2)
    assert torch.equal(a, first_logits(1))
    assert not torch.allclose(a, b, atol=1e-4)


def test_prompt_format():
    conv = chat.parse_messages([{"role": "user", "content": "  Expand the prompt.  "}])
    assert chat.render(conv, EOS) == "<|User|>: Expand the prompt.\n\n<|Assistant|>:"

    # Image after the text in the request (as twig's Go client sends it): before the text in the prompt.
    url = png_url()
    conv = chat.parse_messages([user("Critique it.", url)])
    assert conv.n_images == 1
    assert chat.render(conv, EOS) == (chat.JANUS_SYSTEM_PROMPT + "\n\n<|User|>: <image_placeholder>\n"
                                      "Critique it.\n\n<|Assistant|>:")
    assert chat.render(conv, EOS, image_system_prompt="") == (
        "<|User|>: <image_placeholder>\nCritique it.\n\n<|Assistant|>:")

    # A system message is kept; a correction turn follows the assistant's answer.
    conv = chat.parse_messages([
        {"role": "system", "content": "Be brief."},
        user("Score it.", url, url),
        {"role": "assistant", "content": [{"type": "text", "text": "Looks fine."}]},
        {"role": "user", "content": "Answer in the format."},
    ])
    assert chat.render(conv, EOS) == (
        "Be brief.\n\n<|User|>: <image_placeholder>\n<image_placeholder>\nScore it.\n\n"
        f"<|Assistant|>: Looks fine.{EOS}<|User|>: Answer in the format.\n\n<|Assistant|>:")


def test_tokenised_prompt_expands_each_image(engine):
    u = engine.understanding
    req = engine.parse_chat(body(user("Two images.", png_url(), png_url(seed=3)), max_tokens=4))
    ids = req.ids
    assert ids[0] == engine.bos_id
    assert len(req.pixels) == 2 and req.pixels[0].shape == (3, 64, 64) and req.pixels[0].dtype == np.float32
    assert ids.count(u.image_id) == 2 * u.num_image_tokens
    assert ids.count(engine.boi_id) == 2 and ids.count(u.eoi_id) == 2
    first = ids.index(engine.boi_id)
    assert ids[first + 1:first + 1 + u.num_image_tokens] == [u.image_id] * u.num_image_tokens
    assert ids[first + 1 + u.num_image_tokens] == u.eoi_id
    with engine._tok_lock:
        expect = engine.tokenizer(req.prompt).input_ids
    assert len(ids) == len(expect) + 2 * (u.num_image_tokens + 1)


def test_image_preparation_matches_janus():
    spec = chat.ImageSpec(size=64)
    # A colour image of the encoder's size: only scaled and normalised.
    x = chat.prepare_image(base64.b64decode(png_url((255, 0, 128)).split(",", 1)[1]), spec)
    assert x.shape == (3, 64, 64)
    np.testing.assert_allclose(x[:, 0, 0], [(1 - 0.5) / 0.5, (0 - 0.5) / 0.5, (128 / 255 - 0.5) / 0.5], atol=1e-6)
    # A wide image: resized to 64x32, then padded top and bottom with the mean colour (127).
    x = chat.prepare_image(base64.b64decode(png_url((255, 255, 255), size=(128, 64)).split(",", 1)[1]), spec)
    pad = (127 / 255 - 0.5) / 0.5
    np.testing.assert_allclose(x[:, :16, :], pad, atol=1e-6)
    np.testing.assert_allclose(x[:, 48:, :], pad, atol=1e-6)
    np.testing.assert_allclose(x[:, 16:48, :], 1.0, atol=1e-6)
    try:
        from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil
    except Exception:  # noqa: BLE001 - older transformers
        return
    hf = JanusImageProcessorPil(size={"height": 64, "width": 64}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    rng = np.random.default_rng(0)
    for w, h in ((96, 96), (128, 64), (64, 64)):
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        buf = io.BytesIO()
        im.save(buf, "PNG")
        ours = chat.prepare_image(buf.getvalue(), spec)
        theirs = np.asarray(hf(im, return_tensors="np")["pixel_values"][0])
        assert theirs.shape == ours.shape
        assert np.abs(theirs - ours).max() < 1e-5, (w, h, np.abs(theirs - ours).max())


def test_image_spec_reads_the_checkpoint(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        {"image_mean": [0.48, 0.45, 0.4], "image_std": [0.26, 0.26, 0.27], "min_size": 10}))
    spec = chat.image_spec_for(str(tmp_path), 384)
    assert spec.mean == (0.48, 0.45, 0.4) and spec.std == (0.26, 0.26, 0.27) and spec.min_size == 10
    assert spec.size == 384 and spec.background == (122, 114, 102)
    assert chat.image_spec_for(str(tmp_path / "nothing"), 64).mean == chat.JANUS_IMAGE_MEAN


# ---------------------------------------------------------------- sampling

MIXED = [
    body(user("A cat."), temperature=0, max_tokens=20),
    body(user("A much longer question, so that the rows of a batch need left padding to line up.", png_url()),
         temperature=1.4e-45, max_tokens=9),
    body(user("Sampled.", png_url(seed=5)), temperature=1.0, seed=3, max_tokens=14),
    body({"role": "system", "content": "Short."}, user("Top-p and top-k."), temperature=0.8, top_p=0.9, top_k=20,
         seed=11, max_tokens=16),
    body(user("x", png_url(seed=1)), {"role": "assistant", "content": "y"}, user("again"), temperature=0,
         max_tokens=7),
]


def test_answers_do_not_depend_on_the_batch(engine, client):
    reqs = [engine.parse_chat(b) for b in MIXED]
    # The raw tokens, run to max_tokens past any end of sentence (greedy ones too: past "ok").
    raw = [engine.parse_chat(b) for b in MIXED]
    for r in raw:
        r.ignore_eos = True
    raw_alone = [engine.understanding._generate([r])[0] for r in raw]
    assert engine.understanding._generate(raw) == raw_alone
    assert all(len(t) == r.max_tokens for t, r in zip(raw_alone, raw))
    alone = [engine.chat_batch([r])[0] for r in reqs]
    together = engine.chat_batch(reqs)
    assert together == alone
    assert [engine.chat_batch(reqs[::-1])[i] for i in range(len(reqs))][::-1] == alone
    with cf.ThreadPoolExecutor(len(MIXED)) as pool:
        over_http = list(pool.map(lambda b: complete(client, b), MIXED))
    assert [text_of(a) for a in over_http] == [r.text for r in alone]
    assert [a["usage"]["completion_tokens"] for a in over_http] == [r.completion_tokens for r in alone]


def reference_tokens(engine, req, n):
    """A straight loop over transformers' own forward (input_ids and
    pixel_values, the whole sequence re-encoded per token, no cache, no
    padding), sampling with the request's uniforms."""
    model = engine.model
    ids = torch.tensor([req.ids], dtype=torch.long, device=engine.device)
    px = None
    if req.pixels:
        px = torch.from_numpy(np.stack(req.pixels)).to(engine.device)
    u = engine.understanding._uniforms([req], req.max_tokens)
    dev = engine.device
    out = []
    for k in range(n):
        logits = model(input_ids=ids, pixel_values=px).logits[:, -1].float()
        nxt = sample(logits, torch.tensor([req.temperature], device=dev), torch.tensor([req.top_k], device=dev),
                     torch.tensor([req.top_p], device=dev), u[:, k].to(dev))
        out.append(int(nxt[0]))
        ids = torch.cat([ids, nxt[:, None]], 1)
    return out


@torch.inference_mode()
def test_cached_batched_decoding_matches_transformers_forward(engine):
    reqs = [engine.parse_chat(b) for b in MIXED[:3]]
    batched = engine.understanding._generate(reqs)
    for r, toks in zip(reqs, batched):
        n = min(len(toks), 8)
        assert toks[:n] == reference_tokens(engine, r, n)


def test_seed_makes_sampling_reproducible(client):
    req = body(user("Tell a story.", png_url()), temperature=1.0, seed=42, max_tokens=24)
    a, b = complete(client, req), complete(client, req)
    c = complete(client, {**req, "seed": 43})
    assert text_of(a) == text_of(b) and a["usage"] == b["usage"]
    assert text_of(a) != text_of(c)
    d = complete(client, {**req, "temperature": 0, "seed": 1})
    e = complete(client, {**req, "temperature": 0, "seed": 2})
    assert text_of(d) == text_of(e)  # greedy ignores the seed


def test_greedy_answer_of_the_tiny_model_ends_with_end_of_sentence(client):
    """tiny.py sets three rows of the text head: greedily, any question is answered "ok"."""
    for req in (body(user("Describe a red apple.")), body(user("Critique it.", png_url()), max_tokens=512),
                body(user("x"), {"role": "assistant", "content": "ok"}, user("Again, as SCORE:"))):
        a = complete(client, {**req, "temperature": 1.401298464324817e-45})
        assert text_of(a) == "ok" and a["choices"][0]["finish_reason"] == "stop"
        assert a["usage"]["completion_tokens"] == 3  # "o", "k" and the end of sentence


def test_max_tokens_cuts_with_finish_reason_length(client, engine):
    # A sampled answer (random bytes) that runs 40 tokens without an end of sentence.
    req = body(user("Go on."), temperature=1.0, max_tokens=10)
    seed = next(s for s in range(50) if engine.chat_batch(
        [engine.parse_chat({**req, "seed": s, "max_tokens": 40})])[0].finish_reason == "length")
    req["seed"] = seed
    a = complete(client, req)
    assert a["choices"][0]["finish_reason"] == "length"
    assert a["usage"]["completion_tokens"] == 10
    b = complete(client, {**req, "max_tokens": None, "max_completion_tokens": 3})
    assert b["choices"][0]["finish_reason"] == "length" and b["usage"]["completion_tokens"] == 3


def test_default_max_tokens_is_512(engine):
    assert engine.parse_chat(body(user("x"))).max_tokens == 512
    assert engine.parse_chat(body(user("x"), max_tokens=None)).max_tokens == 512


def test_stop_strings_cut_the_answer(client, engine):
    u = engine.understanding
    req = body(user("Say something."), temperature=1.0, seed=9, max_tokens=40)
    full = engine.chat_batch([engine.parse_chat(req)])[0]
    toks = u._generate([engine.parse_chat(req)])[0]
    end = next((i for i, t in enumerate(toks) if t in u.eos_ids), len(toks))
    text = u.decode_text(toks[:end])  # unstripped
    # A stop string from the middle of the answer, found first where it is taken from.
    k = next(k for k in range(8, len(text) - 4) if text.find(text[k:k + 3]) == k and text[k:k + 3].strip()
             and "\ufffd" not in text[k:k + 3])
    stop_s = text[k:k + 3]
    a = complete(client, {**req, "stop": stop_s})
    assert a["choices"][0]["finish_reason"] == "stop"
    assert text_of(a) == text[:k].strip()
    n = a["usage"]["completion_tokens"]
    assert 1 <= n < full.completion_tokens
    assert stop_s in engine.understanding.decode_text(toks[:n])
    assert stop_s not in engine.understanding.decode_text(toks[:n - 1])
    # A list: the earliest of its strings cuts.
    b = complete(client, {**req, "stop": ["never appears \u2603", stop_s]})
    assert text_of(b) == text_of(a) and b["choices"][0]["finish_reason"] == "stop"
    # Greedy with a stop string that does not occur: cut by max_tokens.
    c = complete(client, {**req, "stop": ["never appears \u2603"]})
    assert text_of(c) == full.text and c["choices"][0]["finish_reason"] == full.finish_reason


def test_end_of_sentence_ends_the_answer(engine):
    u = engine.understanding
    eos = u.eos_ids[0]
    req = engine.parse_chat(body(user("x"), max_tokens=10))
    hello = engine.tokenizer("hello", add_special_tokens=False).input_ids
    res = u._finish(req, hello + [eos] + hello)
    assert (res.text, res.finish_reason, res.completion_tokens) == ("hello", "stop", len(hello) + 1)
    res = u._finish(req, hello + hello)
    assert (res.text, res.finish_reason, res.completion_tokens) == ("hellohello", "length", 2 * len(hello))
    req.stop = ["lo"]
    res = u._finish(req, hello + [eos])
    assert (res.text, res.finish_reason, res.completion_tokens) == ("hel", "stop", 5)


def test_fixed_answer_length_forces_the_end_of_sentence(engine):
    """--chat-answer-tokens N: an answer is N - 1 tokens sampled among the
    ids that decode to visible text (so no end of sentence of its own), then
    a forced end of sentence: finish_reason "stop", N completion tokens, in
    a batch or alone, next to calls of other lengths."""
    u = engine.understanding
    n = 9
    bodies = [body(user("Describe a red apple."), temperature=0, max_tokens=40),  # greedy: "ok" + EOS
              body(user("Sampled.", png_url(seed=5)), temperature=1.0, seed=3, max_tokens=40),
              body(user("Exactly the limit."), temperature=1.0, seed=4, max_tokens=n),
              body(user("Shorter limit."), temperature=1.0, seed=5, max_tokens=5)]

    def parsed(answer_tokens, ignore_eos=False):
        reqs = [engine.parse_chat(b) for b in bodies]
        for r in reqs:
            r.answer_tokens, r.ignore_eos = answer_tokens, ignore_eos
        return reqs

    own = u._generate(parsed(0, ignore_eos=True)[:1])[0]
    assert any(t in u.eos_ids for t in own[:n - 1])  # unrestricted, the greedy answer ends early ("ok")
    # The restricted streams, uncut (a fixed length above max_tokens forces nothing).
    raw = [u._generate([r])[0] for r in parsed(1000)]
    text_ids = set(u.text_ids())
    assert all(t in text_ids for toks in raw for t in toks)
    assert not any(t in text_ids for t in u.eos_ids) and len(text_ids) > 50
    fixed = parsed(n)
    alone = [engine.chat_batch([r])[0] for r in fixed]
    assert engine.chat_batch(fixed) == alone
    for r, res, toks in zip(fixed, alone, raw):
        if r.max_tokens >= n:
            assert (res.finish_reason, res.completion_tokens) == ("stop", n)
            assert res.text == u.decode_text(toks[:n - 1]).strip() and res.text
            assert "\ufffd" not in res.text
        else:  # max_tokens cuts first
            assert (res.finish_reason, res.completion_tokens) == ("length", r.max_tokens)
            assert res.text == u.decode_text(toks[:r.max_tokens]).strip()
    assert u._generate(fixed)[1][n - 1] == u.eos_ids[0]  # the forced token itself
    # An unforced call in the same batch is not affected.
    mixed = parsed(n)[:2] + [engine.parse_chat(bodies[0])]
    assert engine.chat_batch(mixed)[2] == engine.chat_batch([engine.parse_chat(bodies[0])])[0]
    # Stop strings still cut a fixed-length answer.
    text = alone[1].text
    stop_s = next(text[k:k + 2] for k in range(2, len(text) - 2) if text.find(text[k:k + 2]) == k
                  and text[k:k + 2].strip() and "\ufffd" not in text[k:k + 2])
    r = parsed(n)[1]
    r.stop = [stop_s]
    res = engine.chat_batch([r])[0]
    assert res.finish_reason == "stop" and res.completion_tokens < n and stop_s not in res.text


def test_worker_with_chat_answer_tokens_serves_fixed_lengths(checkpoint, device, make_server):
    from twig_janus.model import JanusEngine

    eng = JanusEngine.load(checkpoint, device=device, dtype="float32", served_model_name="tiny/fixed",
                           chat_answer_tokens=6)
    c = make_server(eng)
    assert c.get("/v1/info")[2]["chat_answer_tokens"] == 6
    for req in (body(user("Think about the next band."), temperature=1.401298464324817e-45, max_tokens=512),
                body(user("Critique it.", png_url(seed=2)), temperature=1.0, seed=7)):
        a = complete(c, req)
        assert a["choices"][0]["finish_reason"] == "stop" and a["usage"]["completion_tokens"] == 6
    a = complete(c, body(user("Tiny budget."), max_tokens=4))
    assert a["choices"][0]["finish_reason"] == "length" and a["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize("args, message", [
    (["--chat-answer-tokens", "-1"], "at least 0"),
    (["--chat-answer-tokens", "50", "--chat-max-tokens", "40"], "exceeds --chat-max-tokens 40"),
])
def test_cli_refuses_bad_chat_answer_tokens(args, message, capsys):
    from twig_janus.__main__ import main

    assert main(["--model", "tiny-random", "--listen", "127.0.0.1:0", *args]) == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------ errors

TOO_LONG = "x" * 9000


@pytest.mark.parametrize("change, contains", [
    ({"stream": True}, "stream is not served"),
    ({"n": 2}, "n must be 1"),
    ({"messages": [user("x", "https://example.com/a.png")]}, "fetches nothing"),
    ({"messages": [user("x", "http://example.com/a.png")]}, "fetches nothing"),
    ({"messages": [user("x", "data:image/png;base64,not base64!!")]}, "not valid base64"),
    ({"messages": [user("x", "data:image/png;base64," + base64.b64encode(b"no image").decode())]},
     "cannot read the image"),
    ({"messages": [user("x", "ftp://example.com/a.png")]}, "base64 data URL"),
    ({"messages": None}, "messages must be a non-empty list"),
    ({"messages": []}, "messages must be a non-empty list"),
    ({"messages": "hello"}, "messages must be a non-empty list"),
    ({"messages": [{"role": "user", "content": 5}]}, "content must be a string or a list"),
    ({"messages": [{"role": "user", "content": None}]}, "content must be a string or a list"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "is not served"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]}, "text must be a string"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, "url must be a string"),
    ({"messages": [{"role": "user", "content": ""}]}, "has no content"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role 'tool' is not served"),
    ({"messages": [user("x"), {"role": "assistant", "content": "y"}]}, "last message must be a user message"),
    ({"messages": [{"role": "system", "content": "only a system"}]}, "last message must be a user message"),
    ({"messages": [{"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": png_url()}}]},
                   user("x")]}, "only user messages may carry images"),
    ({"messages": [user("see <image_placeholder> here")]}, "must not contain <image_placeholder>"),
    ({"max_tokens": 0}, "max_tokens must be at least 1"),
    ({"max_tokens": 2.5}, "max_tokens must be an integer"),
    ({"max_tokens": 1025}, "exceeds this worker's limit of 1024"),
    ({"max_completion_tokens": 5000}, "max_completion_tokens 5000 exceeds"),
    ({"messages": [user(TOO_LONG)]}, "exceeds the model's 8192 positions"),
    ({"temperature": -1}, "temperature -1 is outside"),
    ({"temperature": "hot"}, "temperature must be a finite number"),
    ({"top_p": 1.5}, "top_p 1.5 is outside"),
    ({"top_k": -2}, "top_k -2 must be >= 0"),
    ({"seed": "1"}, "seed must be an integer"),
    ({"seed": 1 << 70}, "does not fit in 64 bits"),
    ({"stop": 5}, "stop must be a string or a list of strings"),
    ({"stop": [""]}, "stop strings must not be empty"),
    ({"model": 3}, "model must be a string"),
    ({"tools": [{"type": "function"}]}, "tools are not served"),
    ({"presence_penalty": 0.5}, "presence_penalty is not served"),
    ({"response_format": {"type": "json_object"}}, "response_format is not served"),
])
def test_bad_chat_requests_are_400(client, change, contains):
    req = {**body(user("Hello."), max_tokens=4), **change}
    assert_error(client.post("/v1/chat/completions", req), 400, contains=contains)


def test_chat_bodies_that_are_not_objects_are_400(client):
    assert_error(client.post("/v1/chat/completions", [1]), 400, contains="JSON object")
    assert_error(client.post("/v1/chat/completions", {"model": "x"}), 400, contains="messages is missing")
    assert_error(client.post("/v1/chat/completions", raw=b"{nope"), 400, contains="bad JSON")


def test_accepted_optional_fields(client):
    req = body({"role": "developer", "content": "Terse."}, user("Hello.", png_url()), max_tokens=3, n=1,
               stream=False, stop=None, top_p=None, seed=-5, temperature=0, presence_penalty=0,
               response_format={"type": "text"}, user="someone", logit_bias=None)
    req["messages"][1]["content"][1]["image_url"]["detail"] = "low"
    assert complete(client, req)["usage"]["completion_tokens"] <= 3


def test_too_large_chat_bodies_are_413(engine, make_server):
    c = make_server(engine, max_body_bytes=2000)
    assert_error(c.post("/v1/chat/completions", body(user("x", png_url(seed=1, size=(64, 64))))), 413,
                 contains="exceeds 2000 bytes")


def test_chat_limits_follow_the_worker_settings(engine, make_server):
    c = make_server(engine, chat_max_tokens=8, chat_max_batch=3)
    assert_error(c.post("/v1/chat/completions", body(user("x"), max_tokens=9)), 400, contains="limit of 8")
    # No max_tokens: the default (512) is bounded by the worker's limit.
    assert complete(c, body(user("x"), temperature=0))["usage"]["completion_tokens"] <= 8
    info = c.get("/v1/info")[2]
    assert info["chat"] is True and info["chat_max_batch"] == 3 and info["chat_max_tokens"] == 8


# ------------------------------------------------------------- endpoints


def test_models_and_info(client):
    status, _, models = client.get("/v1/models")
    assert status == 200
    assert models == {"object": "list", "data": [{"id": "tiny/janus", "object": "model", "created": 0,
                                                  "owned_by": "twig-janus"}]}
    info = client.get("/v1/info")[2]
    assert info["chat"] is True and info["chat_max_batch"] == 16 and info["chat_max_tokens"] == 1024
    status, headers, _ = client.get("/v1/chat/completions")
    assert status == 405 and headers.get("Allow") == "POST"
    status, headers, _ = client.post("/v1/models", {})
    assert status == 405 and headers.get("Allow") == "GET"


def test_loading_worker_answers_chat_503(make_server):
    c = make_server(None)
    for method, path in [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]:
        status, headers, b = c.call(method, path, body(user("x")) if method == "POST" else None)
        assert status == 503 and headers.get("Retry-After") == "10"
        assert b["error"] == {"message": "model is loading", "type": "overloaded_error"}


class GatedChat:
    """Wraps an engine: every chat batch waits for `release` and is recorded."""

    def __init__(self, engine):
        self._engine = engine
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def chat_batch(self, reqs):
        self.batches.append(len(reqs))
        self.entered.set()
        assert self.release.wait(60), "test never released the gate"
        return self._engine.chat_batch(reqs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


def wait_until(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_concurrent_chat_calls_are_batched(engine, make_server):
    gated = GatedChat(engine)
    c = make_server(gated, max_wait_ms=0, chat_max_batch=8)
    reqs = MIXED[:4]
    try:
        with cf.ThreadPoolExecutor(4) as pool:
            first = pool.submit(complete, c, reqs[0])
            assert gated.entered.wait(20)
            rest = [pool.submit(complete, c, r) for r in reqs[1:]]
            wait_until(lambda: c.stats()["chat"]["queued"] == 3)
            gated.release.set()
            answers = [first.result(60)] + [f.result(60) for f in rest]
    finally:
        gated.release.set()
    assert gated.batches == [1, 3]
    stats = c.stats()
    assert stats["chat"]["batch_sizes"] == {"1": 1, "3": 1} and stats["chat"]["calls"] == 4
    assert stats["chat"]["mean_batch_size"] == 2.0
    assert stats["calls"] == 0 and stats["batches"] == 0  # generate's counters are apart
    alone = [engine.chat_batch([engine.parse_chat(r)])[0].text for r in reqs]
    assert [text_of(a) for a in answers] == alone


def test_chat_max_batch_caps_a_batch(engine, make_server):
    gated = GatedChat(engine)
    c = make_server(gated, max_wait_ms=0, chat_max_batch=2, max_batch=1)
    req = body(user("x"), temperature=0, max_tokens=2)
    try:
        with cf.ThreadPoolExecutor(6) as pool:
            first = pool.submit(complete, c, req)
            assert gated.entered.wait(20)
            rest = [pool.submit(complete, c, {**req, "seed": i}) for i in range(5)]
            wait_until(lambda: c.stats()["chat"]["queued"] == 5)
            gated.release.set()
            for f in [first, *rest]:
                f.result(60)
    finally:
        gated.release.set()
    assert gated.batches == [1, 2, 2, 1]


def test_full_chat_queue_answers_503_with_retry_after(engine, make_server):
    gated = GatedChat(engine)
    c = make_server(gated, max_wait_ms=0, chat_max_batch=1, max_queue=1)
    req = body(user("x"), temperature=0, max_tokens=2)
    try:
        with cf.ThreadPoolExecutor(2) as pool:
            running = pool.submit(complete, c, req)
            assert gated.entered.wait(20)
            queued = pool.submit(complete, c, req)
            wait_until(lambda: c.stats()["chat"]["queued"] == 1)
            status, headers, b = c.post("/v1/chat/completions", req)
            assert status == 503 and headers.get("Retry-After") == "1"
            assert b["error"]["type"] == "overloaded_error" and "chat queue is full" in b["error"]["message"]
            assert c.stats()["chat"]["rejected"] == 1
            # Generate calls have their own queue.
            assert len(c.generate(prefix="still painting", n=2, seed=1)["tokens"]) == 2
            gated.release.set()
            running.result(60), queued.result(60)
    finally:
        gated.release.set()


def test_a_bad_item_does_not_fail_its_batch(engine, make_server):
    """Each call is checked before it is queued; a failing item in a batch
    answers its own error while the others answer."""
    from twig_janus.common import RequestError

    class OneBad:
        def chat_batch(self, reqs):
            out = engine.chat_batch(reqs)
            return [RequestError("bad item") if r.seed == 666 else o for r, o in zip(reqs, out)]

        def __getattr__(self, name):
            return getattr(engine, name)

    c = make_server(OneBad(), max_wait_ms=200, chat_max_batch=3)
    reqs = [body(user("x"), max_tokens=2, seed=s) for s in (1, 666, 2)]
    with cf.ThreadPoolExecutor(3) as pool:
        res = list(pool.map(lambda r: c.post("/v1/chat/completions", r), reqs))
    assert [r[0] for r in res] == [200, 400, 200]
    assert "bad item" in res[1][2]["error"]["message"]


# ------------------------------------------------------------------- CLI


def test_cli_tiny_random_serves_chat(device):
    """`python -m twig_janus --model tiny-random` answers twig's Go client's
    requests: a text part then an image part, temperature the smallest
    float32, a seed, and a correction turn."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(chat.__file__)))
           + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "twig_janus", "--model", "tiny-random", "--listen", f"127.0.0.1:{port}",
         "--device", device, "--served-model-name", "janus-tiny", "--chat-max-batch", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(proc, port)
        status, models = get(port, "/v1/models")
        assert status == 200 and models["data"][0]["id"] == "janus-tiny"
        go_like = {"model": "janus", "max_tokens": 16, "temperature": 1.401298464324817e-45, "seed": 1234,
                   "messages": [user("Critique the band.", png_url())]}
        status, a = get(port, "/v1/chat/completions", go_like)
        assert status == 200, a
        assert a["model"] == "janus-tiny" and a["choices"][0]["finish_reason"] in ("stop", "length")
        go_like["messages"] += [{"role": "assistant", "content": a["choices"][0]["message"]["content"] or "?"},
                                {"role": "user", "content": "Answer in the format SCORE: then IMPROVED_DESCRIPTION:."}]
        status, b = get(port, "/v1/chat/completions", go_like)
        assert status == 200, b
        assert b["usage"]["prompt_tokens"] > a["usage"]["prompt_tokens"]
        status, stats = get(port, "/v1/stats")
        assert stats["chat"]["calls"] == 2
    finally:
        took, out = stop(proc)
    assert proc.returncode == 0, out


def test_bench_chat_runs_on_the_tiny_model(engine, capsys):
    from twig_janus import bench

    rows = bench.run_chat(engine, [1, 2], prompt_tokens=10, new_tokens=6, images=1)
    assert [r["batch"] for r in rows] == [1, 2]
    assert all(r["new_tokens_per_call"] == 6 and r["new_tokens_per_second"] > 0 for r in rows)
    assert all(r["finish_reasons"] == ["stop"] and r["answer_tokens"] == 6 for r in rows)  # the forced end
    assert rows[0]["prompt_tokens"] > engine.understanding.num_image_tokens
    assert '"mode": "chat"' in capsys.readouterr().out
