"""python -m twig_janus: serve the worker protocol with Janus-Pro on a GPU."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from . import server
from .common import DEFAULT_PROMPT_TEMPLATE, TINY_MODEL


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m twig_janus",
        description="Serve the twig GPU-worker protocol (docs/worker-protocol.md) with a Janus model "
                    "through Hugging Face transformers, with dynamic batching.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", default="deepseek-community/Janus-Pro-7B",
                   help="a transformers-format Janus checkpoint: a hub id or a local folder; "
                        f"'{TINY_MODEL}' serves a tiny random model (CPU tests, no download)")
    p.add_argument("--revision", default=None, help="hub revision (branch, tag or commit) to load")
    p.add_argument("--served-model-name", default=None,
                   help="model name in answers and /v1/info (default: --model)")
    p.add_argument("--listen", default="127.0.0.1:8420", help="HOST:PORT to listen on")
    p.add_argument("--max-batch", type=int, default=server.DEFAULT_MAX_BATCH,
                   help="most generate calls in one batch")
    p.add_argument("--max-wait-ms", type=float, default=server.DEFAULT_MAX_WAIT_MS,
                   help="how long a batch waits for more calls after its first")
    p.add_argument("--max-queue", type=int, default=server.DEFAULT_MAX_QUEUE,
                   help="calls that may wait for a batch; beyond it: 503 with Retry-After")
    p.add_argument("--codec-max-batch", type=int, default=server.DEFAULT_CODEC_MAX_BATCH,
                   help="most decode or encode calls in one VQ batch")
    p.add_argument("--max-body-bytes", type=int, default=server.DEFAULT_MAX_BODY_BYTES,
                   help="larger request bodies are answered 413")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cuda, cuda:1, cpu")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on GPU, float32 on CPU), bfloat16, float16, float32")
    p.add_argument("--vq-dtype", default="float32", help="dtype of the VQ codec (decode/encode)")
    p.add_argument("--attn-implementation", default=None, help="transformers attention: sdpa (default), eager, flash_attention_2")
    p.add_argument("--prompt-template", default=DEFAULT_PROMPT_TEMPLATE,
                   help="the generation prompt around the prefix; <begin_of_image> is appended")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("twig_janus")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"--listen wants HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    for name in ("max_batch", "max_queue", "codec_max_batch", "max_body_bytes"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2

    worker = server.Worker(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                           codec_max_batch=args.codec_max_batch, max_body_bytes=args.max_body_bytes)
    srv = server.Server(worker, host.strip("[]"), int(port), access_log=args.access_log).start()
    log.info("listening on %s:%d (healthz answers 503 until the model is loaded)", *srv.address)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    from .model import JanusEngine  # imports torch: after the port is open

    t0 = time.monotonic()
    try:
        engine = JanusEngine.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype,
                                  served_model_name=args.served_model_name, prompt_template=args.prompt_template,
                                  vq_dtype=args.vq_dtype, attn_implementation=args.attn_implementation)
    except Exception as e:  # noqa: BLE001
        log.error("cannot load %s: %s", args.model, e)
        srv.close()
        return 1
    worker.set_engine(engine)
    log.info("loaded %s on %s in %.1fs: %dx%d grid of %d-px patches, codebook %d; ready",
             engine.model_id, engine.device, time.monotonic() - t0, engine.grid, engine.grid,
             engine.patch_size, engine.codebook_size)
    stop.wait()
    log.info("shutting down")
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
