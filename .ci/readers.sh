#!/usr/bin/env bash
# Creates the virtual environment of the independent readers (pyarrow,
# Pillow, Hugging Face datasets, s3fs, webdataset) the tests check twig's
# output with, and prints its python. The environment is keyed by the hash
# of requirements.txt, so a changed list makes a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
hash=$(sha256sum .ci/requirements.txt | cut -c1-12)
venv="${TWIG_READERS_VENV:-$HOME/.cache/twig/readers-venv-$hash}"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
