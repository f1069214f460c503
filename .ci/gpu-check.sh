#!/usr/bin/env bash
# One-shot check of the Python reference worker (inference/janus) on a GPU
# machine with no network and no weights: run it from the repository root,
#
#   OUT=/some/dir bash .ci/gpu-check.sh
#
# with a python3 that already has torch (CUDA), transformers (>= 5.17),
# tokenizers, safetensors, numpy, pillow and pytest; nothing is installed.
# Not part of .ci/run. Steps, each under its own time limit, each run even if
# one before it failed (the summary at the end says which did what):
#
#   env      nvidia-smi, package versions, CUDA visible           -> gpu-check.log
#   pytest   the janus test suite with TWIG_JANUS_DEVICE=cuda      -> pytest-cuda.log
#   bench    python -m twig_janus.bench, random:janus-pro-7b,
#            batches 1 8 32 64, three bands of 192 tokens, cfg 5   -> bench-7b.jsonl
#   http     the worker (python -m twig_janus) with random:janus-pro-7b,
#            64 concurrent clients painting an image each in three
#            bands (generate + decode per band, as twig calls it),
#            then a decode/encode check of a 384x384 PNG            -> http-7b.json, server-7b.log
#   bench1b  the same bench with random:janus-pro-1b, if time is left -> bench-1b.jsonl
#   summary  what ran, how long, the headline numbers              -> summary.txt
#
# random:janus-pro-7b is the full Janus-Pro-7B architecture with random
# weights built on the GPU (inference/janus/twig_janus/random_model.py): the
# real speed, images of noise. Its tokenizer is byte-level, so the bench
# sizes prefixes in tokens (--prefix-tokens) and the HTTP clients send
# 25-character thoughts (25 tokens there, like a 20-word thought in Janus's
# tokenizer).
#
# The whole run stays under GPU_CHECK_BUDGET_S (420 s by default): every step
# gets min(its own limit, the time left), a step that does not fit is skipped.
#
# Knobs (environment): OUT (default $TMPDIR/twig-gpu-check), PYTHON (python3),
# GPU_CHECK_DEVICE (cuda), GPU_CHECK_BUDGET_S (420), GPU_CHECK_PORT (8420),
# GPU_CHECK_MAX_WAIT_MS (2000: the HTTP clients move in lockstep and their
# next calls arrive over the second or two the codec takes to decode and
# PNG-encode 64 canvases, 8 at a time; a batch runs as soon as 64 calls are
# in, so a long wait costs nothing when they all come, and gathers a band
# into one batch: the number is the worker's capacity over HTTP. With the
# worker's default of 20 ms a band splits into a small batch and a large one
# queued behind it), GPU_CHECK_BATCHES
# ("1 8 32 64"), GPU_CHECK_IMAGES (64), GPU_CHECK_PYTEST_ARGS (extra pytest
# arguments), GPU_CHECK_SKIP (steps to skip, e.g. "bench1b pytest"),
# GPU_CHECK_MODEL_7B / GPU_CHECK_MODEL_1B (what the bench and http steps
# load instead, e.g. a local checkpoint folder; the file names stay).
#
# GPU_CHECK_SMOKE=1 runs the same flow on a CPU in a minute or two: device
# cpu, the architectures shrunk to 1 layer of width 64 (same 384 px geometry),
# batches "1 2", 2 HTTP clients. This is how the script itself is tested.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=${OUT:-${TMPDIR:-/tmp}/twig-gpu-check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SMOKE=${GPU_CHECK_SMOKE:-0}
BUDGET=${GPU_CHECK_BUDGET_S:-420}
PORT=${GPU_CHECK_PORT:-8420}
SKIP=" ${GPU_CHECK_SKIP:-} "
if [ "$SMOKE" = 1 ]; then
  DEVICE=${GPU_CHECK_DEVICE:-cpu}
  SHRINK=",layers=1,hidden=64,heads=2,intermediate=128,vision_layers=1,vq_channels=32"
  BATCHES=${GPU_CHECK_BATCHES:-1 2}
  IMAGES=${GPU_CHECK_IMAGES:-2}
  MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-20}  # 2 clients never fill a batch of 64
  # One thread: torch's OpenMP threads spin, and slow down many times over on
  # a small machine that is busy with something else.
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
  DEVICE=${GPU_CHECK_DEVICE:-cuda}
  SHRINK=""
  BATCHES=${GPU_CHECK_BATCHES:-1 8 32 64}
  IMAGES=${GPU_CHECK_IMAGES:-64}
  MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-2000}
fi
MODEL_7B=${GPU_CHECK_MODEL_7B:-random:janus-pro-7b$SHRINK}
MODEL_1B=${GPU_CHECK_MODEL_1B:-random:janus-pro-1b$SHRINK}

export PYTHONPATH="$PWD/inference/janus${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

source "$(dirname "$0")/gpu-lib.sh"

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server $SERVER_PID did not stop on SIGTERM: SIGKILL"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

env_check() {
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  cpus: $(nproc 2>/dev/null || echo ?)"
  echo "repo: $PWD  OUT: $OUT  device: $DEVICE  smoke: $SMOKE  budget: ${BUDGET}s"
  if command -v nvidia-smi >/dev/null 2>&1; then
    run_limited 30 nvidia-smi || echo "nvidia-smi failed"
    run_limited 30 nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm,power.limit,driver_version \
      --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  command -v "$PY" >/dev/null 2>&1 || { echo "MISSING: $PY (set PYTHON=...)"; return 3; }
  run_limited 120 "$PY" - "$DEVICE" <<'EOF'
import importlib, platform, sys
device = sys.argv[1]
print("python", sys.version.split()[0], platform.platform())
need = ["torch", "transformers", "tokenizers", "safetensors", "numpy", "PIL"]
optional = {"pytest": "the pytest step is skipped",
            "accelerate": "only loading real checkpoints needs it (from_pretrained device_map); random models do not"}
missing = []
for name in need + list(optional):
    try:
        mod = importlib.import_module(name)
        print(f"  {name:13s} {getattr(mod, '__version__', '?')}")
    except Exception as e:  # noqa: BLE001
        why = optional.get(name, "REQUIRED: the worker cannot run")
        print(f"  {name:13s} MISSING ({type(e).__name__}: {e}) -- {why}; no network here, cannot pip install")
        if name in need:
            missing.append(name)
if missing:
    sys.exit(3)
import torch
print("  torch cuda build", torch.version.cuda, "| cuda available:", torch.cuda.is_available())
if device.startswith("cuda"):
    if not torch.cuda.is_available():
        print("REQUIRED: CUDA is not available to torch"); sys.exit(4)
    i = torch.cuda.current_device()
    free, total = torch.cuda.mem_get_info(i)
    p = torch.cuda.get_device_properties(i)
    print(f"  gpu {p.name} cc {p.major}.{p.minor} {p.multi_processor_count} SMs, "
          f"{total / 2**30:.1f} GiB ({free / 2**30:.1f} free), bf16 {torch.cuda.is_bf16_supported()}")
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    y = x @ x  # cuBLAS warms up
    torch.cuda.synchronize()
    import time
    t = time.perf_counter()
    for _ in range(20):
        y = x @ x
    torch.cuda.synchronize()
    print(f"  bf16 matmul 4096^3: {20 * 2 * 4096**3 / (time.perf_counter() - t) / 1e12:.0f} TFLOP/s")
import twig_janus.model  # noqa: F401 - the package imports with these versions
print("  twig_janus imports: ok")
EOF
}

pytest_step() {
  if ! "$PY" -c "import pytest" 2>/dev/null; then
    echo "pytest is not installed for $PY: cannot run the suite (no network here)" | tee "$OUT/pytest-cuda.log"
    return 5
  fi
  echo "pytest inference/janus/tests with TWIG_JANUS_DEVICE=$DEVICE ${GPU_CHECK_PYTEST_ARGS:-}"
  # shellcheck disable=SC2086
  TWIG_JANUS_DEVICE=$DEVICE "$PY" -m pytest -q -p no:cacheprovider -ra --durations=15 \
    inference/janus/tests ${GPU_CHECK_PYTEST_ARGS:-} >"$OUT/pytest-cuda.log" 2>&1
  local rc=$?
  tail -n 25 "$OUT/pytest-cuda.log"
  return $rc
}

bench_step() { # bench_step MODEL FILE
  # shellcheck disable=SC2086
  "$PY" -m twig_janus.bench --model "$1" --device "$DEVICE" --batch $BATCHES --repeats 1 >"$2"
  local rc=$?
  cat "$2"
  return $rc
}

http_step() { # the worker in the background, the load test against it (runs under set +e)
  local secs=$1 rc
  stop_server
  "$PY" -m twig_janus --model "$MODEL_7B" --device "$DEVICE" --listen "127.0.0.1:$PORT" \
    --max-batch 64 --max-wait-ms "$MAX_WAIT_MS" >"$OUT/server-7b.log" 2>&1 &
  SERVER_PID=$!
  echo "worker pid $SERVER_PID on 127.0.0.1:$PORT (max-batch 64, max-wait-ms $MAX_WAIT_MS)"
  run_limited "$secs" "$PY" -m twig_janus.loadtest --url "http://127.0.0.1:$PORT" --images "$IMAGES" --bands 3 \
    --cfg 5 --thought-chars 25 --wait "$secs" --wait-pid "$SERVER_PID" --expect-image-size 384 \
    --out "$OUT/http-7b.json" >/dev/null
  rc=$?
  stop_server
  "$PY" - "$OUT/http-7b.json" <<'EOF' || true
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("no report:", e); sys.exit()
keys = ["ok", "error", "model", "completed_images", "error_count", "wall_seconds", "images_per_second",
        "text_tokens_mean_by_band", "input_tokens_mean_by_band", "generate_latency_s_by_band", "decode_latency_s", "checks", "errors"]
for k in keys:
    if k in r:
        print(f"  {k}: {json.dumps(r[k])}")
if "stats_after" in r:
    print("  generate batch sizes:", r["stats_after"].get("batch_sizes"),
          "| decode batch sizes:", r["stats_after"].get("decode", {}).get("batch_sizes"))
EOF
  tail -n 5 "$OUT/server-7b.log"
  return $rc
}

summarize() {
  echo
  echo "== summary (device $DEVICE, $((SECONDS - T0))s of the ${BUDGET}s budget)"
  printf '%s\n' "${SUMMARY[@]}"
  "$PY" - "$OUT" <<'EOF' 2>/dev/null || true
import json, os, sys
out = sys.argv[1]
for name in ("bench-7b.jsonl", "bench-1b.jsonl"):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        continue
    print(f"{name}:")
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "batch" in r:
            print(f"  batch {r['batch']:3d}: {r['images_per_second']:7.3f} images/s, {r['seconds_per_band']:6.2f} s/band,"
                  f" last band {r['positions_last_band']} positions, peak {r.get('peak_gpu_memory_gib', '-')} GiB")
        else:
            print("  " + json.dumps(r))
path = os.path.join(out, "http-7b.json")
if os.path.exists(path):
    r = json.load(open(path))
    print(f"http-7b.json: ok={r.get('ok')} images={r.get('completed_images')}/{r.get('images')} "
          f"images/s={r.get('images_per_second')} wall={r.get('wall_seconds')}s "
          f"max_wait_ms={r.get('info', {}).get('max_wait_ms')} "
          f"generate batches={r.get('stats_after', {}).get('batch_sizes')} "
          f"decode_png={r.get('checks', {}).get('decode_png', {}).get('ok')} "
          f"encode_png={r.get('checks', {}).get('encode_png', {}).get('ok')} {r.get('error', '')}")
EOF
}

export -f run_limited env_check pytest_step bench_step
export PY OUT DEVICE BATCHES HAVE_TIMEOUT SMOKE BUDGET GPU_CHECK_PYTEST_ARGS="${GPU_CHECK_PYTEST_ARGS:-}"

main() {
  local env_ok=1
  trap 'stop_server' EXIT  # main runs in a subshell (piped into tee): the worker is its child
  note "twig janus GPU check: device $DEVICE, models $MODEL_7B / $MODEL_1B, batches $BATCHES, images $IMAGES"
  [ "$HAVE_TIMEOUT" = 1 ] || echo "WARNING: no 'timeout' command: the steps run without time limits"
  step env 60 10 env_check
  [[ "${SUMMARY[-1]}" == *" ok ("* ]] || env_ok=0
  if [ "$env_ok" = 1 ]; then
    step pytest 120 30 pytest_step
    step bench 180 60 bench_step "$MODEL_7B" "$OUT/bench-7b.jsonl"
    own_step http 170 60 ", plus up to 15s to stop the worker" http_step
    step bench1b 150 80 bench_step "$MODEL_1B" "$OUT/bench-1b.jsonl"
  else
    record rest "SKIPPED: the environment check failed (see above): missing packages or no CUDA"
  fi
  summarize | tee "$OUT/summary.txt"
  case "${SUMMARY[*]}" in *FAILED*|*TIMEOUT*|*"SKIPPED: the environment"*) return 1 ;; esac
  return 0
}

set +e
main 2>&1 | tee "$OUT/gpu-check.log"
rc=${PIPESTATUS[0]}
exit "$rc"
