"""python -m twig_janus.loadtest: end-to-end throughput of a worker over HTTP.

Standard library only (urllib and threads): it can run against any worker of
the protocol (docs/worker-protocol.md), from any machine.

N concurrent clients ("images") each paint a full grid the way twig's loop
calls a worker: for band k of K, `POST /v1/generate` with the thoughts so far
as the prefix, the tokens kept so far as the prior and n = grid*grid/K, then
`POST /v1/decode` of the canvas (the tokens so far, 0 elsewhere). All clients
start together. Reports images per second over the whole run, call
latencies, the prompt tokens the worker counted (`usage.input_tokens`), and
the worker's batch-size histograms (`/v1/stats` before and after).

Then it checks the codec once: `/v1/decode` of a full grid must be a PNG of
the image size (RGB), and `/v1/encode` of that PNG must give a full grid.

    python -m twig_janus.loadtest --url http://127.0.0.1:8420 --images 64 --out http.json

Exit status 0 when every call succeeded and the checks passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import statistics
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

_WORDS = ("sky cloud tree grass river stone house window light shadow red blue green golden soft "
          "bright small large old young cat dog bird flower road hill mountain sun evening morning "
          "reflects stands under above beside glows rests").split()


class CallError(Exception):
    pass


def call(url: str, path: str, body=None, timeout: float = 600.0, retries: int = 8):
    """One JSON call; retries 503/429 (with Retry-After) and connection errors, bounded."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(retries + 1):
        req = urllib.request.Request(url + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            payload = e.read()
            if e.code in (429, 503) and attempt < retries:
                time.sleep(float(e.headers.get("Retry-After") or 1))
                continue
            raise CallError(f"{path}: HTTP {e.code}: {payload[:300]!r}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            if attempt < retries:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise CallError(f"{path}: {e}") from None
    raise CallError(f"{path}: gave up")


def wait_healthy(url: str, timeout: float, pid: int | None = None) -> float:
    """Waits until /healthz answers 200; returns the seconds waited. Gives up
    early when process pid (the worker, if given) has exited."""
    import os

    t0 = time.monotonic()
    while True:
        if pid:
            gone = False
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat") as f:  # a zombie has exited too
                    gone = f.read().rsplit(")", 1)[-1].split()[0] == "Z"
            except ProcessLookupError:
                gone = True
            except OSError:
                pass
            if gone:
                raise CallError(f"the worker (pid {pid}) exited before {url}/healthz answered 200")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
                if resp.status == 200:
                    return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - not up yet, loading (503), ...
            pass
        if time.monotonic() - t0 > timeout:
            raise CallError(f"{url}/healthz not 200 after {timeout:.0f}s")
        time.sleep(0.5)


def png_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR; raises ValueError if not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    w, h, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return w, h, colour


def thought(i: int, k: int, chars: int) -> str:
    rng = random.Random(i * 1000 + k)
    words = []
    while len(" ".join(words)) < chars:
        words.append(rng.choice(_WORDS))
    return " ".join(words)[:chars].rstrip() + "."


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 3)


def run(url: str, images: int = 64, bands: int = 3, cfg: float = 5.0, thought_chars: int = 120,
        decode: bool = True, timeout: float = 600.0, expect_image_size: int | None = None,
        retries: int = 8) -> dict:
    url = url.rstrip("/")
    info = call(url, "/v1/info", retries=retries)
    grid = info["image_size"] // info["patch_size"]
    total = grid * grid
    per_band = total // bands
    stats_before = call(url, "/v1/stats", retries=retries)

    gen_lat: list[list[float]] = [[] for _ in range(bands)]
    in_tokens: list[list[int]] = [[] for _ in range(bands)]
    text_tokens: list[list[int]] = [[] for _ in range(bands)]  # input tokens less the prior
    dec_lat: list[float] = []
    errors: list[str] = []
    finals: dict[int, list[int]] = {}
    lock = threading.Lock()
    start = threading.Barrier(images + 1)
    done_at: list[float] = []

    def client(i: int):
        thoughts, prior = [], []
        try:
            start.wait()
            for k in range(bands):
                n = per_band if k < bands - 1 else total - per_band * (bands - 1)
                thoughts.append(thought(i, k, thought_chars))
                t0 = time.monotonic()
                ans = call(url, "/v1/generate", {"prefix": " ".join(thoughts), "prior": prior, "n": n, "cfg": cfg,
                                                 "temperature": 1.0, "top_k": 0, "top_p": 1.0,
                                                 "seed": 1_000_003 * i + k}, timeout=timeout, retries=retries)
                dt = time.monotonic() - t0
                toks = ans.get("tokens")
                if not isinstance(toks, list) or len(toks) != n:
                    raise CallError(f"/v1/generate: want {n} tokens, got {ans!r:.200}")
                with lock:
                    gen_lat[k].append(dt)
                    in_tokens[k].append(int(ans.get("usage", {}).get("input_tokens", -1)))
                    text_tokens[k].append(in_tokens[k][-1] - len(prior))
                prior = prior + toks
                if decode:
                    t0 = time.monotonic()
                    dec = call(url, "/v1/decode", {"tokens": prior + [0] * (total - len(prior))}, timeout=timeout,
                               retries=retries)
                    w, h, _ = png_size(base64.b64decode(dec["png"]))
                    if (w, h) != (info["image_size"], info["image_size"]):
                        raise CallError(f"/v1/decode: {w}x{h} PNG, want {info['image_size']}")
                    with lock:
                        dec_lat.append(time.monotonic() - t0)
            with lock:
                finals[i] = prior
                done_at.append(time.monotonic())
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(f"image {i}: {e}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(images)]
    for t in threads:
        t.start()
    start.wait()
    t_start = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - t_start
    stats_after = call(url, "/v1/stats", retries=retries)

    out = {
        "url": url, "model": info.get("model"), "revision": info.get("revision"), "info": info,
        "images": images, "bands": bands, "tokens_per_band": per_band, "cfg": cfg, "decode_each_band": decode,
        "thought_chars": thought_chars,
        "completed_images": len(finals), "errors": errors[:20], "error_count": len(errors),
        "wall_seconds": round(wall, 3),
        "images_per_second": round(len(finals) / wall, 3) if wall > 0 else None,
        "seconds_per_image_batch": round(wall, 3),
        "generate_latency_s_by_band": [{"p50": pct(v, 0.5), "p90": pct(v, 0.9), "max": pct(v, 1.0)} for v in gen_lat],
        "input_tokens_mean_by_band": [round(statistics.mean(v), 1) if v else None for v in in_tokens],
        "text_tokens_mean_by_band": [round(statistics.mean(v), 1) if v else None for v in text_tokens],
        "decode_latency_s": {"p50": pct(dec_lat, 0.5), "p90": pct(dec_lat, 0.9), "max": pct(dec_lat, 1.0),
                             "calls": len(dec_lat)},
        "stats_before": stats_before, "stats_after": stats_after,
    }
    out["checks"] = codec_checks(url, info, finals.get(0), expect_image_size)
    out["ok"] = not errors and len(finals) == images and all(c["ok"] for c in out["checks"].values())
    return out


def codec_checks(url: str, info: dict, grid_tokens, expect_image_size) -> dict:
    size = info["image_size"]
    grid = size // info["patch_size"]
    total = grid * grid
    checks = {}
    tokens = grid_tokens or [(7 * j) % info["codebook_size"] for j in range(total)]
    png = None
    try:
        dec = call(url, "/v1/decode", {"tokens": tokens})
        png = base64.b64decode(dec["png"])
        w, h, colour = png_size(png)
        c = {"width": w, "height": h, "png_colour_type": colour, "bytes": len(png), "model": dec.get("model")}
        try:
            from PIL import Image

            with Image.open(io.BytesIO(png)) as im:
                im.load()
                c["mode"] = im.mode
        except ImportError:
            pass
        want = expect_image_size or size
        c["ok"] = (w, h) == (want, want) and colour == 2 and c.get("mode", "RGB") == "RGB"
        checks["decode_png"] = c
    except Exception as e:  # noqa: BLE001
        checks["decode_png"] = {"ok": False, "error": str(e)}
    if png is not None:
        try:
            enc = call(url, "/v1/encode", {"png": base64.b64encode(png).decode()})
            toks = enc["tokens"]
            checks["encode_png"] = {"ok": len(toks) == total and all(0 <= t < info["codebook_size"] for t in toks),
                                    "tokens": len(toks)}
        except Exception as e:  # noqa: BLE001
            checks["encode_png"] = {"ok": False, "error": str(e)}
    return checks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m twig_janus.loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8420")
    p.add_argument("--images", type=int, default=64, help="concurrent clients, one image each")
    p.add_argument("--bands", type=int, default=3)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--thought-chars", type=int, default=120,
                   help="characters of thought a band adds to the prefix (about 25 words)")
    p.add_argument("--decode", action=argparse.BooleanOptionalAction, default=True,
                   help="decode the canvas after every band, as twig does")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per call")
    p.add_argument("--retries", type=int, default=8, help="retries of a call answered 503/429 or not connecting")
    p.add_argument("--wait", type=float, default=0.0, help="first wait this long for /healthz to answer 200")
    p.add_argument("--wait-pid", type=int, default=None, help="stop waiting if this process (the worker) exits")
    p.add_argument("--expect-image-size", type=int, default=None)
    p.add_argument("--out", default=None, help="also write the JSON report here")
    args = p.parse_args(argv)

    try:
        waited = wait_healthy(args.url.rstrip("/"), args.wait, args.wait_pid) if args.wait > 0 else 0.0
        report = run(args.url, images=args.images, bands=args.bands, cfg=args.cfg, thought_chars=args.thought_chars,
                     decode=args.decode, timeout=args.timeout, expect_image_size=args.expect_image_size,
                     retries=args.retries)
        report["waited_for_health_s"] = round(waited, 1)
    except Exception as e:  # noqa: BLE001
        report = {"ok": False, "url": args.url, "error": str(e)}
    text = json.dumps(report, indent=1)
    print(text, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
