"""python -m twig_janus.bench: images per second of the engine, by batch size.

Runs the TwiG loop's generate calls without HTTP: for each batch size B, B
prompts paint a full image in K bands (K calls of grid*grid/K tokens each,
prior = the bands before), all B prompts of a band in one batch, as a busy
worker sees them. Reports seconds per band and images per second, to compare
with docs/product.md's targets (about 6 images/s at batch 32 or more on an
H100 for Janus-Pro-7B; the reference code's loop takes about 10 s per image).

    python -m twig_janus.bench --model deepseek-community/Janus-Pro-7B --batch 1 8 32 64
    python -m twig_janus.bench --model tiny-random --batch 1 4   # smoke test on a CPU
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .common import TINY_MODEL


def run(engine, batch_sizes, bands: int = 3, cfg: float = 5.0, repeats: int = 1, prefix_words: int = 20):
    import torch

    from .model import GenerateRequest

    per_band = engine.num_tokens // bands
    rows = []
    for b in batch_sizes:
        best = None
        for rep in range(repeats):
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            priors = [[] for _ in range(b)]
            for k in range(bands):
                n = per_band if k < bands - 1 else engine.num_tokens - per_band * (bands - 1)
                reqs = [GenerateRequest(prefix=" ".join(["word"] * prefix_words * (k + 1)) + f" {i}.",
                                        prior=priors[i], n=n, cfg=cfg, seed=1000 * rep + i) for i in range(b)]
                res = engine.generate_batch(reqs)
                for i, r in enumerate(res):
                    priors[i] = priors[i] + r.tokens
            if engine.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        row = {"batch": b, "seconds_per_image_batch": round(best, 3), "seconds_per_band": round(best / bands, 3),
               "images_per_second": round(b / best, 3)}
        if engine.device.type == "cuda":
            row["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m twig_janus.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=TINY_MODEL)
    p.add_argument("--revision", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 64])
    p.add_argument("--bands", type=int, default=3)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                   help="one small batch first, untimed")
    args = p.parse_args(argv)

    from .model import JanusEngine

    t0 = time.perf_counter()
    engine = JanusEngine.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype)
    print(json.dumps({"model": engine.model_id, "device": str(engine.device), "grid": engine.grid,
                      "load_seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    if args.warmup:
        run(engine, [1], bands=args.bands, cfg=args.cfg)
    run(engine, args.batch, bands=args.bands, cfg=args.cfg, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
