#!/usr/bin/env bash
# Tests of the Python reference GPU worker (inference/janus) on a CPU.
#
# Installs the pinned environment of inference/janus/requirements-ci.txt into
# a virtual environment kept outside the clone and reused while the pins do
# not change (TWIG_JANUS_VENV overrides where), then runs the package's
# pytest suite against a tiny random Janus model built in the tests: no GPU,
# no weights, no network after the install (HF_HUB_OFFLINE=1).
#
# From scratch the install downloads about 3 GB of wheels (torch from PyPI is
# the CUDA build and pulls the nvidia-* libraries) and takes one to two
# minutes; the venv is then about 5.5 GB. With the venv in place, this script
# takes about 30 seconds.
#
# With --env it only prepares the environment and prints its python, for
# the Go tests that start the worker (TWIG_JANUS_PYTHON).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pkg="$root/inference/janus"
req="$pkg/requirements-ci.txt"
py="${PYTHON:-python3}"

pins="$( { "$py" --version 2>&1; cat "$req"; } | sha256sum | cut -c1-16)"
venv="${TWIG_JANUS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/twig/janus-venv-$pins}"

# --env: only make sure the environment exists, then print its python on
# stdout (progress goes to stderr), for tests that start the worker.
env_only=0
if [ "${1:-}" = "--env" ]; then
  env_only=1
  exec 3>&1 1>&2
fi

t0=$SECONDS
if [ -f "$venv/.twig-complete" ]; then
  echo "== janus: reusing $venv"
else
  echo "== janus: installing the pinned test environment into $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
  export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
  "$venv/bin/python" -m pip install --quiet --upgrade "pip>=24"
  "$venv/bin/python" -m pip install --quiet -r "$req"
  touch "$venv/.twig-complete"
  echo "== janus: installed in $((SECONDS - t0))s ($(du -sh "$venv" | cut -f1))"
fi

if [ "$env_only" = 1 ]; then
  echo "$venv/bin/python" >&3
  exit 0
fi

echo "== janus: tests"
cd "$pkg"
t1=$SECONDS
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1 TOKENIZERS_PARALLELISM=false
set +e
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests
rc=$?
set -e
echo "== janus: tests took $((SECONDS - t1))s"
if [ "$rc" -eq 5 ]; then
  echo "janus: pytest collected no tests" >&2
fi
exit "$rc"
