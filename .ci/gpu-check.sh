#!/usr/bin/env bash
# GPU checks of the Python reference worker (inference/janus) on a GPU machine
# with no network and no weights. Run from the repository root:
#
#   OUT=/some/dir bash .ci/gpu-check.sh MODE...
#
# with a python3 that already has torch (CUDA), transformers (>= 5.17),
# tokenizers, safetensors, numpy, pillow and pytest; nothing is installed.
# Not part of .ci/run. MODE is one or more of these, run in this order:
#
#   generate  image generation speed: the whole janus test suite on the GPU,
#             the bench of random:janus-pro-7b (and -1b if time is left), the
#             worker's capacity over HTTP                         budget 420 s
#   graphs    CUDA graphs against eager decoding, and SIGTERM under load:
#             the graph and CLI tests on the GPU, the 7B bench with and
#             without --cuda-graphs, the worker with graphs over HTTP and
#             a SIGTERM while a batch runs                         budget 230 s
#   chat      understanding speed: text tokens per second of
#             /v1/chat/completions for a thought's call and a critique's
#                                                                  budget 200 s
#   loop      whole trajectories per second when one worker does
#             everything (thinks, paints, critiques, judges), driven by
#             `twig run` itself; needs a twig binary (below)      budget 280 s
#   all       generate graphs chat loop
#
# One environment step runs first, whatever the modes. Steps, each under its
# own time limit, each run whatever the steps before it did (the summary at
# the end says which did what):
#
#   env          nvidia-smi, package versions, CUDA, a bf16 matmul,
#                the twig binary (loop)                                -> gpu-check.log
#   generate:
#   pytest       the janus test suite with TWIG_JANUS_DEVICE=cuda      -> pytest-cuda.log
#   bench        python -m twig_janus.bench, random:janus-pro-7b,
#                batches 1 8 32 64, three bands of 192 tokens, cfg 5   -> bench-7b.jsonl
#   http         the worker (python -m twig_janus) with random:janus-pro-7b,
#                64 concurrent clients painting an image each in three
#                bands (generate + decode per band, as twig calls it),
#                then a decode/encode check of a 384x384 PNG            -> http-7b.json, server-7b.log
#   bench1b      the same bench with random:janus-pro-1b               -> bench-1b.jsonl
#   graphs:
#   pytest-graphs  tests/test_graphs.py (graph vs eager tokens; CUDA-only
#                tests run here) and tests/test_cli.py (SIGTERM/SIGINT:
#                idle, mid-batch, abandoned batch, while loading)      -> pytest-graphs.log
#   graphs       the 7B bench with --cuda-graphs, batches 1 64 (each batch
#                size's bands run once untimed first: graph captures)  -> bench-7b-graphs.jsonl
#   eager        the same bench without graphs (the baseline, same
#                machine and run)                                      -> bench-7b-eager.jsonl
#   http-graphs  the worker with --cuda-graphs, the HTTP load test with 32
#                clients (3 bands, generate + decode), then 8 generate
#                calls and SIGTERM while they run: seconds to exit,
#                exit status                                           -> http-7b-graphs.json,
#                                                                         server-7b-graphs.log, sigterm.json
#   chat:
#   chat-think   python -m twig_janus.bench --chat, random:janus-pro-7b,
#                batches 1 32, best of 2: a thought's call (no image,
#                200 text tokens, answers of exactly 48 tokens)         -> chat-bench-7b.jsonl
#   chat-crit    the same for a critique's call (one 384 px image =
#                576 image tokens, 250 text tokens, answers of 96)     -> chat-bench-7b.jsonl
#   loop:
#   loop         the worker (random:janus-pro-7b, --max-batch 64
#                --chat-max-batch 32 --chat-answer-tokens 48) and
#                `twig run --builtin N` against it as generator, thinker,
#                critic and VLM judge, --concurrency 64: trajectories
#                per second = seeded / twig's time, the worker's
#                /v1/stats before and after                            -> loop.json, loop.log,
#                                                                         server-loop.log, loop/ (the version's
#                                                                         small files; the shards stay behind)
#   summary      what ran, how long, the headline numbers              -> summary.txt
#
# random:janus-pro-7b is the full Janus-Pro-7B architecture with random
# weights built on the device (inference/janus/twig_janus/random_model.py):
# the real speed, images of noise, text that means nothing. Its tokenizer is
# byte-level, so the benches size prefixes and prompts in tokens, and the HTTP
# clients send 25-character thoughts (25 tokens there, like a 20-word thought
# in Janus's tokenizer). In the loop twig's instructions (think-v2,
# critique-v2, judge-v1) cost one token per byte, about 4 to 5 times what
# Janus's tokenizer makes of them, so the loop's prefills are longer than the
# real model's (loop.json reports the tokens per call the worker counted). A
# random model never ends an answer, so the loop's worker runs with
# --chat-answer-tokens 48: every answer is exactly 48 tokens of visible text
# ending with a forced end of sentence (twig counts a thought cut by
# max_tokens as a failure). Random answers fail every critique parse (one
# retry each) and every judge: the samples end rejected, which is expected; a
# failed sample is not (the loop step then fails; see loop.log and
# loop/failed/).
#
# The HTTP steps' worker waits up to 2 s to fill a batch (--max-wait-ms 2000,
# not the worker's default 20): the clients move in lockstep and their next
# calls arrive over the second or two the codec takes to decode and
# PNG-encode 64 canvases, 8 at a time; a batch runs as soon as it is full, so
# a long wait costs nothing when they all come, and gathers a band into one
# batch: the number is the worker's capacity over HTTP. With 20 ms a band
# splits into a small batch and a large one queued behind it. The loop's
# worker keeps the default 20 ms: twig's calls arrive spread out.
#
# The loop needs a twig binary: TWIG_BIN=/path/to/twig, or by default
# .ci/bin/twig.xz (git-ignored: build it with
#
#   CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -ldflags='-s -w' -o /tmp/twig ./cmd/twig &&
#     mkdir -p .ci/bin && xz -9 -c /tmp/twig > .ci/bin/twig.xz
#
# and carry .ci/bin to the GPU machine). Without either the loop step is
# skipped, says how to build it, and the check fails.
#
# The whole run stays under GPU_CHECK_BUDGET_S (by default the sum of the
# modes' budgets above: 1130 s for all, so run the modes one at a time where
# a command may take 10 minutes at most): every step gets min(its own limit,
# the time left), a step that does not fit is skipped. Add the kill grace of
# the last step (up to about 25 s).
#
# Knobs (environment): OUT (default $TMPDIR/twig-gpu-check), PYTHON (python3),
# TWIG_BIN, GPU_CHECK_DEVICE (cuda), GPU_CHECK_BUDGET_S, GPU_CHECK_PORT (8420),
# GPU_CHECK_BATCHES (generate: "1 8 32 64"; graphs: "1 64", and "1 32 64"
# takes about 25 s more), GPU_CHECK_IMAGES (HTTP clients; generate 64, graphs
# 32), GPU_CHECK_MAX_WAIT_MS (generate and graphs 2000, loop 20; 20 measures
# the worker's default), GPU_CHECK_CHAT_BATCHES ("1 32"),
# GPU_CHECK_LOOP_PROMPTS (64: twig's --builtin), GPU_CHECK_LOOP_CONCURRENCY
# (64), GPU_CHECK_ANSWER_TOKENS (48), GPU_CHECK_LOOP_GRAPHS (0; 1 adds
# --cuda-graphs to the loop's worker), GPU_CHECK_PYTEST_ARGS (extra pytest
# arguments), GPU_CHECK_SKIP (steps to skip by name, e.g. "bench1b eager"),
# GPU_CHECK_MODEL_7B / GPU_CHECK_MODEL_1B (what the steps load instead, e.g.
# a local checkpoint folder; the file names stay).
#
# GPU_CHECK_SMOKE=1 runs the same flow on a CPU, a minute or two per mode:
# device cpu, the architectures shrunk to 1 layer of width 64 (same 384 px
# geometry), batches "1 2", 2 HTTP clients, chat prompts of 40 tokens, a loop
# of 2 prompts. CUDA graphs cannot run there, so the graph steps run eagerly
# (the worker and the bench log "cuda graphs need a CUDA device ...: decoding
# eagerly", the bench's head line says "cuda_graphs": false) and the CUDA-only
# tests are skipped. This is how the script itself is tested; its numbers
# mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: OUT=DIR bash .ci/gpu-check.sh MODE...   (MODE: generate graphs chat loop all; see the header)" >&2
  exit 2
}

# The modes, in run order, each once.
MODES=""
[ "$#" -gt 0 ] || usage
for arg in "$@"; do
  case $arg in
    all) MODES=" generate graphs chat loop " ;;
    generate|graphs|chat|loop) [[ "$MODES" == *" $arg "* ]] || MODES="${MODES:- }$arg " ;;
    -h|--help) usage ;;
    *) echo "unknown mode: $arg" >&2; usage ;;
  esac
done
ORDERED=""
for m in generate graphs chat loop; do
  [[ "$MODES" == *" $m "* ]] && ORDERED="$ORDERED $m"
done
MODES="$ORDERED "
MODE_NAMES=${ORDERED# }
has_mode() { [[ "$MODES" == *" $1 "* ]]; }

PY=${PYTHON:-python3}
OUT=${OUT:-${TMPDIR:-/tmp}/twig-gpu-check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SMOKE=${GPU_CHECK_SMOKE:-0}
PORT=${GPU_CHECK_PORT:-8420}
SKIP=" ${GPU_CHECK_SKIP:-} "
default_budget=0
has_mode generate && default_budget=$((default_budget + 420))
has_mode graphs && default_budget=$((default_budget + 230))
has_mode chat && default_budget=$((default_budget + 200))
has_mode loop && default_budget=$((default_budget + 280))
BUDGET=${GPU_CHECK_BUDGET_S:-$default_budget}
ANSWER_TOKENS=${GPU_CHECK_ANSWER_TOKENS:-48}
LOOP_GRAPHS=${GPU_CHECK_LOOP_GRAPHS:-0}
LOOP_MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-20}
if [ "$SMOKE" = 1 ]; then
  DEVICE=${GPU_CHECK_DEVICE:-cpu}
  SHRINK=",layers=1,hidden=64,heads=2,intermediate=128,vision_layers=1,vq_channels=32"
  GEN_BATCHES=${GPU_CHECK_BATCHES:-1 2}
  GRAPH_BATCHES=${GPU_CHECK_BATCHES:-1 2}
  GEN_IMAGES=${GPU_CHECK_IMAGES:-2}
  GRAPH_IMAGES=${GPU_CHECK_IMAGES:-2}
  HTTP_MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-20}  # 2 clients never fill a batch of 64
  CHAT_BATCHES=${GPU_CHECK_CHAT_BATCHES:-1 2}
  THINK_PROMPT=40 THINK_ANSWER=12 CRIT_PROMPT=40 CRIT_ANSWER=16 CHAT_REPEATS=1
  LOOP_PROMPTS=${GPU_CHECK_LOOP_PROMPTS:-2}
  LOOP_CONCURRENCY=${GPU_CHECK_LOOP_CONCURRENCY:-4}
  WORKER_MAX_BATCH=4 WORKER_CHAT_MAX_BATCH=4
  # One thread: torch's OpenMP threads spin, and slow down many times over on
  # a small machine that is busy with something else.
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
  DEVICE=${GPU_CHECK_DEVICE:-cuda}
  SHRINK=""
  GEN_BATCHES=${GPU_CHECK_BATCHES:-1 8 32 64}
  GRAPH_BATCHES=${GPU_CHECK_BATCHES:-1 64}
  GEN_IMAGES=${GPU_CHECK_IMAGES:-64}
  GRAPH_IMAGES=${GPU_CHECK_IMAGES:-32}
  HTTP_MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-2000}
  CHAT_BATCHES=${GPU_CHECK_CHAT_BATCHES:-1 32}
  THINK_PROMPT=200 THINK_ANSWER=48 CRIT_PROMPT=250 CRIT_ANSWER=96 CHAT_REPEATS=2  # best of 2
  LOOP_PROMPTS=${GPU_CHECK_LOOP_PROMPTS:-64}
  LOOP_CONCURRENCY=${GPU_CHECK_LOOP_CONCURRENCY:-64}
  WORKER_MAX_BATCH=64 WORKER_CHAT_MAX_BATCH=32
fi
MODEL_7B=${GPU_CHECK_MODEL_7B:-random:janus-pro-7b$SHRINK}
MODEL_1B=${GPU_CHECK_MODEL_1B:-random:janus-pro-1b$SHRINK}
# Scratch space outside OUT (OUT comes back from the GPU machine): the
# unpacked twig binary (about 110 MB) and the loop's dataset (about 1 MB per
# trajectory). Removed at exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/twig-gpu-check.XXXXXX")

export PYTHONPATH="$PWD/inference/janus${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

# The time budget and the steps that run under it.

T0=$SECONDS
SUMMARY=()
SERVER_PID=""

left() { echo $((BUDGET - (SECONDS - T0))); }
note() { echo "== [$((SECONDS - T0))s] $*"; }
record() { SUMMARY+=("$(printf '%-13s %s' "$1" "$2")"); note "$1: $2"; }

if command -v timeout >/dev/null 2>&1; then HAVE_TIMEOUT=1; else HAVE_TIMEOUT=0; fi

# limit CAP MIN: the seconds a step may take (its cap, or the time left), or
# nothing when less than MIN seconds are left.
limit() {
  local cap=$1 min=$2 l
  l=$(left)
  if [ "$l" -lt "$min" ]; then return 1; fi
  if [ "$l" -lt "$cap" ]; then echo "$l"; else echo "$cap"; fi
}

# run_limited SECONDS CMD...: CMD under a time limit; its exit status (124 or
# 137 when the limit killed it).
run_limited() {
  local secs=$1; shift
  if [ "$HAVE_TIMEOUT" = 1 ]; then
    timeout --signal=TERM --kill-after=5 "$secs" "$@"
  else
    "$@"
  fi
}

# step NAME CAP MIN CMD...: runs CMD, records ok / FAILED / TIMEOUT / SKIPPED.
step() { _step "" "$@"; }

# own_step NAME CAP MIN NOTE FUNC: the same for a function that keeps its own
# limits (a worker in the background to stop): FUNC runs in this shell with
# the step's limit less 5 s as its argument; NOTE is added to the start line.
own_step() { local note=$4; _step "$note" "$1" "$2" "$3" "${@:5}"; }

_step() {
  local own=$1 name=$2 cap=$3 min=$4; shift 4
  local secs t rc
  if [[ "$SKIP" == *" $name "* ]]; then record "$name" "SKIPPED (GPU_CHECK_SKIP)"; return 0; fi
  if ! secs=$(limit "$cap" "$min"); then
    record "$name" "SKIPPED (only $(left)s of the ${BUDGET}s budget left, needs ${min}s)"; return 0
  fi
  note "$name: start (limit ${secs}s${own})"
  t=$SECONDS
  set +e
  if [ -n "$own" ]; then
    "$@" "$((secs - 5))"
  else
    # A bash running the (exported) function: timeout signals its whole process group.
    run_limited "$secs" bash -c '"$@"' "$name" "$@"
  fi
  rc=$?
  set -e
  case $rc in
    0) record "$name" "ok ($((SECONDS - t))s)" ;;
    124|137) record "$name" "TIMEOUT after $((SECONDS - t))s (limit ${secs}s)" ;;
    *) record "$name" "FAILED rc=$rc ($((SECONDS - t))s)" ;;
  esac
  return 0
}

# The worker.

# start_worker LOG FLAGS...: the worker with random:janus-pro-7b (or
# GPU_CHECK_MODEL_7B) in the background on 127.0.0.1:$PORT.
start_worker() {
  local log=$1; shift
  stop_server
  "$PY" -m twig_janus --model "$MODEL_7B" --device "$DEVICE" --listen "127.0.0.1:$PORT" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  echo "worker pid $SERVER_PID on 127.0.0.1:$PORT ($*)"
}

# stop_server [JSON]: SIGTERM, then up to 20 s in steps of 0.1 s, then
# SIGKILL. With JSON, writes there how it went: seconds to exit, exit status.
stop_server() {
  local pid=$SERVER_PID json=${1:-} t0 t1 rc=0 how=exited
  SERVER_PID=""
  [ -n "$pid" ] || return 0
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || rc=$?; echo "worker $pid had already exited (rc $rc)"; return 0; fi
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "worker $pid did not stop within 20s of SIGTERM: SIGKILL"
    how=SIGKILL
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  t1=$(date +%s.%N)
  if [ -z "$json" ]; then
    echo "worker $pid stopped in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s (exit status $rc, $how)"
    return 0
  fi
  "$PY" - "$t0" "$t1" "$rc" "$how" "$json" <<'EOF'
import json, sys
t0, t1, rc, how, path = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
r = {"seconds_to_exit": round(t1 - t0, 2), "exit_status": rc, "how": how, "ok": how == "exited" and rc == 0}
json.dump(r, open(path, "w"))
print("SIGTERM:", json.dumps(r))
EOF
}

cleanup() {
  stop_server
  rm -rf "$WORK"
}

# The twig binary (loop).

BUILD_HINT="CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -ldflags='-s -w' -o /tmp/twig ./cmd/twig && mkdir -p .ci/bin && xz -9 -c /tmp/twig > .ci/bin/twig.xz (then carry .ci/bin)"

# find_twig: sets TWIG to a runnable twig binary, or leaves it empty and says why.
TWIG=""
find_twig() {
  if [ -n "${TWIG_BIN:-}" ]; then
    if [ -x "$TWIG_BIN" ]; then TWIG=$TWIG_BIN; else echo "TWIG_BIN=$TWIG_BIN is not an executable file"; return 0; fi
  elif [ -f .ci/bin/twig.xz ]; then
    if command -v xz >/dev/null 2>&1; then
      xz -dc .ci/bin/twig.xz >"$WORK/twig" || { echo "xz -dc .ci/bin/twig.xz failed"; return 0; }
    else  # no xz here: Python's lzma reads it too
      "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
        .ci/bin/twig.xz "$WORK/twig" || { echo "cannot unpack .ci/bin/twig.xz (no xz, python lzma failed)"; return 0; }
    fi
    chmod +x "$WORK/twig"
    TWIG=$WORK/twig
  else
    echo "no twig binary: set TWIG_BIN, or build .ci/bin/twig.xz: $BUILD_HINT"
    return 0
  fi
  if ! "$TWIG" version >/dev/null 2>&1; then
    echo "$TWIG does not run here ($(file -b "$TWIG" 2>/dev/null || echo '?')): rebuild it for linux/amd64: $BUILD_HINT"
    TWIG=""
  fi
}

# Steps.

env_check() {
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  cpus: $(nproc 2>/dev/null || echo ?)"
  echo "repo: $PWD  OUT: $OUT  modes $MODE_NAMES, device: $DEVICE  smoke: $SMOKE  budget: ${BUDGET}s"
  if command -v nvidia-smi >/dev/null 2>&1; then
    run_limited 30 nvidia-smi || echo "nvidia-smi failed"
    run_limited 30 nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm,power.limit,driver_version \
      --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  if [[ "$MODES" == *" loop "* ]]; then
    if [ -n "$TWIG" ]; then echo "twig: $("$TWIG" version 2>&1 | head -n 1) ($TWIG)"; else echo "twig: none (the loop step is skipped)"; fi
  fi
  command -v "$PY" >/dev/null 2>&1 || { echo "MISSING: $PY (set PYTHON=...)"; return 3; }
  run_limited 120 "$PY" - "$DEVICE" <<'EOF'
import importlib, platform, sys
device = sys.argv[1]
print("python", sys.version.split()[0], platform.platform())
need = ["torch", "transformers", "tokenizers", "safetensors", "numpy", "PIL"]
optional = {"pytest": "the pytest steps fail",
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
# The packages import with these versions.
import twig_janus.chat  # noqa: F401
import twig_janus.decode  # noqa: F401
import twig_janus.model  # noqa: F401
print("  twig_janus imports: ok")
EOF
}

pytest_step() { # LOG TESTS...: pytest on $DEVICE
  local log=$1 rc; shift
  if ! "$PY" -c "import pytest" 2>/dev/null; then
    echo "pytest is not installed for $PY: cannot run the tests (no network here)" | tee "$log"
    return 5
  fi
  echo "pytest $* with TWIG_JANUS_DEVICE=$DEVICE ${GPU_CHECK_PYTEST_ARGS:-}"
  # shellcheck disable=SC2086
  TWIG_JANUS_DEVICE=$DEVICE "$PY" -m pytest -q -p no:cacheprovider -ra --durations=15 \
    "$@" ${GPU_CHECK_PYTEST_ARGS:-} >"$log" 2>&1
  rc=$?
  tail -n 30 "$log"
  return $rc
}

bench_step() { # MODEL FILE BATCHES EXTRA-FLAGS...: the image generation bench
  local model=$1 file=$2 batches=$3 rc; shift 3
  # shellcheck disable=SC2086
  "$PY" -m twig_janus.bench --model "$model" --device "$DEVICE" --batch $batches --repeats 1 "$@" >"$file"
  rc=$?
  cat "$file"
  if [ "$DEVICE" = cpu ] && [[ " $* " == *" --cuda-graphs "* ]]; then
    echo "NOTE: on a CPU --cuda-graphs falls back to eager decoding (see the head line's \"cuda_graphs\": false)"
  fi
  return $rc
}

# load_test SECONDS IMAGES JSON: the HTTP load test against the worker,
# then its headline numbers.
load_test() {
  local secs=$1 images=$2 json=$3 rc
  run_limited "$secs" "$PY" -m twig_janus.loadtest --url "http://127.0.0.1:$PORT" --images "$images" --bands 3 \
    --cfg 5 --thought-chars 25 --wait "$secs" --wait-pid "$SERVER_PID" --expect-image-size 384 \
    --out "$json" >/dev/null
  rc=$?
  "$PY" - "$json" <<'EOF' || true
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
  return $rc
}

http_step() { # SECONDS: the worker in the background, the load test against it (runs under set +e)
  local secs=$1 rc
  start_worker "$OUT/server-7b.log" --max-batch 64 --max-wait-ms "$HTTP_MAX_WAIT_MS"
  load_test "$secs" "$GEN_IMAGES" "$OUT/http-7b.json"
  rc=$?
  stop_server
  tail -n 5 "$OUT/server-7b.log"
  return $rc
}

http_graphs_step() { # SECONDS: the worker with --cuda-graphs, the load test, then SIGTERM under load
  local secs=$1 rc
  rm -f "$OUT/sigterm.json"
  start_worker "$OUT/server-7b-graphs.log" --max-batch 64 --max-wait-ms "$HTTP_MAX_WAIT_MS" --cuda-graphs
  load_test "$secs" "$GRAPH_IMAGES" "$OUT/http-7b-graphs.json"
  rc=$?
  # 8 more generate calls (192 tokens each), then SIGTERM while their batch runs.
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    "$PY" - "$PORT" <<'EOF' &
import http.client, json, sys, threading
def call(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
        c.request("POST", "/v1/generate", json.dumps({"prefix": f"late call {i}", "n": 192, "seed": i}))
        r = c.getresponse(); r.read()
        print(f"late call {i}: {r.status}")
    except Exception as e:  # noqa: BLE001
        print(f"late call {i}: {type(e).__name__}: {e}")
ts = [threading.Thread(target=call, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
EOF
    local late=$!
    sleep 2.5  # max-wait-ms 2000 gathers them, then the batch runs
    echo "SIGTERM with a batch of 8 calls running (or about to)"
    stop_server "$OUT/sigterm.json"
    wait "$late" 2>/dev/null || true
  else
    echo "the worker is not running: no SIGTERM test"
    stop_server
  fi
  tail -n 12 "$OUT/server-7b-graphs.log"
  grep -q '"ok": true' "$OUT/sigterm.json" 2>/dev/null || { echo "SIGTERM check failed (see sigterm.json)"; [ "$rc" != 0 ] || rc=6; }
  return $rc
}

chat_step() { # CASE IMAGES PROMPT-TOKENS ANSWER-TOKENS: one bench run, its rows appended to chat-bench-7b.jsonl
  local case=$1 images=$2 prompt=$3 answer=$4 rc
  # shellcheck disable=SC2086
  "$PY" -m twig_janus.bench --model "$MODEL_7B" --device "$DEVICE" --chat --batch $CHAT_BATCHES --repeats "$CHAT_REPEATS" \
    --chat-images "$images" --chat-prompt-tokens "$prompt" --chat-answer-tokens "$answer" >"$OUT/chat-bench-$case.jsonl"
  rc=$?
  cat "$OUT/chat-bench-$case.jsonl"
  "$PY" - "$case" "$OUT/chat-bench-$case.jsonl" "$OUT/chat-bench-7b.jsonl" <<'EOF' || true
import json, sys
case, src, dst = sys.argv[1:]
with open(dst, "a") as out:
    for line in open(src):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        out.write(json.dumps({"case": case, **r}) + "\n")
EOF
  return $rc
}

loop_step() { # SECONDS: the worker in the background, twig run against it (runs under set +e)
  local secs=$1 rc t0=$SECONDS left_s model
  local graphs=()
  [ "$LOOP_GRAPHS" = 1 ] && graphs=(--cuda-graphs)
  start_worker "$OUT/server-loop.log" --max-batch "$WORKER_MAX_BATCH" --chat-max-batch "$WORKER_CHAT_MAX_BATCH" \
    --max-wait-ms "$LOOP_MAX_WAIT_MS" --chat-answer-tokens "$ANSWER_TOKENS" "${graphs[@]}"
  # Wait for /healthz 200 (the port opens at once, 503 until the model is built); save /v1/info and /v1/stats.
  if ! "$PY" - "$PORT" "$SERVER_PID" "$((secs / 2))" "$OUT/loop-info.json" "$OUT/loop-stats-before.json" <<'EOF'
import http.client, json, os, sys, time
port, pid, wait, info_path, stats_path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()
t0 = time.monotonic()
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        print("the worker exited while loading (see server-loop.log)"); sys.exit(1)
    try:
        if get("/healthz")[0] == 200:
            break
    except OSError:
        pass
    if time.monotonic() - t0 > wait:
        print(f"the worker was not ready after {wait:.0f}s"); sys.exit(1)
    time.sleep(0.5)
print(f"worker ready after {time.monotonic() - t0:.1f}s")
for path, out in (("/v1/info", info_path), ("/v1/stats", stats_path)):
    status, body = get(path)
    open(out, "wb").write(body)
    if status != 200:
        print(f"{path}: {status} {body[:200]!r}"); sys.exit(1)
info = json.load(open(info_path))
print("info:", json.dumps(info))
if not info.get("chat"):
    print("the worker serves no chat (understanding): the loop cannot run"); sys.exit(1)
EOF
  then
    stop_server
    tail -n 20 "$OUT/server-loop.log"
    return 1
  fi
  model=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"])' "$OUT/loop-info.json")
  left_s=$((secs - (SECONDS - t0) - 25))  # 25 s kept for the stats, stopping the worker and the report
  if [ "$left_s" -lt 20 ]; then echo "no time left for twig run"; stop_server; return 1; fi
  rm -rf "$WORK/loop"
  local cmd=("$TWIG" run --out "$WORK/loop" --builtin "$LOOP_PROMPTS" --generator "http://127.0.0.1:$PORT"
             --teacher "http://127.0.0.1:$PORT/v1" --teacher-model "$model" --concurrency "$LOOP_CONCURRENCY"
             --reason-max-tokens 512 --teacher-timeout 4m --generator-timeout 4m --progress-every 10s)
  echo "twig run (limit ${left_s}s): ${cmd[*]}"
  local t1 t2
  t1=$(date +%s.%N)
  run_limited "$left_s" "${cmd[@]}" >"$OUT/loop.log" 2>&1
  rc=$?
  t2=$(date +%s.%N)
  tail -n 25 "$OUT/loop.log"
  "$PY" - "$PORT" "$OUT/loop-stats-after.json" <<'EOF' || true
import http.client, sys
try:
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    c.request("GET", "/v1/stats")
    open(sys.argv[2], "wb").write(c.getresponse().read())
except Exception as e:  # noqa: BLE001
    print("cannot read /v1/stats after the run:", e)
EOF
  stop_server
  grep -E "WARNING|ERROR|out of memory|Traceback" "$OUT/server-loop.log" | tail -n 8 || true
  tail -n 4 "$OUT/server-loop.log"
  # The version's small files (manifest, stats, README, failed/ shards) come back; the shards stay behind.
  local ver
  ver=$(find "$WORK/loop" -name manifest.json -printf '%h\n' 2>/dev/null | head -n 1)
  if [ -n "$ver" ]; then
    mkdir -p "$OUT/loop"
    (cd "$ver" && find . -type f -size -4M -print0 | xargs -0 -r cp --parents -t "$OUT/loop") || true
  fi
  "$PY" - "$OUT" "$rc" "$t1" "$t2" "$ver" "$LOOP_PROMPTS" "$LOOP_CONCURRENCY" "$ANSWER_TOKENS" <<'EOF'
import json, os, re, sys
out, rc, t1, t2, ver, prompts, conc, answer = sys.argv[1:]
log = open(os.path.join(out, "loop.log"), errors="replace").read()
r = {"twig_exit_status": int(rc), "builtin_prompts": int(prompts), "concurrency": int(conc),
     "chat_answer_tokens": int(answer), "wall_seconds": round(float(t2) - float(t1), 2)}
for key in ("seeded", "accepted", "rejected", "failed"):
    m = re.search(rf"^{key}:\s+(\d+)", log, re.M)
    if m:
        r[key] = int(m.group(1))
def go_duration(s):  # Go's time.Duration.String(): 1h2m3.5s, 14.612s, 950ms
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(h|ms|us|µs|ns|m|s)", s)
    return sum(float(v) * units[u] for v, u in parts) if parts else None
m = re.search(r"^time:\s+(\S+)", log, re.M)
if m:
    r["twig_time"], r["seconds"] = m.group(1), round(go_duration(m.group(1)), 3)
if r.get("seeded") and r.get("seconds"):
    r["trajectories_per_second"] = round(r["seeded"] / r["seconds"], 4)
    r["seconds_per_trajectory"] = round(r["seconds"] / r["seeded"], 3)
# The last progress line (every 10 s): the rate so far, when the run did not finish.
prog = re.findall(r"progress: (\d+)/(\d+) trajectories \([^)]*\), ([0-9.]+)/s, elapsed (\S+?),", log)
if prog:
    done, total, rate, el = prog[-1]
    r["last_progress"] = {"done": int(done), "seeded": int(total), "per_second": float(rate),
                          "elapsed_seconds": go_duration(el)}
m = re.search(r"^regions:\s+(.*)$", log, re.M)
if m:
    r["regions"] = m.group(1).strip()
m = re.search(r"^metrics:\s+(.*)$", log, re.M)
if m:
    r["metrics"] = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
m = re.search(r"trajectory_ms mean (\d+) min (\d+) max (\d+)", log)
if m:
    r["trajectory_ms"] = {"mean": int(m.group(1)), "min": int(m.group(2)), "max": int(m.group(3))}
if ver and os.path.exists(os.path.join(ver, "stats.json")):
    r["stats"] = json.load(open(os.path.join(ver, "stats.json")))
for name in ("info", "stats-before", "stats-after"):
    p = os.path.join(out, f"loop-{name}.json")
    try:
        r["worker_" + name.replace("-", "_")] = json.load(open(p))
    except Exception:  # noqa: BLE001
        pass
a, b = r.get("worker_stats_after"), r.get("worker_stats_before") or {}
if a:
    def delta(kind):
        x = a if kind == "generate" else a.get(kind, {})
        y = b if kind == "generate" else b.get(kind, {})
        sizes = {k: v - (y.get("batch_sizes") or {}).get(k, 0) for k, v in (x.get("batch_sizes") or {}).items()}
        calls = x.get("calls", 0) - y.get("calls", 0)
        batches = x.get("batches", 0) - y.get("batches", 0)
        return {"calls": calls, "batches": batches, "mean_batch_size": round(calls / batches, 2) if batches else 0,
                "batch_sizes": {k: v for k, v in sizes.items() if v}}
    r["during_run"] = {k: delta(k) for k in ("generate", "chat", "decode", "encode")}
    if r.get("seeded"):
        r["chat_calls_per_trajectory"] = round(r["during_run"]["chat"]["calls"] / r["seeded"], 2)
        r["generate_calls_per_trajectory"] = round(r["during_run"]["generate"]["calls"] / r["seeded"], 2)
failed = r.get("failed")
r["ok"] = int(rc) == 0 and failed == 0 and bool(r.get("seeded"))
if failed:
    r["error"] = f"{failed} failed samples (see loop.log and loop/failed/)"
elif int(rc) != 0:
    r["error"] = f"twig run exited {rc}" + (" (time limit)" if rc in ("124", "137") else "")
json.dump(r, open(os.path.join(out, "loop.json"), "w"), indent=1)
brief = {k: r.get(k) for k in ("ok", "error", "seeded", "accepted", "rejected", "failed", "seconds",
                               "trajectories_per_second", "chat_calls_per_trajectory",
                               "generate_calls_per_trajectory") if k in r}
print("loop.json:", json.dumps(brief))
if "during_run" in r:
    for k, v in r["during_run"].items():
        print(f"  {k}: {json.dumps(v)}")
sys.exit(0 if r["ok"] else 7)
EOF
}

# summarize: the outcome of each step, then the headline numbers of the
# files the modes that ran wrote.
summarize() {
  echo
  echo "== summary (modes $MODE_NAMES, device $DEVICE, $((SECONDS - T0))s of the ${BUDGET}s budget)"
  printf '%s\n' "${SUMMARY[@]}"
  "$PY" - "$OUT" "$MODES" <<'EOF' 2>/dev/null || true
import json, os, sys
out, modes = sys.argv[1], sys.argv[2].split()

def bench(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return
    print(f"{name}:")
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "batch" in r:
            g = r.get("graphs") or {}
            extra = (f", graphs {g.get('graphs')} captured {g.get('captures')} ({g.get('capture_seconds')}s), "
                     f"kv buffer {g.get('kv_slab_gib')} GiB, captures timed {r.get('captures_in_timed_runs')}"
                     if g else "")
            print(f"  batch {r['batch']:3d}: {r['images_per_second']:7.3f} images/s, {r['seconds_per_band']:6.2f} s/band,"
                  f" last band {r.get('positions_last_band', '-')} positions, peak {r.get('peak_gpu_memory_gib', '-')} GiB{extra}")
        elif "note" in r:
            print("  NOTE: " + r["note"])
        elif "model" in r:
            print(f"  {r.get('model')} on {r.get('gpu', r.get('device'))}: cuda_graphs={r.get('cuda_graphs')} "
                  f"torch {r.get('torch')} transformers {r.get('transformers')}")
        else:
            print("  " + json.dumps(r))

def http(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return
    r = json.load(open(path))
    print(f"{name}: ok={r.get('ok')} images={r.get('completed_images')}/{r.get('images')} "
          f"images/s={r.get('images_per_second')} wall={r.get('wall_seconds')}s "
          f"max_wait_ms={r.get('info', {}).get('max_wait_ms')} "
          f"generate batches={r.get('stats_after', {}).get('batch_sizes')} "
          f"decode_png={r.get('checks', {}).get('decode_png', {}).get('ok')} "
          f"encode_png={r.get('checks', {}).get('encode_png', {}).get('ok')} {r.get('error', '')}")

if "generate" in modes:
    bench("bench-7b.jsonl")
    bench("bench-1b.jsonl")
    http("http-7b.json")
if "graphs" in modes:
    bench("bench-7b-graphs.jsonl")
    bench("bench-7b-eager.jsonl")
    http("http-7b-graphs.json")
    path = os.path.join(out, "sigterm.json")
    if os.path.exists(path):
        print("sigterm.json:", open(path).read().strip())
path = os.path.join(out, "chat-bench-7b.jsonl")
if "chat" in modes and os.path.exists(path):
    print("understanding (chat-bench-7b.jsonl; new tokens/s of a whole batch, prefill included):")
    for line in open(path):
        r = json.loads(line)
        if r.get("mode") == "chat":
            print(f"  {r['case']:6s} batch {r['batch']:3d}: {r['new_tokens_per_second']:9.1f} tokens/s "
                  f"({r['new_tokens_per_second_per_call']:.1f} per call), {r['seconds']:.2f} s for "
                  f"{r['new_tokens_per_call']:.0f} tokens, prompt {r['prompt_tokens']:.0f} tokens, "
                  f"{r['images_per_call']} image(s), peak {r.get('peak_gpu_memory_gib', '-')} GiB")
        elif "model" in r:
            print(f"  {r['case']:6s} {r['model']} on {r.get('gpu', r.get('device'))}, {r.get('dtype')}, "
                  f"built in {r.get('load_seconds')}s")
path = os.path.join(out, "loop.json")
if "loop" in modes and os.path.exists(path):
    r = json.load(open(path))
    lp = r.get("last_progress")
    if lp and not r.get("trajectories_per_second"):
        print(f"loop DID NOT FINISH: last progress {lp['done']}/{lp['seeded']} trajectories after "
              f"{lp['elapsed_seconds']} s ({lp['per_second']}/s); set GPU_CHECK_LOOP_PROMPTS lower")
    if r.get("trajectories_per_second"):
        print(f"loop (loop.json): {r.get('seeded')} trajectories in {r.get('seconds')} s = "
              f"{r.get('trajectories_per_second')} trajectories/s ({r.get('seconds_per_trajectory')} s each), "
              f"concurrency {r.get('concurrency')}, answers of {r.get('chat_answer_tokens')} tokens; "
              f"accepted {r.get('accepted')} rejected {r.get('rejected')} failed {r.get('failed')}; "
              f"ok={r.get('ok')} {r.get('error', '')}")
    else:
        print(f"loop (loop.json): ok={r.get('ok')} {r.get('error', '')}")
    d = r.get("during_run") or {}
    for k in ("generate", "chat", "decode"):
        if k in d:
            print(f"  {k:8s} calls {d[k]['calls']}, batches {d[k]['batches']}, mean {d[k]['mean_batch_size']}, "
                  f"sizes {json.dumps(d[k]['batch_sizes'])}")
    if r.get("chat_calls_per_trajectory") is not None:
        print(f"  per trajectory: {r['chat_calls_per_trajectory']} chat calls, "
              f"{r.get('generate_calls_per_trajectory')} generate calls")
    m = r.get("metrics") or {}
    if m:
        print("  twig tokens: " + " ".join(f"{k}={v}" for k, v in m.items() if k.startswith("tokens_")))
EOF
}

export -f run_limited env_check pytest_step bench_step chat_step
export PY OUT DEVICE MODES MODE_NAMES HAVE_TIMEOUT SMOKE BUDGET MODEL_7B CHAT_BATCHES CHAT_REPEATS TWIG
export GPU_CHECK_PYTEST_ARGS="${GPU_CHECK_PYTEST_ARGS:-}"

main() {
  trap 'cleanup' EXIT  # main runs in a subshell (piped into tee): the worker is its child
  if has_mode loop; then
    find_twig
    export TWIG
  fi
  note "twig janus GPU check, modes $MODE_NAMES, device $DEVICE, models $MODEL_7B / $MODEL_1B, budget ${BUDGET}s"
  [ "$SMOKE" = 1 ] && note "SMOKE on $DEVICE: a check of the script's flow; the numbers mean nothing"
  [ "$HAVE_TIMEOUT" = 1 ] || echo "WARNING: no 'timeout' command: the steps run without time limits"
  step env 60 10 env_check
  if [[ "${SUMMARY[-1]}" != *" ok ("* ]]; then
    record rest "SKIPPED: the environment check failed (see above): missing packages or no CUDA"
  else
    if has_mode generate; then
      note "generate: batches $GEN_BATCHES, $GEN_IMAGES HTTP clients, max-wait-ms $HTTP_MAX_WAIT_MS"
      step pytest 120 30 pytest_step "$OUT/pytest-cuda.log" inference/janus/tests
      step bench 180 60 bench_step "$MODEL_7B" "$OUT/bench-7b.jsonl" "$GEN_BATCHES"
      own_step http 170 60 ", plus up to 20s to stop the worker" http_step
      step bench1b 150 80 bench_step "$MODEL_1B" "$OUT/bench-1b.jsonl" "$GEN_BATCHES"
    fi
    if has_mode graphs; then
      note "graphs: batches $GRAPH_BATCHES, $GRAPH_IMAGES HTTP clients, max-wait-ms $HTTP_MAX_WAIT_MS"
      [ "$DEVICE" = cpu ] && note "graphs on a CPU: CUDA graphs cannot run here; the graph steps run eagerly (flow check only)"
      step pytest-graphs 110 40 pytest_step "$OUT/pytest-graphs.log" \
        inference/janus/tests/test_graphs.py inference/janus/tests/test_cli.py
      step graphs 75 40 bench_step "$MODEL_7B" "$OUT/bench-7b-graphs.jsonl" "$GRAPH_BATCHES" --cuda-graphs
      step eager 70 40 bench_step "$MODEL_7B" "$OUT/bench-7b-eager.jsonl" "$GRAPH_BATCHES"
      own_step http-graphs 80 45 " for the load test, plus up to 25s for the SIGTERM test" http_graphs_step
    fi
    if has_mode chat; then
      note "chat: batches $CHAT_BATCHES, best of $CHAT_REPEATS"
      step chat-think 100 45 chat_step think 0 "$THINK_PROMPT" "$THINK_ANSWER"
      step chat-crit 100 45 chat_step crit 1 "$CRIT_PROMPT" "$CRIT_ANSWER"
    fi
    if has_mode loop; then
      note "loop: $LOOP_PROMPTS prompts at concurrency $LOOP_CONCURRENCY, answers of $ANSWER_TOKENS tokens"
      if [ -n "$TWIG" ]; then
        own_step loop 280 90 " for the worker and twig run, plus up to 20s to stop the worker" loop_step
      else
        record loop "SKIPPED (no twig binary: $BUILD_HINT)"
      fi
    fi
  fi
  summarize | tee "$OUT/summary.txt"
  case "${SUMMARY[*]}" in *FAILED*|*TIMEOUT*|*"SKIPPED: the environment"*|*"no twig binary"*) return 1 ;; esac
  return 0
}

set +e
has_mode chat && rm -f "$OUT/chat-bench-7b.jsonl"
main 2>&1 | tee "$OUT/gpu-check.log"
rc=${PIPESTATUS[0]}
exit "$rc"
