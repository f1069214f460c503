#!/usr/bin/env bash
# Second GPU check of the Python reference worker (inference/janus): the
# SIGTERM fix and the CUDA-graph decode path (--cuda-graphs). Sized for about
# 4 minutes on an H200 (the whole run stays under GPU_CHECK_BUDGET_S, 230 s by
# default, plus at most the kill grace of the last step: well under 5 minutes).
# Run it from the repository root, with the same python3 as .ci/gpu-check.sh
# (torch with CUDA, transformers >= 5.17, tokenizers, safetensors, numpy,
# pillow, pytest; nothing is installed, no network, no weights):
#
#   OUT=/some/dir bash .ci/gpu-check2.sh
#
# Steps, each under its own time limit, each run whatever the steps before did:
#
#   env      GPU, package versions                                   -> gpu-check2.log
#   pytest   tests/test_graphs.py (graph vs eager tokens; CUDA-only tests
#            run here) and tests/test_cli.py (SIGTERM/SIGINT: idle, mid-batch,
#            abandoned batch, while loading) with TWIG_JANUS_DEVICE=cuda    -> pytest2-cuda.log
#   graphs   bench random:janus-pro-7b --cuda-graphs, batches 1 64 (each
#            batch size's bands run once untimed first: graph captures)    -> bench-7b-graphs.jsonl
#   eager    the same bench without graphs (the baseline, same machine and
#            run; the eager loop changed too: no host syncs per step)      -> bench-7b-eager.jsonl
#   http     the worker with --cuda-graphs, the HTTP load test with 32
#            clients (3 bands, generate + decode), then 8 generate calls
#            and SIGTERM while they run: seconds to exit, exit status      -> http-7b-graphs.json,
#                                                                             server-7b-graphs.log, sigterm.json
#   summary  -> summary2.txt
#
# Knobs (environment): OUT, PYTHON (python3), GPU_CHECK_DEVICE (cuda),
# GPU_CHECK_BUDGET_S (230), GPU_CHECK_PORT (8421), GPU_CHECK_BATCHES ("1 64";
# "1 32 64" takes about 25 s more), GPU_CHECK_IMAGES (32), GPU_CHECK_MAX_WAIT_MS
# (2000, as gpu-check.sh: the clients move in lockstep), GPU_CHECK_SKIP (e.g.
# "eager"), GPU_CHECK_PYTEST_ARGS, GPU_CHECK_MODEL_7B.
#
# GPU_CHECK_SMOKE=1 runs the same flow on a CPU with the shrunk architecture
# and batches "1 2": CUDA graphs cannot run there, so the graph steps run
# eagerly (the worker and the bench log "cuda graphs need a CUDA device ...:
# decoding eagerly", the bench's head line says "cuda_graphs": false) and the
# CUDA-only tests are skipped. That checks the script's flow, nothing more.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=${OUT:-${TMPDIR:-/tmp}/twig-gpu-check2}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SMOKE=${GPU_CHECK_SMOKE:-0}
BUDGET=${GPU_CHECK_BUDGET_S:-230}
PORT=${GPU_CHECK_PORT:-8421}
SKIP=" ${GPU_CHECK_SKIP:-} "
if [ "$SMOKE" = 1 ]; then
  DEVICE=${GPU_CHECK_DEVICE:-cpu}
  SHRINK=",layers=1,hidden=64,heads=2,intermediate=128,vision_layers=1,vq_channels=32"
  BATCHES=${GPU_CHECK_BATCHES:-1 2}
  IMAGES=${GPU_CHECK_IMAGES:-2}
  MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-20}
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
  DEVICE=${GPU_CHECK_DEVICE:-cuda}
  SHRINK=""
  BATCHES=${GPU_CHECK_BATCHES:-1 64}
  IMAGES=${GPU_CHECK_IMAGES:-32}
  MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-2000}
fi
MODEL_7B=${GPU_CHECK_MODEL_7B:-random:janus-pro-7b$SHRINK}

export PYTHONPATH="$PWD/inference/janus${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

source "$(dirname "$0")/gpu-lib.sh"

# stop_server: SIGTERM, then up to 20 s in steps of 0.1 s; writes $OUT/sigterm.json.
stop_server() {
  local pid=$SERVER_PID t0 t1 rc=0 how=exited
  SERVER_PID=""
  [ -n "$pid" ] || return 0
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || rc=$?; echo "server $pid had already exited (rc $rc)"; return 0; fi
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "server $pid did not stop within 20s of SIGTERM: SIGKILL"
    how=SIGKILL
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  t1=$(date +%s.%N)
  "$PY" - "$t0" "$t1" "$rc" "$how" "$OUT/sigterm.json" <<'EOF'
import json, sys
t0, t1, rc, how, path = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
r = {"seconds_to_exit": round(t1 - t0, 2), "exit_status": rc, "how": how, "ok": how == "exited" and rc == 0}
json.dump(r, open(path, "w"))
print("SIGTERM:", json.dumps(r))
EOF
}

env_check() {
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  cpus: $(nproc 2>/dev/null || echo ?)"
  echo "repo: $PWD  OUT: $OUT  device: $DEVICE  smoke: $SMOKE  budget: ${BUDGET}s"
  if command -v nvidia-smi >/dev/null 2>&1; then
    run_limited 20 nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.sm,power.limit,driver_version \
      --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  run_limited 60 "$PY" - "$DEVICE" <<'EOF'
import sys
import torch, transformers
print("python", sys.version.split()[0], "| torch", torch.__version__, "| transformers", transformers.__version__,
      "| cuda build", torch.version.cuda, "| cuda available", torch.cuda.is_available())
if sys.argv[1].startswith("cuda"):
    if not torch.cuda.is_available():
        print("REQUIRED: CUDA is not available to torch"); sys.exit(4)
    p = torch.cuda.get_device_properties(0)
    print(f"gpu {p.name} cc {p.major}.{p.minor}, {p.total_memory / 2**30:.1f} GiB")
import twig_janus.decode  # noqa: F401
print("twig_janus imports: ok")
EOF
}

pytest_step() {
  echo "pytest tests/test_graphs.py tests/test_cli.py with TWIG_JANUS_DEVICE=$DEVICE ${GPU_CHECK_PYTEST_ARGS:-}"
  # shellcheck disable=SC2086
  TWIG_JANUS_DEVICE=$DEVICE "$PY" -m pytest -q -p no:cacheprovider -ra --durations=10 \
    inference/janus/tests/test_graphs.py inference/janus/tests/test_cli.py ${GPU_CHECK_PYTEST_ARGS:-} \
    >"$OUT/pytest2-cuda.log" 2>&1
  local rc=$?
  tail -n 30 "$OUT/pytest2-cuda.log"
  return $rc
}

bench_step() { # FILE EXTRA-FLAGS...
  local file=$1; shift
  # shellcheck disable=SC2086
  "$PY" -m twig_janus.bench --model "$MODEL_7B" --device "$DEVICE" --batch $BATCHES --repeats 1 "$@" >"$file"
  local rc=$?
  cat "$file"
  if [ "$DEVICE" = cpu ] && [[ " $* " == *" --cuda-graphs "* ]]; then
    echo "NOTE: on a CPU --cuda-graphs falls back to eager decoding (see the head line's \"cuda_graphs\": false)"
  fi
  return $rc
}

http_step() { # SECONDS: the worker with --cuda-graphs, the load test, then SIGTERM under load
  local secs=$1 rc
  stop_server
  "$PY" -m twig_janus --model "$MODEL_7B" --device "$DEVICE" --listen "127.0.0.1:$PORT" \
    --max-batch 64 --max-wait-ms "$MAX_WAIT_MS" --cuda-graphs >"$OUT/server-7b-graphs.log" 2>&1 &
  SERVER_PID=$!
  echo "worker pid $SERVER_PID on 127.0.0.1:$PORT (--cuda-graphs, max-batch 64, max-wait-ms $MAX_WAIT_MS)"
  run_limited "$secs" "$PY" -m twig_janus.loadtest --url "http://127.0.0.1:$PORT" --images "$IMAGES" --bands 3 \
    --cfg 5 --thought-chars 25 --wait "$secs" --wait-pid "$SERVER_PID" --expect-image-size 384 \
    --out "$OUT/http-7b-graphs.json" >/dev/null
  rc=$?
  # 8 more generate calls (192 tokens each), then SIGTERM while their batch runs.
  if kill -0 "$SERVER_PID" 2>/dev/null; then
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
    stop_server
    wait "$late" 2>/dev/null || true
  else
    echo "the worker is not running: no SIGTERM test"
    stop_server
  fi
  "$PY" - "$OUT/http-7b-graphs.json" <<'EOF' || true
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print("no report:", e); sys.exit()
for k in ["ok", "error", "completed_images", "error_count", "wall_seconds", "images_per_second",
          "generate_latency_s_by_band", "decode_latency_s", "checks", "errors"]:
    if k in r:
        print(f"  {k}: {json.dumps(r[k])}")
if "stats_after" in r:
    print("  generate batch sizes:", r["stats_after"].get("batch_sizes"))
EOF
  tail -n 12 "$OUT/server-7b-graphs.log"
  grep -q '"ok": true' "$OUT/sigterm.json" 2>/dev/null || { echo "SIGTERM check failed (see sigterm.json)"; [ "$rc" != 0 ] || rc=6; }
  return $rc
}

summarize() {
  echo
  echo "== summary (device $DEVICE, $((SECONDS - T0))s of the ${BUDGET}s budget)"
  printf '%s\n' "${SUMMARY[@]}"
  "$PY" - "$OUT" <<'EOF' 2>/dev/null || true
import json, os, sys
out = sys.argv[1]
for name in ("bench-7b-graphs.jsonl", "bench-7b-eager.jsonl"):
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
            g = r.get("graphs") or {}
            extra = (f", graphs {g.get('graphs')} captured {g.get('captures')} ({g.get('capture_seconds')}s), "
                     f"kv buffer {g.get('kv_slab_gib')} GiB, captures timed {r.get('captures_in_timed_runs')}"
                     if g else "")
            print(f"  batch {r['batch']:3d}: {r['images_per_second']:7.3f} images/s, {r['seconds_per_band']:6.2f} s/band,"
                  f" peak {r.get('peak_gpu_memory_gib', '-')} GiB{extra}")
        elif "note" in r:
            print("  NOTE: " + r["note"])
        else:
            print(f"  {r.get('model')} on {r.get('gpu', r.get('device'))}: cuda_graphs={r.get('cuda_graphs')} "
                  f"torch {r.get('torch')} transformers {r.get('transformers')}")
path = os.path.join(out, "http-7b-graphs.json")
if os.path.exists(path):
    r = json.load(open(path))
    print(f"http-7b-graphs.json: ok={r.get('ok')} images={r.get('completed_images')}/{r.get('images')} "
          f"images/s={r.get('images_per_second')} wall={r.get('wall_seconds')}s "
          f"generate batches={r.get('stats_after', {}).get('batch_sizes')} {r.get('error', '')}")
path = os.path.join(out, "sigterm.json")
if os.path.exists(path):
    print("sigterm.json:", open(path).read().strip())
EOF
}

export -f run_limited env_check pytest_step bench_step
export PY OUT DEVICE BATCHES BUDGET MODEL_7B HAVE_TIMEOUT SMOKE GPU_CHECK_PYTEST_ARGS="${GPU_CHECK_PYTEST_ARGS:-}"

main() {
  trap 'stop_server' EXIT
  note "twig janus GPU check 2: device $DEVICE, model $MODEL_7B, batches $BATCHES, images $IMAGES"
  [ "$SMOKE" = 1 ] && note "SMOKE on $DEVICE: CUDA graphs cannot run here; the graph steps run eagerly (flow check only)"
  [ "$HAVE_TIMEOUT" = 1 ] || echo "WARNING: no 'timeout' command: the steps run without time limits"
  step env 45 10 env_check
  if [[ "${SUMMARY[-1]}" == *" ok ("* ]]; then
    step pytest 110 40 pytest_step
    step graphs 75 40 bench_step "$OUT/bench-7b-graphs.jsonl" --cuda-graphs
    step eager 70 40 bench_step "$OUT/bench-7b-eager.jsonl"
    own_step http 80 45 " for the load test, plus up to 25s for the SIGTERM test" http_step
  else
    record rest "SKIPPED: the environment check failed (see above)"
  fi
  summarize | tee "$OUT/summary2.txt"
  case "${SUMMARY[*]}" in *FAILED*|*TIMEOUT*|*"SKIPPED: the environment"*) return 1 ;; esac
  return 0
}

set +e
main 2>&1 | tee "$OUT/gpu-check2.log"
rc=${PIPESTATUS[0]}
exit "$rc"
