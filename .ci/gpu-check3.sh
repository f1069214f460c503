#!/usr/bin/env bash
# Third GPU check of the Python reference worker (inference/janus), issue 13:
# how fast Janus understands (text tokens per second of /v1/chat/completions)
# and how many whole trajectories per second the local loop makes when one
# worker does everything: thinks, paints, critiques (three bands) and judges,
# driven by `twig run` itself. Run it from the repository root:
#
#   OUT=/some/dir bash .ci/gpu-check3.sh
#
# with the same python3 as .ci/gpu-check.sh (torch with CUDA, transformers
# >= 5.17, tokenizers, safetensors, numpy, pillow; nothing is installed, no
# network, no weights) and a twig binary: TWIG_BIN=/path/to/twig, or by
# default .ci/bin/twig.xz (git-ignored: build it with
#
#   CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -ldflags='-s -w' -o /tmp/twig ./cmd/twig &&
#     mkdir -p .ci/bin && xz -9 -c /tmp/twig > .ci/bin/twig.xz
#
# and carry .ci/bin to the GPU machine). Without either the loop step is
# skipped and says how to build it.
#
# Steps, each under its own time limit, each run whatever the steps before did:
#
#   env         GPU, package versions, the twig binary             -> gpu-check3.log
#   chat-think  python -m twig_janus.bench --chat, random:janus-pro-7b,
#               batches 1 32, best of 2: a thought's call (no image,
#               200 text tokens, answers of exactly 48 tokens)       -> chat-bench-7b.jsonl
#   chat-crit   the same for a critique's call (one 384 px image =
#               576 image tokens, 250 text tokens, answers of 96)    -> chat-bench-7b.jsonl
#   loop        the worker (python -m twig_janus, random:janus-pro-7b,
#               --max-batch 64 --chat-max-batch 32 --chat-answer-tokens 48)
#               and `twig run --builtin N` against it as generator,
#               thinker, critic and VLM judge, --concurrency 64:
#               trajectories per second = seeded / twig's time, the
#               worker's /v1/stats before and after                 -> loop.json, loop.log,
#                                                                       server-loop.log, loop/ (the version's
#                                                                       small files; the shards stay behind)
#   summary     -> summary.txt
#
# random:janus-pro-7b is Janus-Pro-7B's architecture with random weights (see
# inference/janus/twig_janus/random_model.py): the speed is the real
# model's, the text is not. A random model never ends an answer, so the loop's
# worker runs with --chat-answer-tokens 48: every answer is exactly 48 tokens
# of visible text ending with a forced end of sentence (twig counts a thought
# cut by max_tokens as a failure). Its tokenizer is byte-level: the bench
# sizes its prompts in tokens, but in the loop twig's instructions (think-v2,
# critique-v2, judge-v1) cost one token per byte, about 4 to 5 times what
# Janus's tokenizer makes of them, so the loop's prefills are longer than the
# real model's (loop.json reports the tokens per call the worker counted).
# Random answers fail every critique parse (one retry each) and every judge:
# the samples end rejected, which is expected; a failed sample is not (the
# loop step then fails; see loop.log and loop/failed/).
#
# Sized for about 5 minutes on an H200 (the whole run stays under
# GPU_CHECK_BUDGET_S, 480 s by default, plus the last step's kill grace).
#
# Knobs (environment): OUT (default $TMPDIR/twig-gpu-check3), PYTHON (python3),
# TWIG_BIN, GPU_CHECK_DEVICE (cuda), GPU_CHECK_BUDGET_S (480), GPU_CHECK_PORT
# (8422), GPU_CHECK_CHAT_BATCHES ("1 32"), GPU_CHECK_LOOP_PROMPTS (64: twig's
# --builtin), GPU_CHECK_LOOP_CONCURRENCY (64), GPU_CHECK_ANSWER_TOKENS (48),
# GPU_CHECK_MAX_WAIT_MS (20, the worker's default), GPU_CHECK_LOOP_GRAPHS (0;
# 1 adds --cuda-graphs to the loop's worker), GPU_CHECK_SKIP (e.g. "chat-crit"),
# GPU_CHECK_MODEL_7B.
#
# GPU_CHECK_SMOKE=1 runs the same flow on a CPU in a few minutes: device cpu,
# the architecture shrunk to 1 layer of width 64 (same 384 px geometry),
# chat batches "1 2" with shorter prompts, a loop of 2 prompts. This is how the
# script itself is tested; its numbers mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
OUT=${OUT:-${TMPDIR:-/tmp}/twig-gpu-check3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SMOKE=${GPU_CHECK_SMOKE:-0}
BUDGET=${GPU_CHECK_BUDGET_S:-480}
PORT=${GPU_CHECK_PORT:-8422}
SKIP=" ${GPU_CHECK_SKIP:-} "
ANSWER_TOKENS=${GPU_CHECK_ANSWER_TOKENS:-48}
MAX_WAIT_MS=${GPU_CHECK_MAX_WAIT_MS:-20}
LOOP_GRAPHS=${GPU_CHECK_LOOP_GRAPHS:-0}
if [ "$SMOKE" = 1 ]; then
  DEVICE=${GPU_CHECK_DEVICE:-cpu}
  SHRINK=",layers=1,hidden=64,heads=2,intermediate=128,vision_layers=1,vq_channels=32"
  CHAT_BATCHES=${GPU_CHECK_CHAT_BATCHES:-1 2}
  THINK_PROMPT=40 THINK_ANSWER=12 CRIT_PROMPT=40 CRIT_ANSWER=16 CHAT_REPEATS=1
  LOOP_PROMPTS=${GPU_CHECK_LOOP_PROMPTS:-2}
  LOOP_CONCURRENCY=${GPU_CHECK_LOOP_CONCURRENCY:-4}
  WORKER_MAX_BATCH=4 WORKER_CHAT_MAX_BATCH=4
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
  DEVICE=${GPU_CHECK_DEVICE:-cuda}
  SHRINK=""
  CHAT_BATCHES=${GPU_CHECK_CHAT_BATCHES:-1 32}
  THINK_PROMPT=200 THINK_ANSWER=48 CRIT_PROMPT=250 CRIT_ANSWER=96 CHAT_REPEATS=2  # best of 2
  LOOP_PROMPTS=${GPU_CHECK_LOOP_PROMPTS:-64}
  LOOP_CONCURRENCY=${GPU_CHECK_LOOP_CONCURRENCY:-64}
  WORKER_MAX_BATCH=64 WORKER_CHAT_MAX_BATCH=32
fi
MODEL_7B=${GPU_CHECK_MODEL_7B:-random:janus-pro-7b$SHRINK}
# Scratch space outside OUT (OUT comes back from the GPU machine): the
# unpacked twig binary (about 110 MB) and the loop's dataset (about 1 MB per
# trajectory). Removed at exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/twig-gpu-check3.XXXXXX")

export PYTHONPATH="$PWD/inference/janus${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

source "$(dirname "$0")/gpu-lib.sh"

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

# stop_server: SIGTERM, then up to 20 s in steps of 0.1 s, then SIGKILL.
stop_server() {
  local pid=$SERVER_PID rc=0 t0=$SECONDS
  SERVER_PID=""
  [ -n "$pid" ] || return 0
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || rc=$?; echo "worker $pid had already exited (rc $rc)"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "worker $pid did not stop within 20s of SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  echo "worker $pid stopped in about $((SECONDS - t0))s (exit status $rc)"
}

cleanup() {
  stop_server
  rm -rf "$WORK"
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
  if [ -n "$TWIG" ]; then echo "twig: $("$TWIG" version 2>&1 | head -n 1) ($TWIG)"; else echo "twig: none (the loop step is skipped)"; fi
  command -v "$PY" >/dev/null 2>&1 || { echo "MISSING: $PY (set PYTHON=...)"; return 3; }
  run_limited 90 "$PY" - "$DEVICE" <<'EOF'
import sys
import torch, transformers
print("python", sys.version.split()[0], "| torch", torch.__version__, "| transformers", transformers.__version__,
      "| cuda build", torch.version.cuda, "| cuda available", torch.cuda.is_available())
if sys.argv[1].startswith("cuda"):
    if not torch.cuda.is_available():
        print("REQUIRED: CUDA is not available to torch"); sys.exit(4)
    p = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info(0)
    print(f"gpu {p.name} cc {p.major}.{p.minor}, {total / 2**30:.1f} GiB ({free / 2**30:.1f} free)")
import twig_janus.chat  # noqa: F401
import twig_janus.model  # noqa: F401
print("twig_janus imports: ok")
EOF
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
  local secs=$1 rc t0=$SECONDS left_s info model
  stop_server
  local graphs=()
  [ "$LOOP_GRAPHS" = 1 ] && graphs=(--cuda-graphs)
  "$PY" -m twig_janus --model "$MODEL_7B" --device "$DEVICE" --listen "127.0.0.1:$PORT" \
    --max-batch "$WORKER_MAX_BATCH" --chat-max-batch "$WORKER_CHAT_MAX_BATCH" --max-wait-ms "$MAX_WAIT_MS" \
    --chat-answer-tokens "$ANSWER_TOKENS" "${graphs[@]}" >"$OUT/server-loop.log" 2>&1 &
  SERVER_PID=$!
  echo "worker pid $SERVER_PID on 127.0.0.1:$PORT (max-batch $WORKER_MAX_BATCH, chat-max-batch" \
    "$WORKER_CHAT_MAX_BATCH, max-wait-ms $MAX_WAIT_MS, chat-answer-tokens $ANSWER_TOKENS${graphs[*]:+, ${graphs[*]}})"
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

summarize() {
  echo
  echo "== summary (device $DEVICE, model $MODEL_7B, $((SECONDS - T0))s of the ${BUDGET}s budget)"
  printf '%s\n' "${SUMMARY[@]}"
  "$PY" - "$OUT" <<'EOF' 2>/dev/null || true
import json, os, sys
out = sys.argv[1]
path = os.path.join(out, "chat-bench-7b.jsonl")
if os.path.exists(path):
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
if os.path.exists(path):
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

export -f run_limited env_check chat_step
export PY OUT DEVICE CHAT_BATCHES CHAT_REPEATS MODEL_7B HAVE_TIMEOUT SMOKE BUDGET TWIG

main() {
  trap 'cleanup' EXIT
  find_twig
  export TWIG
  note "twig janus GPU check 3: device $DEVICE, model $MODEL_7B, chat batches $CHAT_BATCHES," \
    "loop of $LOOP_PROMPTS prompts at concurrency $LOOP_CONCURRENCY"
  [ "$HAVE_TIMEOUT" = 1 ] || echo "WARNING: no 'timeout' command: the steps run without time limits"
  step env 60 10 env_check
  if [[ "${SUMMARY[-1]}" == *" ok ("* ]]; then
    step chat-think 100 45 chat_step think 0 "$THINK_PROMPT" "$THINK_ANSWER"
    step chat-crit 100 45 chat_step crit 1 "$CRIT_PROMPT" "$CRIT_ANSWER"
    if [ -n "$TWIG" ]; then
      own_step loop 280 90 " for the worker and twig run, plus up to 20s to stop the worker" loop_step
    else
      record loop "SKIPPED (no twig binary: $BUILD_HINT)"
    fi
  else
    record rest "SKIPPED: the environment check failed (see above)"
  fi
  summarize | tee "$OUT/summary.txt"
  case "${SUMMARY[*]}" in *FAILED*|*TIMEOUT*|*"SKIPPED: the environment"*|*"no twig binary"*) return 1 ;; esac
  return 0
}

set +e
rm -f "$OUT/chat-bench-7b.jsonl"
main 2>&1 | tee "$OUT/gpu-check3.log"
rc=${PIPESTATUS[0]}
exit "$rc"
