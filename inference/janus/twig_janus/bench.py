"""python -m twig_janus.bench: images per second of the engine, by batch size.

Runs the TwiG loop's generate calls without HTTP: for each batch size B, B
prompts paint a full image in K bands (K calls of grid*grid/K tokens each,
prior = the bands before), all B prompts of a band in one batch, as a busy
worker sees them. Reports seconds per band and images per second, to compare
with docs/product.md's targets (about 6 images/s at batch 32 or more on an
H100 for Janus-Pro-7B; the reference code's loop takes about 10 s per image).

The prefix of band k holds (k + 1) * --prefix-tokens tokens of the model's own
tokenizer (the thoughts so far; 25 a band by default, about a 20-word thought
in Janus's tokenizer), so a random model's byte-level tokenizer and the real
BPE one prefill the same number of positions.

    python -m twig_janus.bench --model deepseek-community/Janus-Pro-7B --batch 1 8 32 64
    python -m twig_janus.bench --model random:janus-pro-7b --batch 1 8 32 64   # no weights needed
    python -m twig_janus.bench --model tiny-random --batch 1 4   # smoke test on a CPU
    python -m twig_janus.bench --model random:janus-pro-7b --batch 1 64 --cuda-graphs
    python -m twig_janus.bench --model random:janus-pro-7b --chat --batch 1 32

--chat measures understanding instead (POST /v1/chat/completions without
HTTP): B calls in one batch, each one user turn with --chat-images canvases
(random 384 px images through the real SigLIP encoder) and a text of
--chat-prompt-tokens tokens, greedy, exactly --chat-new-tokens new tokens
(alias --chat-answer-tokens: each answer ends there as the worker's
--chat-answer-tokens ends it, with a forced end of sentence, whatever the
model samples before). It reports new tokens per second for the batch and
per call (prefill included: the time of the whole batch).

With --cuda-graphs (CUDA only; on a CPU it says so and runs eagerly), each
batch size first runs its bands once untimed (--warm-pass, on by default with
graphs), so that the timed run replays graphs captured before it; the rows
then report the graphs' counters (captures, replays, the KV buffer).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .common import TINY_MODEL

_WORDS = ("a red apple sits on a wooden table near the window while soft morning light falls across "
          "the bowl and a small grey cat sleeps on the chair beside it under a green painted wall").split()


def make_prefix(engine, n_tokens: int, salt: int) -> str:
    """A prefix of about n_tokens tokens of the engine's tokenizer (the prompt
    template around it not counted), starting with the salt so that items differ."""
    base = len(engine._prompt_ids(""))
    words = [f"{salt}."] + [_WORDS[(salt + j) % len(_WORDS)] for j in range(4 * n_tokens + 4)]
    text = " ".join(words)

    def count(c):
        return len(engine._prompt_ids(text[:c])) - base

    lo, hi = 0, len(text)  # the shortest cut with at least n_tokens tokens
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= n_tokens:
            hi = mid
        else:
            lo = mid + 1
    return text[:lo]


def run(engine, batch_sizes, bands: int = 3, cfg: float = 5.0, repeats: int = 1, prefix_tokens: int = 25,
        warm_pass: bool = False):
    import torch

    from .model import GenerateRequest

    per_band = engine.num_tokens // bands
    rows = []
    for b in batch_sizes:
        prefixes = [[make_prefix(engine, prefix_tokens * (k + 1), i) for k in range(bands)] for i in range(b)]
        text_tokens = [sum(len(engine._prompt_ids(prefixes[i][k])) for i in range(b)) / b for k in range(bands)]
        if engine.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        best = None
        warm_seconds = None
        for rep in range(-1 if warm_pass else 0, repeats):  # rep -1: the untimed warm pass
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            priors = [[] for _ in range(b)]
            for k in range(bands):
                n = per_band if k < bands - 1 else engine.num_tokens - per_band * (bands - 1)
                reqs = [GenerateRequest(prefix=prefixes[i][k], prior=priors[i], n=n, cfg=cfg, seed=1000 * rep + i)
                        for i in range(b)]
                res = engine.generate_batch(reqs)
                for i, r in enumerate(res):
                    if isinstance(r, Exception):
                        raise r
                    priors[i] = priors[i] + r.tokens
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            if rep < 0:
                warm_seconds = dt
                graphs_before = engine.graph_stats()
                continue
            best = dt if best is None else min(best, dt)
        row = {"batch": b, "seconds_per_image_batch": round(best, 3), "seconds_per_band": round(best / bands, 3),
               "images_per_second": round(b / best, 3),
               "text_tokens_by_band": [round(t, 1) for t in text_tokens],
               "positions_last_band": round(text_tokens[-1] + engine.num_tokens, 1)}
        if engine.device.type == "cuda":
            row["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if warm_seconds is not None:
            row["warm_pass_seconds"] = round(warm_seconds, 3)
        stats = engine.graph_stats()
        if stats is not None:
            row["graphs"] = stats
            if warm_seconds is not None and graphs_before is not None:
                row["captures_in_timed_runs"] = stats["captures"] - graphs_before["captures"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def chat_requests(engine, b: int, *, prompt_tokens: int, new_tokens: int, images: int, seed: int = 0):
    """b chat calls as twig's critic sends them (text, then the canvas), sized in tokens."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    size = engine.understanding.image_size
    rng = np.random.default_rng(seed)
    reqs = []
    for i in range(b):
        parts = [{"type": "text", "text": make_prefix(engine, prompt_tokens, i + seed)}]
        for _ in range(images):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB").save(buf, "PNG")
            parts.append({"type": "image_url",
                          "image_url": {"url": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}})
        req = engine.parse_chat({"messages": [{"role": "user", "content": parts}], "temperature": 0,
                                 "max_tokens": new_tokens}, max_tokens_cap=new_tokens)
        req.answer_tokens = new_tokens  # as the worker's --chat-answer-tokens: exactly this many tokens
        req.ignore_eos = False
        reqs.append(req)
    return reqs


def run_chat(engine, batch_sizes, *, prompt_tokens: int = 300, new_tokens: int = 256, images: int = 1,
             repeats: int = 1):
    """Understanding speed by batch size: one batch of b calls, each new_tokens long."""
    import torch

    rows = []
    for b in batch_sizes:
        reqs = chat_requests(engine, b, prompt_tokens=prompt_tokens, new_tokens=new_tokens, images=images)
        if engine.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        best = None
        for _ in range(repeats):
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            res = engine.chat_batch(reqs)
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            for r in res:
                if isinstance(r, Exception):
                    raise r
            best = dt if best is None else min(best, dt)
        new = sum(r.completion_tokens for r in res)
        row = {"mode": "chat", "batch": b, "seconds": round(best, 3), "images_per_call": images,
               "answer_tokens": new_tokens, "finish_reasons": sorted({r.finish_reason for r in res}),
               "prompt_tokens": round(sum(len(r.ids) for r in reqs) / b, 1),
               "new_tokens_per_call": round(new / b, 1),
               "new_tokens_per_second": round(new / best, 1),
               "new_tokens_per_second_per_call": round(new / b / best, 2)}
        if engine.device.type == "cuda":
            row["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def warmup(engine, cfg: float = 5.0):
    """A short untimed batch: CUDA context, kernels and allocator warm up."""
    from .model import GenerateRequest

    engine.generate_batch([GenerateRequest(prefix="warm up", prior=[1] * 4, n=4, cfg=cfg, seed=i)
                           for i in range(2)])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m twig_janus.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=TINY_MODEL,
                   help="checkpoint, tiny-random, or random:janus-pro-7b / random:janus-pro-1b (random weights)")
    p.add_argument("--revision", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--attn-implementation", default=None)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 64])
    p.add_argument("--bands", type=int, default=3)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--prefix-tokens", type=int, default=25,
                   help="tokens of thought a band adds to the prefix (band k has (k+1) times this many)")
    p.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                   help="one small batch first, untimed")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="decode with CUDA graphs (CUDA only; on a CPU: logged, eager)")
    p.add_argument("--chat", action="store_true",
                   help="measure understanding (chat completions) instead of image generation")
    p.add_argument("--chat-new-tokens", "--chat-answer-tokens", dest="chat_new_tokens", type=int, default=256,
                   help="--chat: new tokens per call, each answer ending there (as the worker's "
                        "--chat-answer-tokens)")
    p.add_argument("--chat-prompt-tokens", type=int, default=300,
                   help="--chat: text tokens per call (the image tokens come on top)")
    p.add_argument("--chat-images", type=int, default=1, help="--chat: images per call")
    p.add_argument("--warm-pass", action=argparse.BooleanOptionalAction, default=None,
                   help="run each batch size's bands once untimed first (default: on with --cuda-graphs, "
                        "so graph captures are not timed)")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    import torch

    from .model import JanusEngine

    t0 = time.perf_counter()
    engine = JanusEngine.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype,
                              attn_implementation=args.attn_implementation, cuda_graphs=args.cuda_graphs)
    if engine.device.type == "cuda":
        torch.cuda.synchronize()
    head = {"model": engine.model_id, "device": str(engine.device), "grid": engine.grid,
            "dtype": str(engine.model.dtype).replace("torch.", ""),
            "load_seconds": round(time.perf_counter() - t0, 1), "bands": args.bands, "cfg": args.cfg,
            "prefix_tokens_per_band": args.prefix_tokens, "cuda_graphs_asked": args.cuda_graphs,
            "cuda_graphs": engine.cuda_graphs, "torch": torch.__version__}
    try:
        import transformers

        head["transformers"] = transformers.__version__
    except Exception:  # noqa: BLE001
        pass
    if engine.device.type == "cuda":
        head["gpu"] = torch.cuda.get_device_name(engine.device)
        head["weights_gpu_memory_gib"] = round(torch.cuda.memory_allocated(engine.device) / 2**30, 2)
    print(json.dumps(head), flush=True)
    if args.chat:
        if args.warmup:
            engine.chat_batch(chat_requests(engine, 2, prompt_tokens=8, new_tokens=4, images=args.chat_images))
        run_chat(engine, args.batch, prompt_tokens=args.chat_prompt_tokens, new_tokens=args.chat_new_tokens,
                 images=args.chat_images, repeats=args.repeats)
        return 0
    if args.warmup:
        warmup(engine, cfg=args.cfg)
    warm_pass = engine.cuda_graphs if args.warm_pass is None else args.warm_pass
    run(engine, args.batch, bands=args.bands, cfg=args.cfg, repeats=args.repeats, prefix_tokens=args.prefix_tokens,
        warm_pass=warm_pass)
    if args.cuda_graphs and not engine.cuda_graphs:
        print(json.dumps({"note": "--cuda-graphs asked, but this ran eagerly (no CUDA device, or the capture "
                                  "failed: see the log)", "graphs": engine.graph_stats()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
