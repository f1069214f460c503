"""python -m twig_janus: serve the worker protocol with Janus-Pro on a GPU.

Stopping (SIGTERM or SIGINT): the worker stops accepting connections, answers
queued calls 503, lets a running batch finish for up to --shutdown-grace-s
seconds (then abandons it) and exits 0 with os._exit, without the
interpreter's teardown (which can wait on threads blocked in CUDA calls). A
second signal exits at once (status 1); if even that machinery is stuck
(a thread holding the GIL in a C call), faulthandler's watchdog, a C thread
that needs no GIL, prints every thread's stack and exits 1 shortly after the
grace.

How signals reach the worker: SIGINT and SIGTERM are blocked in the main
thread before any other thread starts, so every thread (HTTP, batchers, the
loader, and the native threads CUDA, cuBLAS and torch start) inherits the
block, and the main thread takes them with signal.sigtimedwait in a loop.
Before this, the main thread slept in an untimed threading.Event.wait() and
relied on a Python signal handler; CPython runs those only in the main thread
when it returns to the interpreter, and an untimed lock wait returns only if
the main thread itself is interrupted. A SIGTERM that the kernel handed to any
other thread (a CUDA process has many) set the C-level flag and nothing else:
the worker never stopped on a GPU (it was SIGKILLed after 30 s in
gpu-check's pytest and HTTP steps), while on a CPU, with few threads, the
main thread got the signal and stopped. The Python handlers stay installed as
a fallback (a library thread that unblocks the signals for itself still
trips them; the main thread wakes at least every 0.25 s to run them).
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import threading
import time

from . import server
from .common import DEFAULT_PROMPT_TEMPLATE, RANDOM_PREFIX, TINY_MODEL


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m twig_janus",
        description="Serve the twig GPU-worker protocol (docs/worker-protocol.md) with a Janus model "
                    "through Hugging Face transformers, with dynamic batching.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", default="deepseek-community/Janus-Pro-7B",
                   help="a transformers-format Janus checkpoint: a hub id or a local folder; "
                        f"'{TINY_MODEL}' serves a tiny random model (CPU tests, no download); "
                        f"'{RANDOM_PREFIX}janus-pro-7b' or '{RANDOM_PREFIX}janus-pro-1b' builds the full-size "
                        "architecture with random weights on the device (speed tests, no download)")
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
    p.add_argument("--chat-max-batch", type=int, default=server.DEFAULT_CHAT_MAX_BATCH,
                   help="most /v1/chat/completions calls (understanding) in one batch; they queue apart "
                        "from generate calls, with the same --max-wait-ms and --max-queue")
    p.add_argument("--chat-max-tokens", type=int, default=server.DEFAULT_CHAT_MAX_TOKENS,
                   help="the most new tokens a chat call may ask for (max_tokens; 512 when it asks none)")
    p.add_argument("--chat-answer-tokens", type=int, default=0, metavar="N",
                   help="measurement aid for random-weight models: every chat answer ends after exactly N "
                        "generated tokens, the last one an end of sentence put in place of the sampled one "
                        "(finish_reason stop; the model's own end of sentence before it is ignored, a smaller "
                        "max_tokens still cuts), so that throughput runs get fixed, realistic answer lengths. "
                        "0: off (answers end where the model ends them). /v1/info reports it when on")
    p.add_argument("--chat-image-system-prompt", default=None,
                   help="system prompt of a chat call that carries an image and no system message (default: "
                        "Janus's VLChatProcessor sentence; '' for none). Calls without images get none")
    p.add_argument("--max-body-bytes", type=int, default=server.DEFAULT_MAX_BODY_BYTES,
                   help="larger request bodies are answered 413")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cuda, cuda:1, cpu")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16 on GPU, float32 on CPU), bfloat16, float16, float32")
    p.add_argument("--vq-dtype", default="float32", help="dtype of the VQ codec (decode/encode)")
    p.add_argument("--attn-implementation", default=None, help="transformers attention: sdpa (default), eager, flash_attention_2")
    p.add_argument("--prompt-template", default=DEFAULT_PROMPT_TEMPLATE,
                   help="the generation prompt around the prefix; <begin_of_image> is appended")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="decode with CUDA graphs (one per padded batch-size and cache-length bucket); "
                        "CUDA only: on a CPU the worker logs it and runs eagerly")
    p.add_argument("--shutdown-grace-s", type=float, default=10.0,
                   help="on SIGTERM/SIGINT, how long a running batch may take to finish before the worker "
                        "exits anyway")
    return p.parse_args(argv)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_CAN_SIGWAIT = hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigtimedwait")


def block_stop_signals() -> bool:
    """Blocks SIGINT and SIGTERM in the calling thread (call it from the main
    thread before starting any thread: threads inherit the mask). False where
    the platform cannot (then the Python handlers alone stop the worker)."""
    if not _CAN_SIGWAIT:
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    return True


def wait_for_stop(stop: threading.Event, received: list, poll: float = 0.25) -> str:
    """Sleeps in the main thread until a stop signal comes or stop is set;
    returns what stopped it. Never sleeps in an untimed wait: a handler tripped
    by a signal that another thread took runs within `poll` seconds."""
    while not stop.is_set():
        if _CAN_SIGWAIT:
            info = signal.sigtimedwait(STOP_SIGNALS, poll)
            if info is not None:
                return signal.Signals(info.si_signo).name
        else:
            stop.wait(poll)
    return received[0] if received else "stop"


def _flush() -> None:
    for h in logging.getLogger().handlers:
        try:
            h.flush()
        except Exception:  # noqa: BLE001
            pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:  # noqa: BLE001
            pass


def hard_exit(code: int) -> None:
    """Flushes the logs and leaves without the interpreter's teardown."""
    _flush()
    os._exit(code)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("twig_janus")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"--listen wants HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    for name in ("max_batch", "max_queue", "codec_max_batch", "max_body_bytes", "chat_max_batch",
                 "chat_max_tokens"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    if args.chat_answer_tokens < 0:
        print("--chat-answer-tokens must be at least 0 (0: off)", file=sys.stderr)
        return 2
    if args.chat_answer_tokens > args.chat_max_tokens:
        print(f"--chat-answer-tokens {args.chat_answer_tokens} exceeds --chat-max-tokens {args.chat_max_tokens}: "
              "no answer could be that long", file=sys.stderr)
        return 2

    sigwait = block_stop_signals()  # first: every thread started from here on inherits the block
    received: list[str] = []
    stop = threading.Event()  # set by the fallback handlers, or when loading fails

    def on_signal(signum, _frame):
        received.append(signal.Signals(signum).name)
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)

    worker = server.Worker(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                           codec_max_batch=args.codec_max_batch, max_body_bytes=args.max_body_bytes,
                           chat_max_batch=args.chat_max_batch, chat_max_tokens=args.chat_max_tokens)
    srv = server.Server(worker, host.strip("[]"), int(port), access_log=args.access_log).start()
    log.info("listening on %s:%d (healthz answers 503 until the model is loaded)", *srv.address)

    failed: list[str] = []

    def load() -> None:
        # In a thread, so that a signal during a long load (a download) stops the worker at once.
        t0 = time.monotonic()
        try:
            from .model import JanusEngine  # imports torch: after the port is open

            engine = JanusEngine.load(args.model, revision=args.revision, device=args.device, dtype=args.dtype,
                                      served_model_name=args.served_model_name,
                                      prompt_template=args.prompt_template, vq_dtype=args.vq_dtype,
                                      attn_implementation=args.attn_implementation,
                                      cuda_graphs=args.cuda_graphs,
                                      chat_image_system_prompt=args.chat_image_system_prompt,
                                      chat_answer_tokens=args.chat_answer_tokens)
        except Exception as e:  # noqa: BLE001
            log.error("cannot load %s: %s", args.model, e)
            failed.append(str(e))
            worker.load_error = str(e)
            stop.set()
            return
        if stop.is_set():
            return
        worker.set_engine(engine)
        log.info("loaded %s on %s in %.1fs: %dx%d grid of %d-px patches, codebook %d%s; ready",
                 engine.model_id, engine.device, time.monotonic() - t0, engine.grid, engine.grid,
                 engine.patch_size, engine.codebook_size, ", CUDA graphs" if engine.cuda_graphs else "")
        if args.chat_answer_tokens:
            log.warning("--chat-answer-tokens %d: every chat answer is cut to exactly %d tokens (a measurement "
                        "mode: answers are not the model's own)", args.chat_answer_tokens, args.chat_answer_tokens)

    threading.Thread(target=load, name="load", daemon=True).start()
    why = wait_for_stop(stop, received)
    stop.set()  # a load that finishes now does not start the batchers
    if failed:
        srv.close(timeout=1)
        return 1
    grace = max(args.shutdown_grace_s, 0.0)
    log.info("shutting down (%s): no new calls, a running batch gets up to %.1fs", why, grace)
    # The last resort, a C watchdog thread that needs no GIL: stacks of every thread, then exit 1.
    faulthandler.dump_traceback_later(grace + 10, exit=True)
    done = threading.Event()

    def shut() -> None:
        try:
            srv.close(timeout=grace)
        finally:
            done.set()

    threading.Thread(target=shut, name="shutdown", daemon=True).start()
    deadline = time.monotonic() + grace + 2
    while not done.is_set() and time.monotonic() < deadline:
        if sigwait:
            info = signal.sigtimedwait(STOP_SIGNALS, 0.1)
            if info is not None:
                log.warning("second %s: exiting now", signal.Signals(info.si_signo).name)
                return 1
        else:
            done.wait(0.1)
    if not done.is_set() or worker.busy():
        log.warning("a batch was still running after %.1fs: abandoning it", grace)
    log.info("stopped")
    return 0

if __name__ == "__main__":
    hard_exit(main())
