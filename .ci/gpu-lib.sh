# Shared by .ci/gpu-check.sh and .ci/gpu-check2.sh (sourced, not run): the
# time budget and the steps that run under it. The sourcing script sets
# BUDGET (seconds) and SKIP (" name name ") first.

T0=$SECONDS
SUMMARY=()
SERVER_PID=""

left() { echo $((BUDGET - (SECONDS - T0))); }
note() { echo "== [$((SECONDS - T0))s] $*"; }
record() { SUMMARY+=("$(printf '%-8s %s' "$1" "$2")"); note "$1: $2"; }

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
