#!/usr/bin/env bash
# Creates the virtual environment of Apache Beam's Python SDK, whose local
# job service is the portable runner the end-to-end portability test
# submits twig's pipeline to (cmd/twig TestPortableRunner), and prints its
# python. The Beam Flink job server, the runner of issue 6, is not served by
# this machine's Maven mirror; the Python job service speaks the same Job
# API and Fn API, so the test exercises the same submission path
# (--runner=universal --endpoint=HOST:PORT --environment_type=LOOPBACK).
set -euo pipefail
version=2.77.0
venv="${TWIG_BEAM_VENV:-$HOME/.cache/twig/beam-venv-$version}"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "apache-beam==$version" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
